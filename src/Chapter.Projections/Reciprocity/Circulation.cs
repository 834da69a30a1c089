using System.ComponentModel;
using Chapter.Domain.Shared;
using Chapter.Projections.Activity;

namespace Chapter.Projections.Reciprocity;

/// <summary>How help circulated through a chapter in a window. Shares are 0–1; null where nothing could be measured.</summary>
public sealed record CirculationFigures(
    [property: Description("Start of the window (inclusive).")] DateTimeOffset From,
    [property: Description("End of the window (exclusive); only what had happened by then counts.")] DateTimeOffset To,
    [property: Description("Members active at the end of the window (a member who left is not counted).")] int ActiveMembers,
    [property: Description("Active members who gave at least one referral in the window.")] int GivingMembers,
    [property: Description("Active members who received at least one referral in the window.")] int ReceivingMembers,
    [property: Description("Share of active members who both gave to someone and received from someone (not necessarily the same person).")] double? Circulation,
    [property: Description("Share of distinct giver→receiver edges that lie on a directed cycle (both ends in the same strongly connected component): help that can come back around through the group.")] double? CycleShare,
    [property: Description("Median number of distinct members each giving member helped.")] double? MedianReach,
    [property: Description("Gini coefficient of referrals given per active member: 0 when giving is evenly shared, towards 1 when few give everything.")] double? GivingGini,
    [property: Description("Share of referrals received whose receiver, within 30 days (and before the window ends), gave a referral to someone other than that giver: help passed on rather than paid back.")] double? PayItForwardRate,
    [property: Description("Share of giving members who lie on at least one closed loop in the window: a chain of referrals X→Y→…→X, each given after the one before, through at least two other members and through nobody twice.")] double? LoopClosures,
    [property: Description("Share of referrals closed won in the window whose receiver thanked the giver within 14 days of closing.")] double? ClosedLoopShare,
    [property: Description("Median hours from giving to acceptance, over referrals given in the window and accepted.")] double? MedianHoursToAccept,
    [property: Description("Value of referrals closed won in the window, per currency (never converted or added across currencies).")] IReadOnlyList<Money> ClosedWonValue)
{
    [Description("How fresh the figures are: the last event the projection had applied.")]
    public AsOf? AsOf { get; init; }
}

/// <summary>
/// Circulation across the chapter, never a balance between two members. Every figure looks only at
/// what had happened by the window's end, so a past window's figures do not change later.
/// </summary>
public static class Circulation
{
    public static readonly TimeSpan PayItForwardWithin = TimeSpan.FromDays(30);
    public static readonly TimeSpan ThanksWithin = TimeSpan.FromDays(14);

    public static CirculationFigures Compute(ChapterFacts facts, DateTimeOffset from, DateTimeOffset to)
    {
        var active = facts.Members.Where(m => m.ActiveAt(to)).Select(m => m.Id).ToHashSet();
        var given = facts.Referrals.Where(r => r.GivenAt >= from && r.GivenAt < to).OrderBy(r => r.GivenAt).ThenBy(r => r.Id).ToList();

        var givers = given.Select(r => r.GiverId).Where(active.Contains).ToHashSet();
        var receivers = given.Select(r => r.ReceiverId).Where(active.Contains).ToHashSet();
        var edges = given.Select(r => (r.GiverId, r.ReceiverId)).Distinct().ToList();

        var component = StronglyConnectedComponents(edges);
        var helpedBy = edges.CountBy(e => e.GiverId).ToDictionary();
        var reach = givers.Select(g => (double)helpedBy[g]).ToList();
        var givenBy = given.CountBy(r => r.GiverId).ToDictionary();
        var givenCounts = active.Select(m => givenBy.GetValueOrDefault(m)).ToList();

        var laterGivenBy = facts.Referrals.Where(r => r.GivenAt > from && r.GivenAt < to).ToLookup(r => r.GiverId);
        var forwarded = given.Count(r => laterGivenBy[r.ReceiverId].Any(next =>
            next.ReceiverId != r.GiverId && next.GivenAt > r.GivenAt && next.GivenAt <= r.GivenAt + PayItForwardWithin));

        var onLoops = TimeOrderedLoops.MembersOn(given, givers);

        var won = facts.Referrals.Where(r => r.WonBy(to) && r.ClosedAt >= from).ToList();
        var thankedInTime = won.Count(r => r.ThankedAt is { } thanked && thanked <= r.ClosedAt + ThanksWithin && thanked < to);

        var hoursToAccept = given.Where(r => r.AcceptedAt < to).Select(r => (r.AcceptedAt!.Value - r.GivenAt).TotalHours).ToList();

        return new CirculationFigures(
            from, to,
            ActiveMembers: active.Count,
            GivingMembers: givers.Count,
            ReceivingMembers: receivers.Count,
            Circulation: Share(active.Count(m => givers.Contains(m) && receivers.Contains(m)), active.Count),
            CycleShare: Share(edges.Count(e => component[e.GiverId] == component[e.ReceiverId]), edges.Count),
            MedianReach: Median(reach),
            GivingGini: active.Count == 0 ? null : Round(Gini(givenCounts)),
            PayItForwardRate: Share(forwarded, given.Count),
            LoopClosures: Share(givers.Count(onLoops.Contains), givers.Count),
            ClosedLoopShare: Share(thankedInTime, won.Count),
            MedianHoursToAccept: Median(hoursToAccept) is { } median ? Math.Round(median, 1) : null,
            ClosedWonValue: won.GroupBy(r => r.Value!.Currency).OrderBy(g => g.Key)
                .Select(g => new Money(g.Sum(r => r.Value!.Amount), g.Key)).ToList());
    }

    /// <summary>Tarjan's algorithm: the component of each member; an edge within one component lies on a directed cycle.</summary>
    internal static Dictionary<Guid, int> StronglyConnectedComponents(IReadOnlyList<(Guid From, Guid To)> edges)
    {
        var next = edges.GroupBy(e => e.From).ToDictionary(g => g.Key, g => g.Select(e => e.To).ToList());
        var nodes = edges.SelectMany(e => new[] { e.From, e.To }).Distinct().ToList();
        var index = new Dictionary<Guid, int>();
        var low = new Dictionary<Guid, int>();
        var component = new Dictionary<Guid, int>();
        var stack = new Stack<Guid>();
        var onStack = new HashSet<Guid>();
        var counter = 0;

        void Visit(Guid node)
        {
            index[node] = low[node] = counter++;
            stack.Push(node);
            onStack.Add(node);
            foreach (var to in next.GetValueOrDefault(node, []))
            {
                if (!index.ContainsKey(to))
                {
                    Visit(to);
                    low[node] = Math.Min(low[node], low[to]);
                }
                else if (onStack.Contains(to))
                    low[node] = Math.Min(low[node], index[to]);
            }
            if (low[node] != index[node])
                return;
            var id = component.Count == 0 ? 0 : component.Values.Max() + 1;
            Guid member;
            do
            {
                member = stack.Pop();
                onStack.Remove(member);
                component[member] = id;
            } while (member != node);
        }

        foreach (var node in nodes.Where(n => !index.ContainsKey(n)))
            Visit(node);
        return component;
    }

    /// <summary>0 when everyone gave equally, towards 1 when one member gave everything.</summary>
    internal static double Gini(IReadOnlyList<int> values)
    {
        var total = values.Sum();
        if (values.Count == 0 || total == 0)
            return 0;
        var sorted = values.Order().ToList();
        double weighted = 0;
        for (var i = 0; i < sorted.Count; i++)
            weighted += (i + 1) * (double)sorted[i];
        return 2 * weighted / (sorted.Count * (double)total) - (sorted.Count + 1) / (double)sorted.Count;
    }

    internal static double? Median(IReadOnlyList<double> values)
    {
        if (values.Count == 0)
            return null;
        var sorted = values.Order().ToList();
        var middle = sorted.Count / 2;
        return sorted.Count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
    }

    private static double? Share(int part, int whole) => whole == 0 ? null : Round(part / (double)whole);

    private static double Round(double value) => Math.Round(value, 4);
}
