using Chapter.Domain.Shared;
using Chapter.Projections.Reciprocity;
using static Chapter.Projections.Tests.Given;

namespace Chapter.Projections.Tests;

public sealed class CirculationSpecs
{
    private static CirculationFigures Over12Weeks(Given given) => Circulation.Compute(given.Facts(), Day0, Day0.AddDays(84));

    [Fact]
    public void Help_that_comes_back_around_in_time_order_closes_a_loop()
    {
        var figures = Over12Weeks(AChapter("ABC").Referral("A→B", 1).Referral("B→C", 2).Referral("C→A", 3));

        figures.CycleShare.ShouldBe(1);
        figures.Circulation.ShouldBe(1);
        figures.LoopClosures.ShouldBe(1);
        figures.ActiveMembers.ShouldBe(3);
        figures.GivingMembers.ShouldBe(3);
        figures.ReceivingMembers.ShouldBe(3);
        figures.MedianReach.ShouldBe(1);
        figures.GivingGini.ShouldBe(0);
    }

    [Fact]
    public void The_same_edges_out_of_time_order_form_a_cycle_but_close_no_loop()
    {
        var figures = Over12Weeks(AChapter("ABC").Referral("C→A", 1).Referral("B→C", 2).Referral("A→B", 3));

        figures.CycleShare.ShouldBe(1);
        figures.Circulation.ShouldBe(1);
        figures.LoopClosures.ShouldBe(0);
    }

    [Fact]
    public void Two_members_only_swapping_referrals_is_a_cycle_but_nothing_is_paid_forward()
    {
        var given = AChapter("AB");
        for (var week = 0; week < 6; week++)
            given.Referral("A→B", week * 7).Referral("B→A", week * 7 + 2);

        var figures = Over12Weeks(given);

        figures.CycleShare.ShouldBe(1);
        figures.PayItForwardRate.ShouldBe(0);
        figures.LoopClosures.ShouldBe(0, "a swap is not help coming back through the group");
    }

    [Fact]
    public void Passing_help_on_to_someone_else_within_30_days_is_paying_it_forward()
    {
        var figures = Over12Weeks(AChapter("ABCD").Referral("A→B", 1).Referral("B→C", 10).Referral("C→B", 50).Referral("B→D", 85));

        // A→B: B gave to C within 30 days; B→C: C gave to B only (back, not forward); C→B: B→D falls after the window.
        figures.PayItForwardRate.ShouldBe(Math.Round(1 / 3.0, 4));
    }

    [Fact]
    public void A_star_where_everyone_gives_to_one_member_has_no_cycles()
    {
        var figures = Over12Weeks(AChapter("ABCDE").Referral("B→A", 1).Referral("C→A", 2).Referral("D→A", 3).Referral("E→A", 4).Referral("B→A", 5));

        figures.CycleShare.ShouldBe(0);
        figures.Circulation.ShouldBe(0);
        figures.GivingMembers.ShouldBe(4);
        figures.ReceivingMembers.ShouldBe(1);
        figures.MedianReach.ShouldBe(1);
        // Given counts 2,1,1,1,0 over five active members.
        figures.GivingGini.ShouldBe(Math.Round(Circulation.Gini([2, 1, 1, 1, 0]), 4));
        figures.GivingGini!.Value.ShouldBeGreaterThan(0);
    }

    [Fact]
    public void Giving_shared_evenly_has_a_gini_of_zero_and_one_giver_alone_approaches_one()
    {
        Circulation.Gini([3, 3, 3, 3]).ShouldBe(0);
        Circulation.Gini([0, 0, 0, 12]).ShouldBe(0.75);
        Circulation.Gini([0, 0, 0, 0]).ShouldBe(0);
    }

    [Fact]
    public void A_member_who_left_drops_out_of_active_members()
    {
        var figures = Over12Weeks(AChapter("ABCD").Referral("A→B", 1).Referral("B→A", 2).Left('D', 30));

        figures.ActiveMembers.ShouldBe(3);
        figures.Circulation.ShouldBe(Math.Round(2 / 3.0, 4));
    }

    [Fact]
    public void A_member_who_joined_after_the_window_is_not_counted()
    {
        var figures = Circulation.Compute(AChapter("AB").Joined('C', 100).Referral("A→B", 1).Facts(), Day0, Day0.AddDays(84));
        figures.ActiveMembers.ShouldBe(2);
    }

    [Fact]
    public void Won_business_thanked_within_14_days_closes_the_loop_of_thanks()
    {
        var figures = Over12Weeks(AChapter("ABC")
            .WonAndThanked("A→B", 1, 1000m, "SEK", thankedAfterDays: 2)
            .WonAndThanked("B→C", 2, 500m, "EUR", thankedAfterDays: 20)
            .WonAndThanked("C→A", 3, 250m, "SEK", thankedAfterDays: null));

        figures.ClosedLoopShare.ShouldBe(Math.Round(1 / 3.0, 4));
        figures.ClosedWonValue.ShouldBe([new Money(500m, "EUR"), new Money(1250m, "SEK")]);
        figures.MedianHoursToAccept.ShouldBe(5);
    }

    [Fact]
    public void Nothing_after_the_window_changes_its_figures()
    {
        var given = AChapter("ABC").Referral("A→B", 1).Referral("B→C", 2).Referral("C→A", 90);
        var figures = Over12Weeks(given);

        figures.LoopClosures.ShouldBe(0);
        figures.GivingMembers.ShouldBe(2);
    }

    [Fact]
    public void An_empty_window_measures_nothing_rather_than_zero()
    {
        var figures = Over12Weeks(AChapter("AB"));

        figures.Circulation.ShouldBe(0);
        figures.CycleShare.ShouldBeNull();
        figures.PayItForwardRate.ShouldBeNull();
        figures.LoopClosures.ShouldBeNull();
        figures.MedianReach.ShouldBeNull();
        figures.ClosedWonValue.ShouldBeEmpty();
    }

    [Fact]
    public void A_longer_time_ordered_loop_marks_everyone_on_it()
    {
        var figures = Over12Weeks(AChapter("ABCDE").Referral("A→B", 1).Referral("B→C", 2).Referral("C→D", 3).Referral("D→A", 4).Referral("E→A", 5));

        figures.LoopClosures.ShouldBe(Math.Round(4 / 5.0, 4));
        figures.CycleShare.ShouldBe(Math.Round(4 / 5.0, 4));
    }
}
