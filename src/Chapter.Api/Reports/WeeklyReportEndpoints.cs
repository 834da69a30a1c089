using System.Globalization;
using System.Text;
using Chapter.Api.Access;
using Chapter.Api.Infrastructure;
using Chapter.Api.Reciprocity;
using Chapter.Projections.Reciprocity;
using Chapter.Projections.Chapters;
using Microsoft.AspNetCore.Http.HttpResults;
using Npgsql;

namespace Chapter.Api.Reports;

public static class WeeklyReportEndpoints
{
    public static RouteGroupBuilder MapReports(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/api/chapters/{chapterId}/reports").WithTags("Reports")
            .RequireAuthorization(Policies.ChapterReports)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesValidationProblem();

        group.MapGet("/weekly/{isoWeek}", WeeklyAsync).WithContentETag()
            .WithName("GetWeeklyReport")
            .WithSummary("The weekly report of an ISO week, e.g. 2026-W47 (or 'current': this week so far; 'latest': the last full week), in the chapter's time zone")
            .WithDescription(
                "Counts of the week's steps, value closed won per currency, one-to-ones, new ties (a pair's first interaction ever), " +
                "circulation over the 12 weeks ending that week and over the 4 weeks before it, and nudges: referrals waiting for " +
                "acceptance over 72 hours, won business not thanked after 7 days, and active members nobody referred to in 8 weeks " +
                "(an invitation to a one-to-one). Everything as of the week's end. Send Accept: text/csv for the same as CSV, " +
                "or Accept: text/html for the leader's page: the same figures with a chart of the last 12 weeks and the referral flow between members.")
            .Produces<WeeklyReportView>(StatusCodes.Status200OK, "application/json", "text/csv", "text/html");

        return group;
    }

    private static async Task<Results<Ok<WeeklyReportView>, ContentHttpResult, RazorComponentResult<WeeklyReportHtml>, ValidationProblem, ProblemHttpResult>> WeeklyAsync(
        string chapterId, string isoWeek, ChapterDatabase db, TimeProvider clock, Caller caller, HttpContext context, CancellationToken ct)
    {
        // A report is of the activity projection's facts, which follow the writes anyway: a standby may serve it.
        db = db.ForReadsThatMayLag;
        var requested = WeeklyReport.ParseIsoWeek(isoWeek);
        if (requested is null && isoWeek is not ("latest" or "current"))
        {
            var check = new Validation();
            check.Add("isoWeek", $"'{isoWeek}' is not an ISO week such as '2026-W47', nor 'current' or 'latest'.");
            return (ValidationProblem)check.Problem();
        }
        if (await ReciprocityEndpoints.FactsAsync(db, chapterId, ct) is not { } facts)
            return Problems.NotFound($"Chapter '{chapterId}' does not exist.");

        var now = clock.GetUtcNow();
        var lastFullWeek = LastFullWeek(facts.Facts, now);
        var monday = requested ?? (isoWeek == "current" ? lastFullWeek.AddDays(7) : lastFullWeek);
        var withMeetings = facts.Facts with
        {
            Attendance = await Chapter.Projections.Meetings.MeetingProjection.AttendanceFactsAsync(db, chapterId, ct),
            Visitors = await Chapter.Projections.Visitors.VisitorProjection.FactsAsync(db, chapterId, ct),
        };
        var report = WeeklyReport.Compute(withMeetings, monday) with { AsOf = facts.AsOf };
        // Visitors' names are for leaders; integrations get the visits without them.
        if (caller.IsLeader)
            report = report with { Visitors = await WithNamesAsync(db, chapterId, report.Visitors, ct) };
        if (Wants(context, "text/html"))
        {
            var chapter = await ChapterProjection.GetAsync(db, chapterId, ct);
            return new RazorComponentResult<WeeklyReportHtml>(new Dictionary<string, object?>
            {
                [nameof(WeeklyReportHtml.Report)] = report,
                [nameof(WeeklyReportHtml.Trend)] = ReportPictures.Trend(facts.Facts, monday),
                [nameof(WeeklyReportHtml.Flow)] = ReportPictures.Flow(facts.Facts, facts.Facts.StartOf(monday.AddDays(-77)), report.To),
                [nameof(WeeklyReportHtml.ChapterId)] = chapterId,
                [nameof(WeeklyReportHtml.ChapterName)] = chapter?.Name ?? chapterId,
                [nameof(WeeklyReportHtml.PreviousWeek)] = MemberViews.IsoWeekName(monday.AddDays(-7)),
                [nameof(WeeklyReportHtml.NextWeek)] = MemberViews.IsoWeekName(monday.AddDays(7)),
                [nameof(WeeklyReportHtml.TimeZone)] = facts.Facts.TimeZone,
                [nameof(WeeklyReportHtml.IsCurrent)] = report.To > now,
                [nameof(WeeklyReportHtml.LastFullWeek)] = MemberViews.IsoWeekName(lastFullWeek),
            });
        }
        if (Wants(context, "text/csv"))
        {
            context.Response.Headers.ContentDisposition = $"attachment; filename=\"{chapterId}-{report.Week}.csv\"";
            return TypedResults.Text(ToCsv(report), "text/csv", Encoding.UTF8);
        }
        return TypedResults.Ok(report);
    }

    private static async Task<WeeklyVisitors> WithNamesAsync(ChapterDatabase db, string chapterId, WeeklyVisitors visitors, CancellationToken ct)
    {
        // Only the visitors the report names are opened, not every visitor the chapter ever had.
        var names = new Dictionary<Guid, string>();
        foreach (var id in visitors.ThisWeek.Concat(visitors.NotFollowedUp).Select(v => v.VisitorId).Distinct())
            if (await Chapter.Projections.Visitors.VisitorProjection.GetAsync(db, chapterId, id, ct) is { } visitor)
                names[id] = visitor.Name;
        IReadOnlyList<VisitorInReport> Named(IReadOnlyList<VisitorInReport> list) => list.Select(v => v with { Name = names.GetValueOrDefault(v.VisitorId) }).ToList();
        return new WeeklyVisitors(Named(visitors.ThisWeek), Named(visitors.NotFollowedUp));
    }

    private static bool Wants(HttpContext context, string mediaType) =>
        context.Request.Headers.Accept.Any(value => value?.Contains(mediaType, StringComparison.OrdinalIgnoreCase) == true);

    /// <summary>The Monday of the last week that has ended in the chapter's time zone.</summary>
    internal static DateOnly LastFullWeek(Chapter.Projections.Activity.ChapterFacts facts, DateTimeOffset now)
    {
        var today = facts.DateOf(now);
        var thisMonday = today.AddDays(-(((int)today.DayOfWeek + 6) % 7));
        return thisMonday.AddDays(-7);
    }

    /// <summary>One row per figure: section, item, value; the same content as the JSON.</summary>
    internal static string ToCsv(WeeklyReportView report)
    {
        var csv = new StringBuilder("section,item,value\r\n");
        void Row(string section, string item, object? value) =>
            csv.Append(Field(section)).Append(',').Append(Field(item)).Append(',').Append(Field(Format(value))).Append("\r\n");

        Row("report", "chapter", report.ChapterId);
        Row("report", "week", report.Week);
        Row("report", "from", report.From);
        Row("report", "to", report.To);
        Row("report", "asOfPosition", report.AsOf?.Position);
        var counts = report.Counts;
        foreach (var (name, value) in new (string, int)[]
                 {
                     ("given", counts.Given), ("accepted", counts.Accepted), ("declined", counts.Declined), ("closedWon", counts.ClosedWon),
                     ("closedLost", counts.ClosedLost), ("thanked", counts.Thanked), ("oneToOnes", counts.OneToOnes), ("newTies", counts.NewTies),
                 })
            Row("counts", name, value);
        foreach (var money in report.ClosedValue)
            Row("closedValue", money.Currency, money.Amount);
        foreach (var (section, figures) in new[] { ("circulation.twelveWeeks", report.Circulation.TwelveWeeks), ("circulation.fourWeeksBefore", report.Circulation.FourWeeksBefore) })
        {
            Row(section, "from", figures.From);
            Row(section, "to", figures.To);
            Row(section, "activeMembers", figures.ActiveMembers);
            Row(section, "givingMembers", figures.GivingMembers);
            Row(section, "receivingMembers", figures.ReceivingMembers);
            Row(section, "circulation", figures.Circulation);
            Row(section, "cycleShare", figures.CycleShare);
            Row(section, "medianReach", figures.MedianReach);
            Row(section, "givingGini", figures.GivingGini);
            Row(section, "payItForwardRate", figures.PayItForwardRate);
            Row(section, "loopClosures", figures.LoopClosures);
            Row(section, "closedLoopShare", figures.ClosedLoopShare);
            Row(section, "medianHoursToAccept", figures.MedianHoursToAccept);
            foreach (var money in figures.ClosedWonValue)
                Row(section, $"closedWonValue.{money.Currency}", money.Amount);
        }
        foreach (var w in report.Nudges.WaitingForAcceptance)
            Row("nudges.waitingForAcceptance", w.ReferralId.ToString(), $"{w.GiverName} → {w.ReceiverName}, waiting {w.HoursWaiting} h");
        foreach (var u in report.Nudges.WonNotThanked)
            Row("nudges.wonNotThanked", u.ReferralId.ToString(), $"{u.ReceiverName} can thank {u.GiverName}: won {u.DaysSinceClosed} days ago");
        foreach (var i in report.Nudges.NotReferredLately)
            Row("nudges.notReferredLately", i.MemberId.ToString(), i.Invitation);
        foreach (var c in report.Nudges.CheckInWith)
            Row("nudges.checkInWith", c.MemberId.ToString(), c.Invitation);
        foreach (var v in report.Visitors.ThisWeek)
            Row("visitors.thisWeek", v.VisitorId.ToString(), $"{v.Name ?? v.Profession}, invited by {v.InvitedByName}");
        foreach (var v in report.Visitors.NotFollowedUp)
            Row("visitors.notFollowedUp", v.VisitorId.ToString(), $"{v.Name ?? v.Profession}, invited by {v.InvitedByName}, {v.DaysWaiting} days ago");
        var attendance = report.Attendance;
        foreach (var (name, value) in new (string, object?)[]
                 {
                     ("meetings", attendance.Meetings), ("present", attendance.Present), ("late", attendance.Late), ("medical", attendance.Medical),
                     ("substitute", attendance.Substitute), ("absent", attendance.Absent), ("shareLast12Weeks", attendance.ShareLast12Weeks),
                     ("shareFourWeeksBefore", attendance.ShareFourWeeksBefore),
                 })
            Row("attendance", name, value);
        return csv.ToString();
    }

    private static string Format(object? value) => value switch
    {
        null => "",
        DateTimeOffset at => at.ToString("O", CultureInfo.InvariantCulture),
        IFormattable formattable => formattable.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? "",
    };

    // RFC 4180 quoting, and a leading quote mark against formula injection when opened in a spreadsheet.
    private static string Field(string value)
    {
        if (value.Length > 0 && "=+-@".Contains(value[0]) && !double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out _))
            value = "'" + value;
        return value.IndexOfAny([',', '"', '\r', '\n']) >= 0 ? $"\"{value.Replace("\"", "\"\"")}\"" : value;
    }
}
