using Chapter.Domain.Referrals;
using Chapter.Projections.Activity;

namespace Chapter.Projections.Reciprocity;

/// <summary>One week's steps, for the report's chart.</summary>
public sealed record WeekTrend(string Week, int Given, int ClosedWon, int Thanked);

/// <summary>A member in the flow picture.</summary>
public sealed record FlowMember(Guid Id, string Name);

/// <summary>
/// Referrals from one member to another in the window. Each direction is its own arrow: the picture shows
/// help moving, and never nets one direction against the other.
/// </summary>
public sealed record FlowArrow(Guid GiverId, Guid ReceiverId, int Referrals);

public sealed record ReferralFlow(DateTimeOffset From, DateTimeOffset To, IReadOnlyList<FlowMember> Members, IReadOnlyList<FlowArrow> Arrows);

/// <summary>What the leader's report page draws: the weeks before, and how referrals moved between members.</summary>
public static class ReportPictures
{
    /// <summary>Given, closed won and thanked in each of the <paramref name="weeks"/> weeks ending with the week of <paramref name="monday"/>, oldest first.</summary>
    public static IReadOnlyList<WeekTrend> Trend(ChapterFacts facts, DateOnly monday, int weeks = 12) =>
        Enumerable.Range(0, weeks).Select(i =>
        {
            var weekMonday = monday.AddDays(-7 * (weeks - 1 - i));
            var from = facts.StartOf(weekMonday);
            var to = facts.StartOf(weekMonday.AddDays(7));
            bool In(DateTimeOffset? at) => at >= from && at < to;
            return new WeekTrend(
                MemberViews.IsoWeekName(weekMonday),
                facts.Referrals.Count(r => In(r.GivenAt)),
                facts.Referrals.Count(r => In(r.ClosedAt) && r.Outcome == Outcome.Won),
                facts.Referrals.Count(r => In(r.ThankedAt)));
        }).ToList();

    /// <summary>
    /// Who gave referrals to whom in the window: every member active at its end (so those nobody reached show too)
    /// and anyone who gave or received in it, by name.
    /// </summary>
    public static ReferralFlow Flow(ChapterFacts facts, DateTimeOffset from, DateTimeOffset to)
    {
        var referrals = facts.Referrals.Where(r => r.GivenAt >= from && r.GivenAt < to).ToList();
        var arrows = referrals.GroupBy(r => (r.GiverId, r.ReceiverId))
            .Select(g => new FlowArrow(g.Key.GiverId, g.Key.ReceiverId, g.Count()))
            .OrderBy(a => a.GiverId).ThenBy(a => a.ReceiverId)
            .ToList();
        var involved = referrals.SelectMany(r => new[] { r.GiverId, r.ReceiverId }).ToHashSet();
        var members = facts.Members
            .Where(m => m.ActiveAt(to - TimeSpan.FromTicks(1)) || involved.Contains(m.Id))
            .OrderBy(m => m.Name, StringComparer.Ordinal)
            .Select(m => new FlowMember(m.Id, m.Name))
            .ToList();
        return new ReferralFlow(from, to, members, arrows);
    }
}
