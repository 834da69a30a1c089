using System.Globalization;
using Chapter.Domain.Shared;
using Chapter.Projections.Activity;

namespace Chapter.Projections.Reciprocity;

/// <summary>A relationship seen from one member: how alive it is, never what each side gave.</summary>
public sealed record Tie(Guid MemberId, string Name, double Strength, int Interactions, DateTimeOffset FirstInteractionAt, DateTimeOffset LastInteractionAt);

public sealed record GivingProfile(
    DateTimeOffset From,
    DateTimeOffset To,
    int Given,
    int DistinctPeopleHelped,
    int Received,
    int DistinctHelpers,
    IReadOnlyList<Money> ClosedWonValue,
    int ThanksGiven,
    int ThanksReceived,
    int GivingStreakWeeks)
{
    /// <summary>How fresh the profile is: the last event the projection had applied.</summary>
    public AsOf? AsOf { get; init; }
}

public static class MemberViews
{
    /// <summary>
    /// The ties of a member: referrals either way, thanks either way and one-to-ones. Each interaction
    /// counts 1 when it happens and halves every half-life after (the chapter's, 90 days by default).
    /// </summary>
    public static IReadOnlyList<Tie> Relationships(ChapterFacts facts, Guid memberId, DateTimeOffset now)
    {
        var interactions = new List<(Guid Other, DateTimeOffset At)>();
        foreach (var r in facts.Referrals.Where(r => r.GiverId == memberId || r.ReceiverId == memberId))
        {
            var other = r.GiverId == memberId ? r.ReceiverId : r.GiverId;
            interactions.Add((other, r.GivenAt));
            if (r.ThankedAt is { } thanked)
                interactions.Add((other, thanked));
        }
        foreach (var o in facts.OneToOnes.Where(o => o.MemberA == memberId || o.MemberB == memberId))
            interactions.Add((o.MemberA == memberId ? o.MemberB : o.MemberA, facts.StartOf(o.HeldOn).AddHours(12)));

        var names = facts.Members.ToDictionary(m => m.Id, m => m.Name);
        return interactions
            .Where(i => i.At <= now && i.Other != memberId)
            .GroupBy(i => i.Other)
            .Select(g => new Tie(
                g.Key,
                names.GetValueOrDefault(g.Key, ""),
                Math.Round(g.Sum(i => Math.Pow(0.5, (now - i.At).TotalDays / facts.TieHalfLifeDays)), 4),
                g.Count(),
                g.Min(i => i.At),
                g.Max(i => i.At)))
            .OrderByDescending(t => t.Strength)
            .ThenBy(t => t.Name, StringComparer.Ordinal)
            .ToList();
    }

    public static GivingProfile Giving(ChapterFacts facts, Guid memberId, DateTimeOffset from, DateTimeOffset to)
    {
        bool InWindow(DateTimeOffset? at) => at >= from && at < to;
        var given = facts.Referrals.Where(r => r.GiverId == memberId && InWindow(r.GivenAt)).ToList();
        var received = facts.Referrals.Where(r => r.ReceiverId == memberId && InWindow(r.GivenAt)).ToList();
        var wonFromGiving = facts.Referrals.Where(r => r.GiverId == memberId && r.WonBy(to) && r.ClosedAt >= from);

        return new GivingProfile(
            from, to,
            Given: given.Count,
            DistinctPeopleHelped: given.Select(r => r.ReceiverId).Distinct().Count(),
            Received: received.Count,
            DistinctHelpers: received.Select(r => r.GiverId).Distinct().Count(),
            ClosedWonValue: wonFromGiving.GroupBy(r => r.Value!.Currency).OrderBy(g => g.Key)
                .Select(g => new Money(g.Sum(r => r.Value!.Amount), g.Key)).ToList(),
            ThanksGiven: facts.Referrals.Count(r => r.ReceiverId == memberId && InWindow(r.ThankedAt)),
            ThanksReceived: facts.Referrals.Count(r => r.GiverId == memberId && InWindow(r.ThankedAt)),
            GivingStreakWeeks: GivingStreakWeeks(facts, memberId, to));
    }

    /// <summary>
    /// Consecutive ISO weeks (in the chapter's time zone) in which the member gave at least one referral,
    /// counted back from the week holding <paramref name="asOf"/>, or from the week before when this one has none yet.
    /// </summary>
    public static int GivingStreakWeeks(ChapterFacts facts, Guid memberId, DateTimeOffset asOf)
    {
        var weeks = facts.Referrals.Where(r => r.GiverId == memberId && r.GivenAt < asOf)
            .Select(r => WeekStart(facts.DateOf(r.GivenAt))).ToHashSet();
        var week = WeekStart(facts.DateOf(asOf));
        if (!weeks.Contains(week))
            week = week.AddDays(-7);
        var streak = 0;
        for (; weeks.Contains(week); week = week.AddDays(-7))
            streak++;
        return streak;
    }

    public static DateOnly WeekStart(DateOnly date) => date.AddDays(-(((int)date.DayOfWeek + 6) % 7));

    public static string IsoWeekName(DateOnly date) => $"{ISOWeek.GetYear(date.ToDateTime(TimeOnly.MinValue))}-W{ISOWeek.GetWeekOfYear(date.ToDateTime(TimeOnly.MinValue)):00}";
}
