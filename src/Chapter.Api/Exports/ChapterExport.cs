using System.Globalization;
using System.IO.Compression;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Chapter.Api.Access;
using Chapter.Api.Feed;
using Chapter.Api.Infrastructure;
using Chapter.Api.Reciprocity;
using Chapter.Projections;
using Chapter.Projections.Chapters;
using Chapter.Projections.Meetings;
using Chapter.Projections.Members;
using Chapter.Projections.OneToOnes;
using Chapter.Projections.Reciprocity;
using Chapter.Projections.Referrals;
using Chapter.Projections.Visitors;
using CsvHelper;
using Npgsql;

namespace Chapter.Api.Exports;

/// <summary>
/// A chapter's data, to take elsewhere (GDPR art. 20 for a chapter that leaves): a ZIP of CSV files and the events as JSON
/// Lines, written to the answer as it is read, a page at a time, so a chapter of any size exports in the memory of a page.
/// </summary>
public static class ChapterExport
{
    private const int EventsPerPage = 1000;

    private static readonly CsvWriterOptions CsvFormat = new()
    {
        // UTF-8 with a byte order mark: Excel reads a CSV without one in the machine's own code page, which mangles å, ö and ệ.
        WriteByteOrderMark = true,
        // A cell that starts with =, +, - or @ is a formula to a spreadsheet: written with a leading quote mark instead.
        Injection = CsvInjection.Escape,
        TrueValue = "true",
        FalseValue = "false",
    };

    public static async Task WriteAsync(Stream answer, ChapterDatabase db, string chapterId, Caller caller, CancellationToken ct)
    {
        await using var output = new SyncWritesHeldStream(answer);
        await WriteZipAsync(output, db, chapterId, caller, ct);
        await output.FlushAsync(ct);
    }

    private static async Task WriteZipAsync(SyncWritesHeldStream output, ChapterDatabase db, string chapterId, Caller caller, CancellationToken ct)
    {
        await using var zip = await ZipArchive.CreateAsync(output, ZipArchiveMode.Create, leaveOpen: true, entryNameEncoding: null, ct);
        var members = await AllMembersAsync(db, chapterId, ct);
        var names = members.ToDictionary(m => m.Id, m => m.Name);
        string NameOf(Guid id) => names.GetValueOrDefault(id, "");

        await CsvAsync(zip, "members.csv", ["id", "name", "profession", "languages", "role", "status", "joinedAt", "leftAt",
            "ask", "idealReferral", "goals", "accomplishments", "interests", "networks", "skills", "profileChangedAt"], async (csv, token) =>
        {
            foreach (var member in members)
            {
                var profile = await MemberProjection.ProfileAsync(db, member.Id, token);
                await RowAsync(csv, member.Id, member.Name, member.Profession, string.Join(' ', member.Languages), MemberProjection.RoleName(member.Role),
                    member.Status, member.JoinedAt, member.LeftAt, profile.Ask, profile.IdealReferral, profile.Goals, profile.Accomplishments,
                    profile.Interests, profile.Networks, profile.Skills, profile.ChangedAt);
            }
        }, ct);

        var withProspects = caller.IsLeader;
        string[] referralColumns =
        [
            "id", "givenAt", "giverId", "giverName", "receiverId", "receiverName", "status", "need", "temperature", "language", "outcome",
            "valueAmount", "valueCurrency", "declineReason", "thankNote", "acceptedAt", "declinedAt", "closedAt", "thankedAt", "introducedAt",
            "withdrawnAt", "withdrawReason", "redirectedAt", "corrections", "prospectConsent",
            .. withProspects ? new[] { "prospectName", "prospectEmail", "prospectPhone", "prospectCompany" } : [],
        ];
        await CsvAsync(zip, "referrals.csv", referralColumns, async (csv, token) =>
        {
            await foreach (var r in PageRequest.AllAsync(page => ReferralProjection.ListAsync(db, chapterId, null, null, page, token), ByGiven))
            {
                object?[] row =
                [
                    r.Id, r.GivenAt, r.GiverId, NameOf(r.GiverId), r.ReceiverId, NameOf(r.ReceiverId), r.Status, r.Need, Camel(r.Temperature), r.Language,
                    r.Outcome is { } outcome ? Camel(outcome) : null, r.Value?.Amount, r.Value?.Currency, r.DeclineReason, r.ThankNote, r.AcceptedAt,
                    r.DeclinedAt, r.ClosedAt, r.ThankedAt, r.IntroducedAt, r.WithdrawnAt, r.WithdrawReason, r.RedirectedAt,
                    r.Corrections is { Count: > 0 } corrections ? JsonSerializer.Serialize(corrections, JsonSerializerOptions.Web) : null,
                    r.Prospect?.Consent,
                ];
                if (withProspects)
                    row = [.. row, r.Prospect?.Name, r.Prospect?.Email, r.Prospect?.Phone, r.Prospect?.Company];
                await RowAsync(csv, row);
            }
        }, ct);

        await CsvAsync(zip, "one-to-ones.csv", ["id", "date", "memberAId", "memberAName", "memberBId", "memberBName", "note"], async (csv, token) =>
        {
            await foreach (var o in PageRequest.AllAsync(page => OneToOneProjection.ListAsync(db, chapterId, null, page, token), ByDate))
                await RowAsync(csv, o.Id, o.Date, o.MemberA, NameOf(o.MemberA), o.MemberB, NameOf(o.MemberB), o.Note);
        }, ct);

        var meetingList = await MeetingProjection.ListAsync(db, chapterId, null, null, ct);
        await CsvAsync(zip, "meetings.csv", ["id", "date", "status", "openedAt", "closedAt"], async (csv, _) =>
        {
            foreach (var m in meetingList.OrderBy(m => m.Date))
                await RowAsync(csv, m.Id, m.Date, m.Status, m.OpenedAt, m.ClosedAt);
        }, ct);
        await CsvAsync(zip, "attendance.csv",
            ["meetingId", "date", "memberId", "memberName", "status", "substituteProfession", .. withProspects ? new[] { "substituteName" } : [], "markedAt", "corrections"],
            async (csv, token) =>
            {
                foreach (var summary in meetingList.OrderBy(m => m.Date))
                {
                    if (await MeetingProjection.GetAsync(db, chapterId, summary.Id, showSubstitutes: withProspects, token) is not { } meeting)
                        continue;
                    foreach (var a in meeting.Attendance)
                    {
                        object?[] row = [meeting.Id, meeting.Date, a.MemberId, a.Name, a.Status, a.Substitute?.Profession];
                        if (withProspects)
                            row = [.. row, a.Substitute?.Name];
                        await RowAsync(csv, [.. row, a.MarkedAt, a.Corrections]);
                    }
                }
            }, ct);

        // Visitors are for leaders, as their list is.
        if (caller.IsLeader)
            await CsvAsync(zip, "visitors.csv",
                ["id", "registeredAt", "name", "profession", "company", "email", "phone", "consent", "invitedById", "invitedByName", "meetingId", "followUp", "memberId", "erased"],
                async (csv, token) =>
                {
                    foreach (var v in (await VisitorProjection.ListAsync(db, chapterId, null, null, token, limit: int.MaxValue)).Reverse())
                        await RowAsync(csv, v.Id, v.RegisteredAt, v.Name, v.Profession, v.Company, v.Email, v.Phone, v.Consent, v.InvitedBy,
                            NameOf(v.InvitedBy), v.MeetingId, string.Join("; ", v.FollowUp.Select(f => $"{f.Step} {f.At:O}")), v.MemberId, v.Erased);
                }, ct);

        await WeeklyReportsAsync(zip, db, chapterId, ct);
        await EventsAsync(zip, db, chapterId, caller, ct);
    }

    /// <summary>One row per week since the chapter's first member joined: the figures of each week's report, as of now.</summary>
    private static async Task WeeklyReportsAsync(ZipArchive zip, ChapterDatabase db, string chapterId, CancellationToken ct)
    {
        if (await ReciprocityEndpoints.FactsAsync(db, chapterId, ct) is not { } loaded)
            return;
        var facts = loaded.Facts with
        {
            Attendance = await MeetingProjection.AttendanceFactsAsync(db, chapterId, ct),
            Visitors = await VisitorProjection.FactsAsync(db, chapterId, ct),
        };
        string[] columns =
        [
            "week", "from", "to", "given", "accepted", "declined", "closedWon", "closedLost", "thanked", "oneToOnes", "newTies", "closedValue",
            "activeMembers", "givingMembers", "receivingMembers", "circulation", "cycleShare", "medianReach", "givingGini", "payItForwardRate",
            "loopClosures", "closedLoopShare", "medianHoursToAccept", "meetings", "present", "late", "medical", "substitute", "absent",
            "attendanceShareLast12Weeks",
        ];
        await CsvAsync(zip, "weekly-reports.csv", columns, async (csv, _) =>
        {
            if (facts.Members.Count == 0)
                return;
            var first = facts.DateOf(facts.Members.Min(m => m.JoinedAt));
            var today = facts.DateOf(DateTimeOffset.UtcNow);
            for (var monday = first.AddDays(-(((int)first.DayOfWeek + 6) % 7)); monday <= today; monday = monday.AddDays(7))
            {
                var r = WeeklyReport.Compute(facts, monday);
                var (c, f, a) = (r.Counts, r.Circulation.TwelveWeeks, r.Attendance);
                await RowAsync(csv, r.Week, r.From, r.To, c.Given, c.Accepted, c.Declined, c.ClosedWon, c.ClosedLost, c.Thanked, c.OneToOnes, c.NewTies,
                    string.Join("; ", r.ClosedValue.Select(m => $"{m.Amount.ToString(CultureInfo.InvariantCulture)} {m.Currency}")),
                    f.ActiveMembers, f.GivingMembers, f.ReceivingMembers, f.Circulation, f.CycleShare, f.MedianReach, f.GivingGini, f.PayItForwardRate,
                    f.LoopClosures, f.ClosedLoopShare, f.MedianHoursToAccept, a.Meetings, a.Present, a.Late, a.Medical, a.Substitute, a.Absent,
                    a.ShareLast12Weeks);
            }
        }, ct);
    }

    /// <summary>The chapter's events in feed order, each as the feed shows it to this caller, one JSON object per line.</summary>
    private static async Task EventsAsync(ZipArchive zip, ChapterDatabase db, string chapterId, Caller caller, CancellationToken ct)
    {
        var entry = zip.CreateEntry("events.jsonl", CompressionLevel.Fastest);
        await using var stream = await entry.OpenAsync(ct);
        await using var writer = new StreamWriter(stream, new UTF8Encoding(false), bufferSize: 64 * 1024);
        var line = new StringBuilder();
        for (var after = 0L; ;)
        {
            var page = await EventFeedEndpoints.ReadAsSeenAsync(db, chapterId, after, EventsPerPage, caller, ct);
            foreach (var item in page)
            {
                line.Clear().Append(JsonSerializer.Serialize(item, JsonSerializerOptions.Web)).Append('\n');
                await writer.WriteAsync(line, ct);
            }
            if (page.Count < EventsPerPage)
                break;
            after = page[^1].Position;
        }
    }

    private static async Task CsvAsync(ZipArchive zip, string name, string[] header, Func<CsvWriter, CancellationToken, Task> rows, CancellationToken ct)
    {
        var entry = zip.CreateEntry(name, CompressionLevel.Fastest);
        await using var stream = await entry.OpenAsync(ct);
        await using var csv = CsvWriter.Create(stream, CsvFormat, leaveOpen: true);
        await csv.WriteRecordAsync(header, ct);
        await rows(csv, ct);
        await csv.FlushAsync(ct);
    }

    private static async Task RowAsync(CsvWriter csv, params object?[] fields)
    {
        // Typed, so that only text is protected from being read as a formula (a negative number stays a number).
        foreach (var field in fields)
            csv.WriteField(field);
        await csv.EndRecordAsync();
    }

    private static string Camel<T>(T value) where T : struct, Enum => JsonNamingPolicy.CamelCase.ConvertName(value.ToString());

    // The sort keys the paged reads go by: referrals as given, one-to-ones by the day held, members as they joined.
    internal static PageCursor ByGiven(ReferralView r) => new(r.GivenAt, r.Id);
    internal static PageCursor ByDate(OneToOneView o) => new(new DateTimeOffset(o.Date.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero), o.Id);

    internal static async Task<List<MemberView>> AllMembersAsync(ChapterDatabase db, string chapterId, CancellationToken ct)
    {
        var members = new List<MemberView>();
        await foreach (var member in PageRequest.AllAsync(page => MemberProjection.ListAsync(db, chapterId, page, ct), m => new PageCursor(m.JoinedAt, m.Id)))
            members.Add(member);
        return members;
    }
}
