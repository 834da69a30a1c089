using Chapter.Domain.Referrals;
using Chapter.Domain.Shared;
using Chapter.Domain.Visitors;

namespace Chapter.Domain.Tests;

public sealed class VisitorSpecs
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 17, 7, 0, 0, TimeSpan.Zero);
    private static readonly Guid Id = Guid.Parse("5f1a0f0e-0000-4000-8000-000000000001");
    private static readonly MemberStanding Anna = new(Guid.Parse("00000000-0000-0000-0000-00000000000a"), "stockholm-city", true);
    private static readonly MemberStanding Newcomer = new(Guid.Parse("00000000-0000-0000-0000-00000000000f"), "stockholm-city", true);
    private const string Sealed = "c2VhbGVkIHZpc2l0b3I=";

    private static RegisterVisitor Register(bool contact = true, bool consent = true, MemberStanding? by = null) =>
        new(Id, "stockholm-city", Sealed, contact, "Florist", by ?? Anna, null, consent, T0);

    private static readonly VisitorRegistered Registered = new(Id, "stockholm-city", Sealed, "Florist", Anna.MemberId, null, true, T0);

    private static VisitorEvent[] Decide(VisitorEvent[] given, VisitorCommand when) =>
        VisitorDecider.Decide(when, given.Aggregate(Visitor.Initial, Visitor.Evolve));

    [Fact]
    public void A_member_registers_the_visitor_they_invited() => Decide([], Register()).ShouldBe([Registered]);

    [Fact]
    public void Contact_details_need_the_visitors_consent_the_name_alone_does_not()
    {
        Should.Throw<RuleBroken>(() => Decide([], Register(consent: false))).Field.ShouldBe("consent");
        Decide([], Register(contact: false, consent: false)).ShouldBe([Registered with { Consent = false }]);
    }

    [Fact]
    public void The_inviting_member_must_be_an_active_member_of_the_chapter() =>
        Should.Throw<RuleBroken>(() => Decide([], Register(by: Anna with { Active = false }))).Field.ShouldBe("invitedBy");

    [Fact]
    public void Registering_again_changes_nothing() => Decide([Registered], Register()).ShouldBeEmpty();

    [Fact]
    public void The_visitor_is_followed_up_step_by_step_and_one_who_joined_links_to_their_membership()
    {
        var thanked = new VisitorFollowedUp(Id, FollowUpStep.Thanked, "Sent a note", null, T0.AddDays(1));
        Decide([Registered], new FollowUpVisitor(Id, FollowUpStep.Thanked, "Sent a note", null, T0.AddDays(1))).ShouldBe([thanked]);
        Decide([Registered, thanked], new FollowUpVisitor(Id, FollowUpStep.Thanked, "Sent a note", null, T0.AddDays(2))).ShouldBeEmpty();
        Decide([Registered, thanked], new FollowUpVisitor(Id, FollowUpStep.Joined, null, Newcomer, T0.AddDays(20)))
            .ShouldBe([new VisitorFollowedUp(Id, FollowUpStep.Joined, null, Newcomer.MemberId, T0.AddDays(20))]);
        Should.Throw<RuleBroken>(() => Decide([Registered], new FollowUpVisitor(Id, FollowUpStep.Joined, null, null, T0))).Field.ShouldBe("memberId");
        Should.Throw<RuleBroken>(() => Decide([Registered], new FollowUpVisitor(Id, FollowUpStep.Applied, null, Newcomer, T0))).Field.ShouldBe("memberId");
        Should.Throw<NotFound>(() => Decide([], new FollowUpVisitor(Id, FollowUpStep.Thanked, null, null, T0)));
    }
}
