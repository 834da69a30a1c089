using Chapter.Projections.Activity;
using Chapter.Projections.Reciprocity;
using static Chapter.Projections.Tests.Given;

namespace Chapter.Projections.Tests;

public sealed class TimeOrderedLoopsSpecs
{
    [Fact]
    public void A_member_on_a_loop_the_earliest_arrivals_do_not_follow_is_on_a_loop()
    {
        // X→A→M→X closes first; N lies only on X→A→N→M→X, which reaches M later than A→M does.
        var loops = TimeOrderedLoops.MembersOn(Facts(AChapter("XAMN").Referral("X→A", 1).Referral("A→M", 2).Referral("A→N", 3).Referral("N→M", 4).Referral("M→X", 5)));

        loops.ShouldBe([Id('X'), Id('A'), Id('M'), Id('N')], ignoreOrder: true);
    }

    [Fact]
    public void A_chain_that_passes_a_member_twice_is_no_loop_through_the_member_it_only_swapped_with()
    {
        // X→A→B→A→X passes A twice: X's help came back through A only, and B only swapped with A.
        var loops = TimeOrderedLoops.MembersOn(Facts(AChapter("XAB").Referral("X→A", 1).Referral("A→B", 2).Referral("B→A", 3).Referral("A→X", 4)));

        loops.ShouldBeEmpty();
    }

    [Fact]
    public void Referrals_given_at_the_same_moment_do_not_follow_one_another()
    {
        var loops = TimeOrderedLoops.MembersOn(Facts(AChapter("ABC").Referral("A→B", 1).Referral("B→C", 1).Referral("C→A", 2)));

        loops.ShouldBeEmpty();
    }

    /// <summary>
    /// Against every simple loop, enumerated: thousands of small chapters with random referrals, some at the same
    /// moment, so that the pruned search is checked where it is easy to be wrong.
    /// </summary>
    [Fact]
    public void The_members_found_are_exactly_those_on_some_loop()
    {
        var random = new Random(20261122);
        for (var chapter = 0; chapter < 3000; chapter++)
        {
            var letters = "ABCDEFG"[..random.Next(3, 8)];
            var given = AChapter(letters);
            for (var i = random.Next(3, 22); i > 0; i--)
            {
                var from = letters[random.Next(letters.Length)];
                var to = letters.Where(l => l != from).ElementAt(random.Next(letters.Length - 1));
                given.Referral($"{from}→{to}", random.Next(0, 12));
            }
            var referrals = Facts(given);

            TimeOrderedLoops.MembersOn(referrals).ShouldBe(EveryMemberOnALoop(referrals), ignoreOrder: true,
                string.Join(", ", referrals.Select(r => $"{Letter(r.GiverId)}→{Letter(r.ReceiverId)}@{(r.GivenAt - Day0).TotalDays}")));
        }
    }

    private static List<ReferralFact> Facts(Given given) => [.. given.Facts().Referrals.OrderBy(r => r.GivenAt)];

    private static char Letter(Guid id) => (char)id.ToByteArray()[15];

    /// <summary>Every chain from every origin, no pruning: exponential, and fine for seven members.</summary>
    private static HashSet<Guid> EveryMemberOnALoop(IReadOnlyList<ReferralFact> referrals)
    {
        var found = new HashSet<Guid>();
        void Extend(Guid origin, List<Guid> path, DateTimeOffset at)
        {
            foreach (var next in referrals.Where(r => r.GiverId == path[^1] && r.GivenAt > at))
            {
                if (next.ReceiverId == origin)
                {
                    if (path.Count >= 3)
                        found.UnionWith(path);
                }
                else if (!path.Contains(next.ReceiverId))
                    Extend(origin, [.. path, next.ReceiverId], next.GivenAt);
            }
        }
        foreach (var origin in referrals.Select(r => r.GiverId).Distinct())
            Extend(origin, [origin], DateTimeOffset.MinValue);
        return found;
    }
}
