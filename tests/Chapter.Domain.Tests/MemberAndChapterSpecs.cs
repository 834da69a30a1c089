using Chapter.Domain.Chapters;
using Chapter.Domain.OneToOnes;
using Chapter.Domain.Referrals;
using Chapter.Domain.Members;
using Chapter.Domain.Shared;

namespace Chapter.Domain.Tests;

public sealed class MemberAndChapterSpecs
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 16, 7, 30, 0, TimeSpan.Zero);
    private static readonly Guid Id = Guid.Parse("00000000-0000-0000-0000-00000000000a");
    private static readonly MemberJoined Joined = new(Id, "hanoi-1", "Nguyễn Văn An", "Accountant", ["vi", "en"], T0);

    private static void Spec(MemberEvent[] given, MemberCommand when, params MemberEvent[] then) =>
        MemberDecider.Decide(when, given.Aggregate(Member.Initial, Member.Evolve)).ShouldBe(then);

    [Fact]
    public void A_member_joins_a_chapter()
    {
        var events = MemberDecider.Decide(new JoinChapter(Id, "hanoi-1", "Nguyễn Văn An", "Accountant", Joined.Languages, T0), Member.Initial);
        events.ShouldHaveSingleItem().ShouldBe(Joined);
    }

    [Fact]
    public void The_same_member_cannot_join_twice() =>
        Should.Throw<StateConflict>(() => MemberDecider.Decide(new JoinChapter(Id, "hanoi-1", "An", "Accountant", ["vi"], T0), new Member.Active(Joined)));

    [Fact]
    public void A_member_joins_as_a_member_unless_made_a_leader()
    {
        ((MemberJoined)MemberDecider.Decide(new JoinChapter(Id, "hanoi-1", "An", "Accountant", ["vi"], T0), Member.Initial).Single())
            .Role.ShouldBe(MemberRole.Member);
        ((MemberJoined)MemberDecider.Decide(new JoinChapter(Id, "hanoi-1", "An", "Accountant", ["vi"], T0, MemberRole.Leader), Member.Initial).Single())
            .Role.ShouldBe(MemberRole.Leader);
    }

    [Fact]
    public void A_leader_corrects_a_members_details_and_role()
    {
        var change = new ChangeMemberDetails(Id, "Nguyễn Văn An", "Tax advisor", ["vi"], MemberRole.Leader, T0.AddDays(1));
        var changed = (MemberDetailsChanged)MemberDecider.Decide(change, new Member.Active(Joined)).Single();
        (changed.Profession, changed.Role).ShouldBe(("Tax advisor", MemberRole.Leader));
        var after = Member.Evolve(new Member.Active(Joined), changed);
        MemberDecider.Decide(change, after).ShouldBeEmpty();
        Should.Throw<StateConflict>(() => MemberDecider.Decide(change, new Member.Left(Joined, new MemberLeft(Id, T0))));
    }

    [Fact]
    public void An_active_member_leaves() => Spec([Joined], new LeaveChapter(Id, T0.AddDays(1)), new MemberLeft(Id, T0.AddDays(1)));

    [Fact]
    public void Leaving_again_changes_nothing() => Spec([Joined, new MemberLeft(Id, T0.AddDays(1))], new LeaveChapter(Id, T0.AddDays(2)));

    [Fact]
    public void Someone_who_never_joined_cannot_leave() =>
        Should.Throw<NotFound>(() => MemberDecider.Decide(new LeaveChapter(Id, T0), Member.Initial));

    [Fact]
    public void A_member_who_left_is_forgotten_once() =>
        Spec([Joined, new MemberLeft(Id, T0.AddDays(1))], new EraseMemberPersonalData(Id, T0.AddDays(2)), new MemberPersonalDataErased(Id, T0.AddDays(2)));

    [Fact]
    public void Forgetting_a_forgotten_member_again_changes_nothing() =>
        Spec([Joined, new MemberLeft(Id, T0.AddDays(1)), new MemberPersonalDataErased(Id, T0.AddDays(2))], new EraseMemberPersonalData(Id, T0.AddDays(3)));

    [Fact]
    public void A_member_still_in_the_chapter_is_not_forgotten()
    {
        Should.Throw<StateConflict>(() => MemberDecider.Decide(new EraseMemberPersonalData(Id, T0), new Member.Active(Joined)));
        Should.Throw<NotFound>(() => MemberDecider.Decide(new EraseMemberPersonalData(Id, T0), Member.Initial));
    }

    [Fact]
    public void A_chapter_is_created_once()
    {
        var create = new CreateChapter("hanoi-1", "Hà Nội 1", "Asia/Ho_Chi_Minh", "VND", T0);
        var created = ChapterDecider.Decide(create, ChapterState.Initial).ShouldHaveSingleItem();
        Should.Throw<StateConflict>(() => ChapterDecider.Decide(create, ChapterState.Evolve(ChapterState.Initial, created)));
    }

    [Theory]
    [InlineData("sv", "sv")]
    [InlineData("PT-br", "pt-BR")]
    [InlineData("zh-hant-tw", "zh-Hant-TW")]
    [InlineData("es-419", "es-419")]
    [InlineData("english", null)]
    [InlineData("e", null)]
    [InlineData("sv_SE", null)]
    [InlineData("", null)]
    public void Language_tags_are_checked_and_put_in_canonical_case(string tag, string? expected) =>
        LanguageTag.Normalize(tag).ShouldBe(expected);

    [Theory]
    [InlineData("SEK", true)]
    [InlineData("EUR", true)]
    [InlineData("VND", true)]
    [InlineData("sek", false)]
    [InlineData("XYZ", false)]
    public void Currencies_are_iso_4217_codes(string code, bool known) => Iso4217.IsKnown(code).ShouldBe(known);
}

public sealed class OneToOneSpecs
{
    private static readonly DateTimeOffset Now = new(2026, 11, 20, 9, 0, 0, TimeSpan.Zero);
    private static readonly Guid Id = Guid.Parse("00000000-0000-0000-0000-0000000000f1");
    private static readonly MemberStanding A = new(Guid.Parse("00000000-0000-0000-0000-00000000000a"), "c", true);
    private static readonly MemberStanding B = new(Guid.Parse("00000000-0000-0000-0000-00000000000b"), "c", true);

    private static RecordOneToOne Record(MemberStanding? b = null, DateOnly? date = null) =>
        new(Id, "c", A, b ?? B, date ?? new DateOnly(2026, 11, 19), "Coffee at the station", new DateOnly(2026, 11, 20), Now);

    [Fact]
    public void Two_members_record_a_one_to_one_they_held() =>
        OneToOneDecider.Decide(Record(), OneToOne.Initial)
            .ShouldBe([new OneToOneHeld(Id, "c", A.MemberId, B.MemberId, new DateOnly(2026, 11, 19), "Coffee at the station", Now)]);

    [Fact]
    public void Recording_it_again_changes_nothing()
    {
        var held = (OneToOneHeld)OneToOneDecider.Decide(Record(), OneToOne.Initial).Single();
        OneToOneDecider.Decide(Record(), new OneToOne.Recorded(held)).ShouldBeEmpty();
    }

    [Fact]
    public void A_one_to_one_needs_two_members() =>
        Should.Throw<RuleBroken>(() => OneToOneDecider.Decide(Record(b: A), OneToOne.Initial)).Field.ShouldBe("memberB");

    [Fact]
    public void A_one_to_one_in_the_future_is_not_recorded_yet() =>
        Should.Throw<RuleBroken>(() => OneToOneDecider.Decide(Record(date: new DateOnly(2026, 11, 21)), OneToOne.Initial)).Field.ShouldBe("date");

    [Fact]
    public void A_member_who_left_holds_no_more_one_to_ones() =>
        Should.Throw<RuleBroken>(() => OneToOneDecider.Decide(Record(b: B with { Active = false }), OneToOne.Initial)).Field.ShouldBe("memberB");

    private static readonly OneToOneHeld Held = new(Id, "c", A.MemberId, B.MemberId, new DateOnly(2026, 11, 19), "Coffee at the station", Now);
    private static readonly Guid Leader = Guid.Parse("00000000-0000-0000-0000-0000000000c1");

    private static OneToOneEvent[] Decide(OneToOneEvent[] given, OneToOneCommand when) =>
        OneToOneDecider.Decide(when, given.Aggregate(OneToOne.Initial, OneToOne.Evolve));

    [Fact]
    public void Either_member_takes_back_a_one_to_one_recorded_by_mistake()
    {
        Decide([Held], new WithdrawOneToOne(Id, A.MemberId, false, Now.AddMinutes(1))).ShouldBe([new OneToOneWithdrawn(Id, A.MemberId, Now.AddMinutes(1))]);
        Decide([Held], new WithdrawOneToOne(Id, B.MemberId, false, Now.AddDays(6))).ShouldBe([new OneToOneWithdrawn(Id, B.MemberId, Now.AddDays(6))]);
    }

    [Fact]
    public void A_leader_takes_back_any_one_to_one_of_the_chapter() =>
        Decide([Held], new WithdrawOneToOne(Id, Leader, true, Now.AddDays(1))).ShouldBe([new OneToOneWithdrawn(Id, Leader, Now.AddDays(1))]);

    [Fact]
    public void Another_member_may_not_take_it_back() =>
        Should.Throw<NotPermitted>(() => Decide([Held], new WithdrawOneToOne(Id, Leader, false, Now.AddDays(1))));

    [Fact]
    public void After_seven_days_a_one_to_one_stays() =>
        Should.Throw<StateConflict>(() => Decide([Held], new WithdrawOneToOne(Id, A.MemberId, false, Now.AddDays(7).AddMinutes(1))));

    [Fact]
    public void Taking_it_back_again_changes_nothing()
    {
        var withdrawn = new OneToOneWithdrawn(Id, A.MemberId, Now.AddMinutes(1));
        Decide([Held, withdrawn], new WithdrawOneToOne(Id, B.MemberId, false, Now.AddDays(30))).ShouldBeEmpty();
    }

    [Fact]
    public void A_one_to_one_never_recorded_is_not_found() =>
        Should.Throw<NotFound>(() => Decide([], new WithdrawOneToOne(Id, A.MemberId, false, Now)));

    [Fact]
    public void Recording_a_withdrawn_one_to_one_again_is_a_conflict() =>
        Should.Throw<StateConflict>(() => Decide([Held, new OneToOneWithdrawn(Id, A.MemberId, Now)], Record()));
}

public sealed class MemberProfileSpecs
{
    private static readonly Guid Anna = Guid.Parse("00000000-0000-0000-0000-00000000000a");
    private static readonly DateTimeOffset T0 = new(2026, 11, 16, 8, 0, 0, TimeSpan.Zero);
    private static readonly MemberJoined Joined = new(Anna, "stockholm-city", "Anna", "Accountant", ["sv"], T0);
    private static readonly MemberProfile Profile = MemberProfile.Empty with { Ask = "Introductions to new restaurant owners", Skills = "Bookkeeping" };
    private static readonly MemberProfileChanged Changed = new(Anna, Profile, T0.AddDays(1));

    private static MemberEvent[] Decide(MemberEvent[] given, MemberCommand when) =>
        MemberDecider.Decide(when, given.Aggregate(Member.Initial, Member.Evolve));

    [Fact]
    public void A_member_tells_the_chapter_what_they_are_looking_for() =>
        Decide([Joined], new ChangeMemberProfile(Anna, Profile, T0.AddDays(1))).ShouldBe([Changed]);

    [Fact]
    public void The_same_profile_again_changes_nothing() =>
        Decide([Joined, Changed], new ChangeMemberProfile(Anna, Profile with { }, T0.AddDays(2))).ShouldBeEmpty();

    [Fact]
    public void A_new_ask_is_a_change_and_the_old_one_stays_in_the_history()
    {
        var next = Profile with { Ask = "A caterer for corporate events" };
        Decide([Joined, Changed], new ChangeMemberProfile(Anna, next, T0.AddDays(3))).ShouldBe([new MemberProfileChanged(Anna, next, T0.AddDays(3))]);
    }

    [Fact]
    public void A_details_change_keeps_the_profile() =>
        Decide([Joined, Changed, new MemberDetailsChanged(Anna, "Anna B", "Accountant", ["sv"], MemberRole.Member, T0.AddDays(2))],
            new ChangeMemberProfile(Anna, Profile, T0.AddDays(3))).ShouldBeEmpty();

    [Fact]
    public void A_member_who_left_keeps_their_profile_as_it_was() =>
        Should.Throw<StateConflict>(() => Decide([Joined, new MemberLeft(Anna, T0.AddDays(5))], new ChangeMemberProfile(Anna, Profile, T0.AddDays(6))));
}

public sealed class ContactSphereSpecs
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 16, 8, 0, 0, TimeSpan.Zero);
    private static readonly ChapterCreated Created = new("stockholm-city", "Stockholm City", "Europe/Stockholm", "SEK", T0);
    private static readonly ContactSphere Property = new("Property", ["Realtor", "Mortgage adviser", "Mover"]);

    private static ChapterEvent[] Decide(ChapterEvent[] given, ChapterCommand when) =>
        ChapterDecider.Decide(when, given.Aggregate(ChapterState.Initial, ChapterState.Evolve));

    [Fact]
    public void Leaders_group_professions_into_spheres() =>
        Decide([Created], new SetContactSpheres("stockholm-city", [Property], T0.AddDays(1)))
            .ShouldBe([new ContactSpheresSet("stockholm-city", [Property], T0.AddDays(1))], new ContactSpheresComparer());

    [Fact]
    public void The_same_spheres_again_change_nothing() =>
        Decide([Created, new ContactSpheresSet("stockholm-city", [Property], T0.AddDays(1))],
            new SetContactSpheres("stockholm-city", [new ContactSphere("Property", ["Realtor", "Mortgage adviser", "Mover"])], T0.AddDays(2))).ShouldBeEmpty();

    [Fact]
    public void A_profession_belongs_to_one_sphere() =>
        Should.Throw<RuleBroken>(() => Decide([Created],
            new SetContactSpheres("stockholm-city", [Property, new ContactSphere("Moving", ["mover"])], T0))).Field.ShouldBe("spheres");

    [Fact]
    public void A_chapter_that_does_not_exist_has_no_spheres() =>
        Should.Throw<NotFound>(() => Decide([], new SetContactSpheres("nowhere", [Property], T0)));

    private sealed class ContactSpheresComparer : IEqualityComparer<ChapterEvent>
    {
        public bool Equals(ChapterEvent? x, ChapterEvent? y) => x is ContactSpheresSet a && y is ContactSpheresSet b && a.ChapterId == b.ChapterId && a.SetAt == b.SetAt
            && a.Spheres.Count == b.Spheres.Count && a.Spheres.Zip(b.Spheres).All(p => p.First.Name == p.Second.Name && p.First.Professions.SequenceEqual(p.Second.Professions));
        public int GetHashCode(ChapterEvent obj) => obj.ChapterId.GetHashCode();
    }
}
