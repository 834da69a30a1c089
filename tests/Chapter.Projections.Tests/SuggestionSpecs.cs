using Chapter.Domain.Chapters;
using Chapter.Projections.Reciprocity;
using static Chapter.Projections.Tests.Given;

namespace Chapter.Projections.Tests;

/// <summary>Whom to meet next: no tie first, then the weakest; a shared sphere and a matching ask count; never someone met lately.</summary>
public sealed class SuggestionSpecs
{
    private static readonly DateTimeOffset Now = Day0.AddDays(100);

    private static SuggestionMember M(char letter, string profession = "Accountant", string? ask = null, string profile = "") =>
        new(Id(letter), letter.ToString(), profession, ask, profile);

    private static IReadOnlyList<Suggestion> For(Given given, SuggestionMember me, IReadOnlyList<SuggestionMember> members, params ContactSphere[] spheres) =>
        Suggestions.For(given.Facts(), me, members, spheres, Now);

    [Fact]
    public void Members_with_no_tie_come_before_weak_ties_and_strong_ties_are_not_suggested()
    {
        // A and B: fresh referrals (strong); A and C: one referral 200 days ago (weak); A and D: nothing yet.
        var given = AChapter("ABCD").Referral("A→B", 95).Referral("B→A", 96).Referral("A→C", -100);
        var suggested = For(given, M('A'), [M('A'), M('B'), M('C'), M('D')]);
        suggested.Select(s => s.Name).ShouldBe(["D", "C"]);
        suggested[0].Reasons.Single().Kind.ShouldBe("noTieYet");
        suggested[0].LastInteractionAt.ShouldBeNull();
        var weak = suggested[1].Reasons.Single();
        weak.Kind.ShouldBe("weakTie");
        weak.Strength!.Value.ShouldBeLessThan(Suggestions.WeakTieBelow);
        suggested[1].LastInteractionAt.ShouldBe(Day0.AddDays(-100));
    }

    [Fact]
    public void A_shared_contact_sphere_and_an_ask_that_matches_the_profile_count_too()
    {
        var given = AChapter("ABCD");
        var me = M('A', "Realtor", profile: "I know many restaurant owners and landlords");
        var suggested = For(given, me,
            [me, M('B', "Baker"), M('C', "Mortgage adviser"), M('D', "Caterer", ask: "Introductions to restaurant owners")],
            new ContactSphere("Property", ["Realtor", "Mortgage adviser"]));
        suggested.Select(s => s.Name).ShouldBe(["C", "D", "B"]);
        suggested[0].Reasons.Select(r => r.Kind).ShouldBe(["noTieYet", "sharedContactSphere"]);
        suggested[0].Reasons[1].Sphere.ShouldBe("Property");
        suggested[1].Reasons[1].Words.ShouldBe(["owners", "restaurant"]);
    }

    [Fact]
    public void Nobody_met_in_the_last_30_days_and_never_oneself_and_at_most_five()
    {
        var today = DateOnly.FromDateTime(Now.UtcDateTime);
        var given = AChapter("ABCDEFGH").OneToOne("AB", today.AddDays(-10)).OneToOne("AC", today.AddDays(-40));
        var members = "ABCDEFGH".Select(c => M(c)).ToList();
        var suggested = For(given, M('A'), members);
        suggested.Count.ShouldBe(Suggestions.Count);
        suggested.ShouldNotContain(s => s.Name == "A" || s.Name == "B");
        suggested.ShouldAllBe(s => s.Reasons.Count > 0);
    }
}
