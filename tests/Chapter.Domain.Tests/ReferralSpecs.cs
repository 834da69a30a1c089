using Chapter.Domain.Referrals;
using Chapter.Domain.Shared;

namespace Chapter.Domain.Tests;

public sealed class ReferralSpecs
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 16, 7, 30, 0, TimeSpan.Zero);
    private static readonly Guid Id = Guid.Parse("2b6b3c43-0d1e-4c33-9f0f-59a0b2f3a001");
    private static readonly MemberStanding Anna = new(Guid.Parse("00000000-0000-0000-0000-00000000000a"), "stockholm-city", true);
    private static readonly MemberStanding Bram = new(Guid.Parse("00000000-0000-0000-0000-00000000000b"), "stockholm-city", true);
    private static readonly MemberStanding Chi = new(Guid.Parse("00000000-0000-0000-0000-00000000000c"), "stockholm-city", true);
    // The domain only carries the sealed details; what they say is none of its business.
    private const string SealedProspect = "c2VhbGVkIGRldGFpbHM=";

    private static GiveReferral Give(
        MemberStanding? giver = null, MemberStanding? receiver = null, bool consent = true, string sealedProspect = SealedProspect,
        string need = "New office lease", string language = "sv") =>
        new(Id, "stockholm-city", giver ?? Anna, receiver ?? Bram, consent, sealedProspect, need, Temperature.Warm, language, T0);

    private static readonly ReferralGiven Given = new(Id, "stockholm-city", Anna.MemberId, Bram.MemberId, true, SealedProspect, "New office lease", Temperature.Warm, "sv", T0);
    private static readonly ProspectErased Erased = new(Id, T0.AddDays(30));
    private static readonly ReferralAccepted Accepted = new(Id, Bram.MemberId, T0.AddHours(2));
    private static readonly ReferralDeclined Declined = new(Id, Bram.MemberId, "Outside my area", T0.AddHours(2));
    private static readonly ReferralClosed ClosedWon = new(Id, Bram.MemberId, Outcome.Won, new Money(12000m, "SEK"), T0.AddDays(10));
    private static readonly ReferralThanked Thanked = new(Id, Bram.MemberId, "Signed a two-year lease, thank you!", T0.AddDays(11));

    private static void Spec(ReferralEvent[] given, ReferralCommand when, params ReferralEvent[] then) =>
        ReferralDecider.Decide(when, given.Aggregate(Referral.Initial, Referral.Evolve)).ShouldBe(then);

    private static TError SpecThrows<TError>(ReferralEvent[] given, ReferralCommand when) where TError : Exception =>
        Should.Throw<TError>(() => ReferralDecider.Decide(when, given.Aggregate(Referral.Initial, Referral.Evolve)));

    [Fact]
    public void A_member_gives_a_referral_with_the_prospects_consent_and_the_introductions_language() =>
        Spec([], Give(), Given);

    [Fact]
    public void Giving_the_same_referral_again_changes_nothing() => Spec([Given], Give());

    [Fact]
    public void Giving_the_same_referral_again_after_it_moved_on_still_changes_nothing() =>
        Spec([Given, Accepted, ClosedWon, Thanked], Give());

    [Fact]
    public void Giving_another_referral_under_an_existing_id_is_a_conflict() =>
        SpecThrows<StateConflict>([Given], Give(need: "Something else"));

    [Fact]
    public void Giving_the_same_referral_with_other_prospect_details_is_a_conflict() =>
        SpecThrows<StateConflict>([Given], Give(sealedProspect: "b3RoZXIgZGV0YWlscw=="));

    [Fact]
    public void The_giver_erases_the_prospects_details() =>
        Spec([Given, Accepted], new EraseProspect(Id, Anna.MemberId, MemberLeadsChapter: false, T0.AddDays(30)), Erased);

    [Fact]
    public void A_leader_erases_the_prospects_details_of_any_referral_in_the_chapter() =>
        Spec([Given], new EraseProspect(Id, Chi.MemberId, MemberLeadsChapter: true, T0.AddDays(30)), Erased);

    [Fact]
    public void Neither_the_receiver_nor_another_member_may_erase_them()
    {
        SpecThrows<NotPermitted>([Given], new EraseProspect(Id, Bram.MemberId, false, T0.AddDays(30)));
        SpecThrows<NotPermitted>([Given], new EraseProspect(Id, Chi.MemberId, false, T0.AddDays(30)));
    }

    [Fact]
    public void Erasing_again_changes_nothing() =>
        Spec([Given, Erased], new EraseProspect(Id, Anna.MemberId, false, T0.AddDays(31)));

    [Fact]
    public void Erasing_the_prospect_of_an_unknown_referral_is_not_found() =>
        SpecThrows<NotFound>([], new EraseProspect(Id, Anna.MemberId, true, T0));

    [Fact]
    public void The_referral_goes_on_after_its_prospect_was_erased() =>
        Spec([Given, Erased], new AcceptReferral(Id, Bram.MemberId, T0.AddDays(31)), new ReferralAccepted(Id, Bram.MemberId, T0.AddDays(31)));

    [Fact]
    public void Giving_again_after_the_prospect_was_erased_cannot_bring_the_details_back() =>
        SpecThrows<StateConflict>([Given, Erased], Give());

    private static readonly ReferralIntroduced Introduced = new(Id, Anna.MemberId, "You two should talk!", T0.AddHours(1));

    [Fact]
    public void The_giver_asks_for_the_introduction() =>
        Spec([Given], new IntroduceReferral(Id, Anna.MemberId, "You two should talk!", T0.AddHours(1)), Introduced);

    [Fact]
    public void The_introduction_goes_out_once_whatever_is_asked_later() =>
        Spec([Given, Introduced, Accepted, ClosedWon], new IntroduceReferral(Id, Anna.MemberId, "Again?", T0.AddDays(20)));

    [Fact]
    public void An_accepted_referral_can_still_be_introduced() =>
        Spec([Given, Accepted], new IntroduceReferral(Id, Anna.MemberId, null, T0.AddHours(3)), new ReferralIntroduced(Id, Anna.MemberId, null, T0.AddHours(3)));

    [Fact]
    public void Only_the_giver_asks_for_the_introduction()
    {
        SpecThrows<NotPermitted>([Given], new IntroduceReferral(Id, Bram.MemberId, null, T0));
        SpecThrows<NotPermitted>([Given], new IntroduceReferral(Id, Chi.MemberId, null, T0));
    }

    [Fact]
    public void Nobody_is_introduced_once_the_prospect_is_erased_or_the_receiver_declined()
    {
        SpecThrows<StateConflict>([Given, Erased], new IntroduceReferral(Id, Anna.MemberId, null, T0.AddDays(31)));
        SpecThrows<StateConflict>([Given, Declined], new IntroduceReferral(Id, Anna.MemberId, null, T0.AddDays(1)));
        SpecThrows<NotFound>([], new IntroduceReferral(Id, Anna.MemberId, null, T0));
    }

    [Fact]
    public void A_member_cannot_refer_to_themselves() =>
        SpecThrows<RuleBroken>([], Give(receiver: Anna)).Field.ShouldBe("receiverId");

    [Fact]
    public void A_prospect_is_never_passed_on_without_consent() =>
        SpecThrows<RuleBroken>([], Give(consent: false)).Field.ShouldBe("prospect.consent");

    [Fact]
    public void The_introductions_language_must_be_named() =>
        SpecThrows<RuleBroken>([], Give(language: " ")).Field.ShouldBe("language");

    [Fact]
    public void A_giver_who_left_cannot_give() =>
        SpecThrows<RuleBroken>([], Give(giver: Anna with { Active = false })).Field.ShouldBe("giverId");

    [Fact]
    public void A_receiver_who_left_cannot_receive() =>
        SpecThrows<RuleBroken>([], Give(receiver: Bram with { Active = false })).Field.ShouldBe("receiverId");

    [Fact]
    public void Giver_and_receiver_must_belong_to_the_referrals_chapter() =>
        SpecThrows<RuleBroken>([], Give(receiver: Bram with { ChapterId = "amsterdam-zuid" })).Field.ShouldBe("receiverId");

    [Fact]
    public void The_receiver_accepts() =>
        Spec([Given], new AcceptReferral(Id, Bram.MemberId, T0.AddHours(2)), Accepted);

    [Fact]
    public void Accepting_again_changes_nothing() =>
        Spec([Given, Accepted], new AcceptReferral(Id, Bram.MemberId, T0.AddHours(5)));

    [Fact]
    public void Only_the_receiver_may_accept() =>
        SpecThrows<NotPermitted>([Given], new AcceptReferral(Id, Chi.MemberId, T0));

    [Fact]
    public void The_giver_may_not_accept_their_own_referral() =>
        SpecThrows<NotPermitted>([Given], new AcceptReferral(Id, Anna.MemberId, T0));

    [Fact]
    public void A_referral_that_was_never_given_cannot_be_accepted() =>
        SpecThrows<NotFound>([], new AcceptReferral(Id, Bram.MemberId, T0));

    [Fact]
    public void The_receiver_declines_with_a_reason() =>
        Spec([Given], new DeclineReferral(Id, Bram.MemberId, "Outside my area", T0.AddHours(2)), Declined);

    [Fact]
    public void Declining_again_with_the_same_reason_changes_nothing() =>
        Spec([Given, Declined], new DeclineReferral(Id, Bram.MemberId, "Outside my area", T0.AddHours(3)));

    [Fact]
    public void Declining_again_with_another_reason_is_a_conflict() =>
        SpecThrows<StateConflict>([Given, Declined], new DeclineReferral(Id, Bram.MemberId, "Too busy", T0));

    [Fact]
    public void A_declined_referral_cannot_be_accepted() =>
        SpecThrows<StateConflict>([Given, Declined], new AcceptReferral(Id, Bram.MemberId, T0));

    [Fact]
    public void An_accepted_referral_cannot_be_declined() =>
        SpecThrows<StateConflict>([Given, Accepted], new DeclineReferral(Id, Bram.MemberId, "Changed my mind", T0));

    [Fact]
    public void The_receiver_closes_business_won_with_its_value() =>
        Spec([Given, Accepted], new CloseReferral(Id, Bram.MemberId, Outcome.Won, new Money(12000m, "SEK"), T0.AddDays(10)), ClosedWon);

    [Fact]
    public void The_receiver_closes_business_lost_without_a_value() =>
        Spec([Given, Accepted], new CloseReferral(Id, Bram.MemberId, Outcome.Lost, null, T0.AddDays(3)),
            new ReferralClosed(Id, Bram.MemberId, Outcome.Lost, null, T0.AddDays(3)));

    [Fact]
    public void Business_won_needs_a_value() =>
        SpecThrows<RuleBroken>([Given, Accepted], new CloseReferral(Id, Bram.MemberId, Outcome.Won, null, T0)).Field.ShouldBe("value");

    [Fact]
    public void Business_lost_has_no_value() =>
        SpecThrows<RuleBroken>([Given, Accepted], new CloseReferral(Id, Bram.MemberId, Outcome.Lost, new Money(1m, "SEK"), T0)).Field.ShouldBe("value");

    [Fact]
    public void A_value_cannot_be_negative() =>
        SpecThrows<RuleBroken>([Given, Accepted], new CloseReferral(Id, Bram.MemberId, Outcome.Won, new Money(-1m, "SEK"), T0)).Field.ShouldBe("value.amount");

    [Fact]
    public void A_referral_must_be_accepted_before_it_is_closed() =>
        SpecThrows<StateConflict>([Given], new CloseReferral(Id, Bram.MemberId, Outcome.Lost, null, T0));

    [Fact]
    public void Closing_again_with_the_same_outcome_and_value_changes_nothing() =>
        Spec([Given, Accepted, ClosedWon], new CloseReferral(Id, Bram.MemberId, Outcome.Won, new Money(12000m, "SEK"), T0.AddDays(12)));

    [Fact]
    public void Closing_again_with_another_value_is_a_conflict() =>
        SpecThrows<StateConflict>([Given, Accepted, ClosedWon], new CloseReferral(Id, Bram.MemberId, Outcome.Won, new Money(1m, "SEK"), T0));

    [Fact]
    public void Only_the_receiver_may_close() =>
        SpecThrows<NotPermitted>([Given, Accepted], new CloseReferral(Id, Anna.MemberId, Outcome.Lost, null, T0));

    [Fact]
    public void The_receiver_thanks_the_giver_after_closing() =>
        Spec([Given, Accepted, ClosedWon], new ThankGiver(Id, Bram.MemberId, Thanked.Note, Thanked.ThankedAt), Thanked);

    [Fact]
    public void The_receiver_may_thank_for_the_introduction_before_closing_and_close_afterwards()
    {
        var thanks = Thanked with { ThankedAt = T0.AddHours(3) };
        Spec([Given, Accepted], new ThankGiver(Id, Bram.MemberId, thanks.Note, thanks.ThankedAt), thanks);
        Spec([Given, Accepted, thanks], new CloseReferral(Id, Bram.MemberId, Outcome.Won, new Money(12000m, "SEK"), T0.AddDays(10)), ClosedWon);
    }

    [Fact]
    public void Thanking_again_with_the_same_note_changes_nothing() =>
        Spec([Given, Accepted, ClosedWon, Thanked], new ThankGiver(Id, Bram.MemberId, Thanked.Note, T0.AddDays(12)));

    [Fact]
    public void The_giver_is_thanked_once() =>
        SpecThrows<StateConflict>([Given, Accepted, ClosedWon, Thanked], new ThankGiver(Id, Bram.MemberId, "Another note", T0));

    [Fact]
    public void A_referral_not_yet_accepted_cannot_be_thanked_for() =>
        SpecThrows<StateConflict>([Given], new ThankGiver(Id, Bram.MemberId, "Thanks", T0));

    [Fact]
    public void A_declined_referral_cannot_be_thanked_for() =>
        SpecThrows<StateConflict>([Given, Declined], new ThankGiver(Id, Bram.MemberId, "Thanks", T0));

    [Fact]
    public void Only_the_receiver_thanks() =>
        SpecThrows<NotPermitted>([Given, Accepted], new ThankGiver(Id, Chi.MemberId, "Thanks", T0));

    // Corrections: the receiver or a leader sets a closed or thanked referral right, within 30 days of the step, saying why.

    private static readonly Guid Leader = Guid.Parse("00000000-0000-0000-0000-0000000000c1");

    private static CorrectReferral Correct(Guid? by = null, bool leader = false, Outcome? outcome = null, Money? value = null, string? note = null,
        string reason = "Typed one zero too many", DateTimeOffset? at = null) =>
        new(Id, by ?? Bram.MemberId, leader, outcome, value, note, reason, at ?? T0.AddDays(12));

    [Fact]
    public void The_receiver_corrects_the_value_of_business_won() =>
        Spec([Given, Accepted, ClosedWon], Correct(value: new Money(1200m, "SEK")),
            new ReferralCorrected(Id, Bram.MemberId, Outcome.Won, new Money(1200m, "SEK"), null, "Typed one zero too many", T0.AddDays(12)));

    [Fact]
    public void Business_won_corrected_to_lost_has_no_value_any_more() =>
        Spec([Given, Accepted, ClosedWon], Correct(outcome: Outcome.Lost, reason: "The client signed elsewhere"),
            new ReferralCorrected(Id, Bram.MemberId, Outcome.Lost, null, null, "The client signed elsewhere", T0.AddDays(12)));

    [Fact]
    public void Business_lost_corrected_to_won_needs_its_value()
    {
        var lost = ClosedWon with { Outcome = Outcome.Lost, Value = null };
        SpecThrows<RuleBroken>([Given, Accepted, lost], Correct(outcome: Outcome.Won)).Field.ShouldBe("value");
        Spec([Given, Accepted, lost], Correct(outcome: Outcome.Won, value: new Money(5000m, "SEK")),
            new ReferralCorrected(Id, Bram.MemberId, Outcome.Won, new Money(5000m, "SEK"), null, "Typed one zero too many", T0.AddDays(12)));
    }

    [Fact]
    public void A_value_for_business_lost_is_refused() =>
        SpecThrows<RuleBroken>([Given, Accepted, ClosedWon], Correct(outcome: Outcome.Lost, value: new Money(1m, "SEK"))).Field.ShouldBe("value");

    [Fact]
    public void The_thank_you_note_is_corrected() =>
        Spec([Given, Accepted, ClosedWon, Thanked], Correct(note: "Signed a three-year lease, thank you!", reason: "It was three years"),
            new ReferralCorrected(Id, Bram.MemberId, null, null, "Signed a three-year lease, thank you!", "It was three years", T0.AddDays(12)));

    [Fact]
    public void A_leader_corrects_any_referral_of_the_chapter() =>
        Spec([Given, Accepted, ClosedWon], Correct(by: Chi.MemberId, leader: true, value: new Money(1200m, "SEK")),
            new ReferralCorrected(Id, Chi.MemberId, Outcome.Won, new Money(1200m, "SEK"), null, "Typed one zero too many", T0.AddDays(12)));

    [Fact]
    public void Neither_the_giver_nor_another_member_corrects_it()
    {
        SpecThrows<NotPermitted>([Given, Accepted, ClosedWon], Correct(by: Anna.MemberId, value: new Money(1m, "SEK")));
        SpecThrows<NotPermitted>([Given, Accepted, ClosedWon], Correct(by: Chi.MemberId, value: new Money(1m, "SEK")));
    }

    [Fact]
    public void After_thirty_days_the_step_stays_as_it_is()
    {
        SpecThrows<RuleBroken>([Given, Accepted, ClosedWon], Correct(value: new Money(1m, "SEK"), at: ClosedWon.ClosedAt.AddDays(30).AddMinutes(1)))
            .Field.ShouldBe("value");
        SpecThrows<RuleBroken>([Given, Accepted, ClosedWon, Thanked], Correct(note: "Other", at: Thanked.ThankedAt.AddDays(31))).Field.ShouldBe("thankNote");
    }

    [Fact]
    public void The_thirty_days_run_from_the_step_not_from_the_last_correction()
    {
        var first = new ReferralCorrected(Id, Bram.MemberId, Outcome.Won, new Money(1200m, "SEK"), null, "One zero too many", T0.AddDays(29));
        SpecThrows<RuleBroken>([Given, Accepted, ClosedWon, first], Correct(value: new Money(1300m, "SEK"), at: T0.AddDays(41)));
    }

    [Fact]
    public void A_correction_needs_a_reason_and_something_to_correct()
    {
        SpecThrows<RuleBroken>([Given, Accepted, ClosedWon], Correct(value: new Money(1m, "SEK"), reason: " ")).Field.ShouldBe("reason");
        SpecThrows<RuleBroken>([Given, Accepted, ClosedWon], Correct()).Field.ShouldBe("outcome");
    }

    [Fact]
    public void Only_what_was_recorded_can_be_corrected()
    {
        SpecThrows<StateConflict>([Given, Accepted], Correct(value: new Money(1m, "SEK")));
        SpecThrows<StateConflict>([Given, Accepted, ClosedWon], Correct(note: "Thanks"));
        SpecThrows<NotFound>([], Correct(value: new Money(1m, "SEK")));
    }

    [Fact]
    public void The_same_correction_again_changes_nothing()
    {
        var corrected = new ReferralCorrected(Id, Bram.MemberId, Outcome.Won, new Money(1200m, "SEK"), null, "Typed one zero too many", T0.AddDays(12));
        Spec([Given, Accepted, ClosedWon, corrected], Correct(value: new Money(1200m, "SEK"), at: T0.AddDays(13)));
    }

    [Fact]
    public void A_correction_changes_what_the_referral_says_and_keeps_when_it_happened()
    {
        var corrected = new ReferralCorrected(Id, Bram.MemberId, Outcome.Lost, null, "Other note", "Wrong", T0.AddDays(12));
        var state = new ReferralEvent[] { Given, Accepted, ClosedWon, Thanked, corrected }.Aggregate(Referral.Initial, Referral.Evolve)
            .ShouldBeOfType<Referral.Closed>();
        state.Closing.ShouldBe(ClosedWon with { Outcome = Outcome.Lost, Value = null });
        state.Thanks.ShouldBe(Thanked with { Note = "Other note" });
    }

    // Withdrawals and redirects: the giver takes back, or passes on, a referral the receiver has not accepted.

    private static readonly ReferralWithdrawn Withdrawn = new(Id, Anna.MemberId, "Gave it to the wrong Bram", T0.AddHours(1));
    private static readonly ReferralRedirected RedirectedToChi = new(Id, Anna.MemberId, Bram.MemberId, Chi.MemberId, T0.AddHours(1));

    [Fact]
    public void The_giver_withdraws_a_referral_not_yet_accepted() =>
        Spec([Given], new WithdrawReferral(Id, Anna.MemberId, "Gave it to the wrong Bram", T0.AddHours(1)), Withdrawn);

    [Fact]
    public void Withdrawing_again_changes_nothing() =>
        Spec([Given, Withdrawn], new WithdrawReferral(Id, Anna.MemberId, null, T0.AddHours(2)));

    [Fact]
    public void Only_the_giver_withdraws() =>
        SpecThrows<NotPermitted>([Given], new WithdrawReferral(Id, Bram.MemberId, null, T0.AddHours(1)));

    [Fact]
    public void An_accepted_declined_or_closed_referral_is_not_withdrawn()
    {
        SpecThrows<StateConflict>([Given, Accepted], new WithdrawReferral(Id, Anna.MemberId, null, T0.AddHours(3)));
        SpecThrows<StateConflict>([Given, Declined], new WithdrawReferral(Id, Anna.MemberId, null, T0.AddHours(3)));
        SpecThrows<StateConflict>([Given, Accepted, ClosedWon], new WithdrawReferral(Id, Anna.MemberId, null, T0.AddDays(11)));
    }

    [Fact]
    public void A_withdrawn_referral_takes_no_further_step()
    {
        SpecThrows<StateConflict>([Given, Withdrawn], new AcceptReferral(Id, Bram.MemberId, T0.AddHours(2)));
        SpecThrows<StateConflict>([Given, Withdrawn], new IntroduceReferral(Id, Anna.MemberId, null, T0.AddHours(2)));
        SpecThrows<StateConflict>([Given, Withdrawn], new RedirectReferral(Id, Anna.MemberId, Chi, T0.AddHours(2)));
    }

    [Fact]
    public void The_giver_passes_a_referral_not_yet_accepted_to_another_member() =>
        Spec([Given], new RedirectReferral(Id, Anna.MemberId, Chi, T0.AddHours(1)), RedirectedToChi);

    [Fact]
    public void The_new_receiver_takes_the_steps_and_the_first_one_no_longer_can()
    {
        Spec([Given, RedirectedToChi], new AcceptReferral(Id, Chi.MemberId, T0.AddHours(2)), new ReferralAccepted(Id, Chi.MemberId, T0.AddHours(2)));
        SpecThrows<NotPermitted>([Given, RedirectedToChi], new AcceptReferral(Id, Bram.MemberId, T0.AddHours(2)));
    }

    [Fact]
    public void Passing_it_again_to_the_same_member_changes_nothing() =>
        Spec([Given, RedirectedToChi], new RedirectReferral(Id, Anna.MemberId, Chi, T0.AddHours(2)));

    [Fact]
    public void A_referral_passed_on_is_still_the_same_referral_when_its_give_is_retried() =>
        Spec([Given, RedirectedToChi], Give());

    [Fact]
    public void It_goes_only_to_an_active_member_of_the_chapter_other_than_the_giver()
    {
        SpecThrows<RuleBroken>([Given], new RedirectReferral(Id, Anna.MemberId, Anna, T0.AddHours(1))).Field.ShouldBe("receiverId");
        SpecThrows<RuleBroken>([Given], new RedirectReferral(Id, Anna.MemberId, Chi with { Active = false }, T0.AddHours(1))).Field.ShouldBe("receiverId");
        SpecThrows<RuleBroken>([Given], new RedirectReferral(Id, Anna.MemberId, Chi with { ChapterId = "other" }, T0.AddHours(1))).Field.ShouldBe("receiverId");
    }

    [Fact]
    public void Only_the_giver_passes_it_on_and_only_before_it_is_accepted()
    {
        SpecThrows<NotPermitted>([Given], new RedirectReferral(Id, Bram.MemberId, Chi, T0.AddHours(1)));
        SpecThrows<StateConflict>([Given, Accepted], new RedirectReferral(Id, Anna.MemberId, Chi, T0.AddHours(3)));
    }
}
