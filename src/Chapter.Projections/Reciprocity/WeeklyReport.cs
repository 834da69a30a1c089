using System.ComponentModel;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.RegularExpressions;
using Chapter.Domain.Referrals;
using Chapter.Domain.Shared;
using Chapter.Projections.Activity;

namespace Chapter.Projections.Reciprocity;

public sealed record WeekCounts(int Given, int Accepted, int Declined, int ClosedWon, int ClosedLost, int Thanked, int OneToOnes, int NewTies);

public sealed record WaitingReferral(Guid ReferralId, Guid GiverId, string GiverName, Guid ReceiverId, string ReceiverName, DateTimeOffset GivenAt, int HoursWaiting);

public sealed record UnthankedWin(Guid ReferralId, Guid GiverId, string GiverName, Guid ReceiverId, string ReceiverName, DateTimeOffset ClosedAt, int DaysSinceClosed);

// No "last referred" date: the list invites, it does not count how long someone was overlooked.
public sealed record OneToOneInvitation(Guid MemberId, string Name, string Invitation);

/// <param name="Meetings">Meetings held in the week.</param>
/// <param name="ShareLast12Weeks">Of the marks at the meetings of the 12 weeks ending with this one, the share attended (present, late or a substitute); null without marks.</param>
/// <param name="ShareFourWeeksBefore">The same over the 4 weeks before this one.</param>
public sealed record WeeklyAttendance(int Meetings, int Present, int Late, int Medical, int Substitute, int Absent, double? ShareLast12Weeks, double? ShareFourWeeksBefore);

/// <param name="Name">The visitor's name: for leaders only, never for integrations (null), "erased" once erased.</param>
/// <param name="DaysWaiting">For a visitor not followed up: days since they came.</param>
public sealed record VisitorInReport(Guid VisitorId, string? Name, string Profession, Guid InvitedBy, string InvitedByName, DateTimeOffset RegisteredAt, int? DaysWaiting = null);

/// <param name="NotFollowedUp">Visitors who came over 7 days before the week's end and had no follow-up by then.</param>
public sealed record WeeklyVisitors(IReadOnlyList<VisitorInReport> ThisWeek, IReadOnlyList<VisitorInReport> NotFollowedUp);

/// <summary>A member absent at the last two meetings: someone to check in with, not a warning.</summary>
public sealed record CheckIn(Guid MemberId, string Name, string Invitation);

public sealed record Nudges(
    [property: Description("Referrals given over 72 hours before the week ended and neither accepted nor declined by then.")] IReadOnlyList<WaitingReferral> WaitingForAcceptance,
    [property: Description("Business won over 7 days before the week ended whose giver had not been thanked by then.")] IReadOnlyList<UnthankedWin> WonNotThanked,
    [property: Description("Active members nobody referred anyone to in the 8 weeks up to the week's end: an invitation to a one-to-one, not a ranking.")] IReadOnlyList<OneToOneInvitation> NotReferredLately)
{
    [Description("Active members marked absent at the chapter's last two meetings up to the week's end: check in with them.")]
    public IReadOnlyList<CheckIn> CheckInWith { get; init; } = [];
}

public sealed record WeeklyCirculation(
    [property: Description("The 12 weeks ending with the report's week.")] CirculationFigures TwelveWeeks,
    [property: Description("The 4 weeks before the report's week, to compare the latest month with.")] CirculationFigures FourWeeksBefore);

public sealed record WeeklyReportView(
    string ChapterId,
    string Week,
    DateTimeOffset From,
    DateTimeOffset To,
    WeekCounts Counts,
    [property: Description("Value of business closed won in the week, per currency.")] IReadOnlyList<Money> ClosedValue,
    WeeklyCirculation Circulation,
    Nudges Nudges)
{
    public AsOf? AsOf { get; init; }

    public WeeklyAttendance Attendance { get; init; } = new(0, 0, 0, 0, 0, 0, null, null);

    public WeeklyVisitors Visitors { get; init; } = new([], []);
}

/// <summary>What a chapter leader reads in a minute: the week's steps, how help circulated, and whom to help next.</summary>
public static partial class WeeklyReport
{
    public static readonly TimeSpan AcceptanceNudgeAfter = TimeSpan.FromHours(72);
    public static readonly TimeSpan ThanksNudgeAfter = TimeSpan.FromDays(7);
    public static readonly TimeSpan NotReferredWithin = TimeSpan.FromDays(56);
    public static readonly TimeSpan FollowUpNudgeAfter = TimeSpan.FromDays(7);

    [GeneratedRegex("^([0-9]{4})-W([0-9]{2})$", RegexOptions.CultureInvariant)]
    private static partial Regex IsoWeekPattern();

    /// <summary>The Monday of an ISO week such as <c>2026-W47</c>, or null when it is no such week.</summary>
    public static DateOnly? ParseIsoWeek(string isoWeek)
    {
        var match = IsoWeekPattern().Match(isoWeek);
        if (!match.Success)
            return null;
        var year = int.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture);
        var week = int.Parse(match.Groups[2].Value, CultureInfo.InvariantCulture);
        if (year < 2000 || year > 2100 || week < 1 || week > ISOWeek.GetWeeksInYear(year))
            return null;
        return DateOnly.FromDateTime(ISOWeek.ToDateTime(year, week, DayOfWeek.Monday));
    }

    /// <param name="facts">The chapter's whole history: new ties and nudges look back as far as it goes.</param>
    public static WeeklyReportView Compute(ChapterFacts facts, DateOnly monday)
    {
        var from = facts.StartOf(monday);
        var to = facts.StartOf(monday.AddDays(7));
        bool InWeek(DateTimeOffset? at) => at >= from && at < to;
        var names = facts.Members.ToDictionary(m => m.Id, m => m.Name);
        string Name(Guid id) => names.GetValueOrDefault(id, "");

        int given = 0, accepted = 0, declined = 0, closedWon = 0, closedLost = 0, thanked = 0;
        foreach (var r in facts.Referrals)
        {
            given += InWeek(r.GivenAt) ? 1 : 0;
            accepted += InWeek(r.AcceptedAt) ? 1 : 0;
            declined += InWeek(r.DeclinedAt) ? 1 : 0;
            closedWon += InWeek(r.ClosedAt) && r.Outcome == Outcome.Won ? 1 : 0;
            closedLost += InWeek(r.ClosedAt) && r.Outcome == Outcome.Lost ? 1 : 0;
            thanked += InWeek(r.ThankedAt) ? 1 : 0;
        }
        var counts = new WeekCounts(given, accepted, declined, closedWon, closedLost, thanked,
            OneToOnes: facts.OneToOnes.Count(o => o.HeldOn >= monday && o.HeldOn < monday.AddDays(7)),
            NewTies: FirstInteractions(facts).Values.Count(first => InWeek(first)));

        var waiting = facts.Referrals
            .Where(r => r.GivenAt < to - AcceptanceNudgeAfter && !(r.AcceptedAt < to) && !(r.DeclinedAt < to))
            .OrderBy(r => r.GivenAt)
            .Select(r => new WaitingReferral(r.Id, r.GiverId, Name(r.GiverId), r.ReceiverId, Name(r.ReceiverId), r.GivenAt, (int)(to - r.GivenAt).TotalHours))
            .ToList();
        var unthanked = facts.Referrals
            .Where(r => r.WonBy(to - ThanksNudgeAfter) && !(r.ThankedAt < to))
            .OrderBy(r => r.ClosedAt)
            .Select(r => new UnthankedWin(r.Id, r.GiverId, Name(r.GiverId), r.ReceiverId, Name(r.ReceiverId), r.ClosedAt!.Value, (int)(to - r.ClosedAt!.Value).TotalDays))
            .ToList();
        var lastReferredTo = facts.Referrals.Where(r => r.GivenAt < to).GroupBy(r => r.ReceiverId).ToDictionary(g => g.Key, g => g.Max(r => r.GivenAt));
        var notReferred = facts.Members
            .Where(m => m.ActiveAt(to) && !(lastReferredTo.TryGetValue(m.Id, out var last) && last >= to - NotReferredWithin))
            .OrderBy(m => m.Name, StringComparer.Ordinal)
            .Select(m => new OneToOneInvitation(
                m.Id, m.Name, $"Invite {m.Name} to a one-to-one: learn what they are looking for, so the chapter can help."))
            .ToList();

        return new WeeklyReportView(
            facts.ChapterId,
            MemberViews.IsoWeekName(monday),
            from, to,
            counts,
            facts.Referrals.Where(r => InWeek(r.ClosedAt) && r.Outcome == Outcome.Won).GroupBy(r => r.Value!.Currency).OrderBy(g => g.Key)
                .Select(g => new Money(g.Sum(r => r.Value!.Amount), g.Key)).ToList(),
            new WeeklyCirculation(
                Reciprocity.Circulation.Compute(facts, facts.StartOf(monday.AddDays(-77)), to),
                Reciprocity.Circulation.Compute(facts, facts.StartOf(monday.AddDays(-28)), from)),
            new Nudges(waiting, unthanked, notReferred) { CheckInWith = CheckIns(facts, to) })
        {
            Attendance = AttendanceOf(facts, monday),
            Visitors = new WeeklyVisitors(
                facts.Visitors.Where(v => InWeek(v.RegisteredAt)).OrderBy(v => v.RegisteredAt)
                    .Select(v => new VisitorInReport(v.Id, null, v.Profession, v.InvitedBy, Name(v.InvitedBy), v.RegisteredAt)).ToList(),
                facts.Visitors.Where(v => v.RegisteredAt < to - FollowUpNudgeAfter && !(v.FirstFollowUpAt < to)).OrderBy(v => v.RegisteredAt)
                    .Select(v => new VisitorInReport(v.Id, null, v.Profession, v.InvitedBy, Name(v.InvitedBy), v.RegisteredAt, (int)(to - v.RegisteredAt).TotalDays))
                    .ToList()),
        };
    }

    private static WeeklyAttendance AttendanceOf(ChapterFacts facts, DateOnly monday)
    {
        var week = facts.Attendance.Where(a => a.HeldOn >= monday && a.HeldOn < monday.AddDays(7)).ToList();
        int Count(string status) => week.Count(a => a.Status == status);
        double? Share(DateOnly from, DateOnly until)
        {
            var marks = facts.Attendance.Where(a => a.HeldOn >= from && a.HeldOn < until).ToList();
            return marks.Count == 0 ? null : Math.Round((double)marks.Count(a => a.Attended) / marks.Count, 4);
        }
        return new WeeklyAttendance(week.Select(a => a.MeetingId).Distinct().Count(), Count("present"), Count("late"), Count("medical"), Count("substitute"),
            Count("absent"), Share(monday.AddDays(-77), monday.AddDays(7)), Share(monday.AddDays(-28), monday));
    }

    private static IReadOnlyList<CheckIn> CheckIns(ChapterFacts facts, DateTimeOffset to)
    {
        var lastTwo = facts.Attendance.Where(a => facts.StartOf(a.HeldOn) < to).Select(a => (a.MeetingId, a.HeldOn)).Distinct()
            .OrderByDescending(m => m.HeldOn).Take(2).Select(m => m.MeetingId).ToHashSet();
        if (lastTwo.Count < 2)
            return [];
        return facts.Members
            .Where(m => m.ActiveAt(to) && facts.Attendance.Count(a => a.MemberId == m.Id && lastTwo.Contains(a.MeetingId) && a.Status == "absent") == 2)
            .OrderBy(m => m.Name, StringComparer.Ordinal)
            .Select(m => new CheckIn(m.Id, m.Name, $"Check in with {m.Name}: they missed the last two meetings, and may need a hand."))
            .ToList();
    }

    /// <summary>When each pair of members first interacted: a referral either way, a thanks or a one-to-one.</summary>
    private static Dictionary<(Guid, Guid), DateTimeOffset> FirstInteractions(ChapterFacts facts)
    {
        var first = new Dictionary<(Guid, Guid), DateTimeOffset>();
        void Saw(Guid a, Guid b, DateTimeOffset at)
        {
            ref var known = ref CollectionsMarshal.GetValueRefOrAddDefault(first, a.CompareTo(b) < 0 ? (a, b) : (b, a), out var seen);
            if (!seen || at < known)
                known = at;
        }
        foreach (var r in facts.Referrals)
        {
            Saw(r.GiverId, r.ReceiverId, r.GivenAt);
            if (r.ThankedAt is { } thanked)
                Saw(r.GiverId, r.ReceiverId, thanked);
        }
        foreach (var o in facts.OneToOnes)
            Saw(o.MemberA, o.MemberB, facts.StartOf(o.HeldOn).AddHours(12));
        return first;
    }
}
