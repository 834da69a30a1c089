using Chapter.Domain.Chapters;
using Chapter.Domain.Meetings;
using Chapter.Domain.Members;
using Chapter.Domain.OneToOnes;
using Chapter.Domain.Referrals;
using Chapter.Domain.Visitors;

namespace Chapter.Domain;

/// <summary>
/// The stable names events are stored under. Never change a name once events carry it: add a new
/// versioned name (".v2") and keep reading the old one.
/// </summary>
public static class EventNames
{
    public static IReadOnlyDictionary<Type, string> All { get; } = new Dictionary<Type, string>
    {
        [typeof(ChapterCreated)] = "chapter.created.v1",
        [typeof(ContactSpheresSet)] = "chapter.contact-spheres-set.v1",
        [typeof(MemberJoined)] = "member.joined.v1",
        [typeof(MemberLeft)] = "member.left.v1",
        [typeof(MemberDetailsChanged)] = "member.details-changed.v1",
        [typeof(MemberProfileChanged)] = "member.profile-changed.v1",
        [typeof(MemberPersonalDataErased)] = "member.personal-data-erased.v1",
        // v1 carried the prospect's contact details in clear; it was never released, so nothing reads it.
        [typeof(ReferralGiven)] = "referral.given.v2",
        [typeof(ReferralAccepted)] = "referral.accepted.v1",
        [typeof(ReferralDeclined)] = "referral.declined.v1",
        [typeof(ReferralClosed)] = "referral.closed.v1",
        [typeof(ReferralThanked)] = "referral.thanked.v1",
        [typeof(ProspectErased)] = "referral.prospect-erased.v1",
        [typeof(ReferralIntroduced)] = "referral.introduced.v1",
        [typeof(ReferralCorrected)] = "referral.corrected.v1",
        [typeof(ReferralWithdrawn)] = "referral.withdrawn.v1",
        [typeof(ReferralRedirected)] = "referral.redirected.v1",
        [typeof(OneToOneHeld)] = "one-to-one.held.v1",
        [typeof(OneToOneWithdrawn)] = "one-to-one.withdrawn.v1",
        [typeof(MeetingOpened)] = "meeting.opened.v1",
        [typeof(AttendanceMarked)] = "meeting.attendance-marked.v1",
        [typeof(MeetingClosed)] = "meeting.closed.v1",
        [typeof(VisitorRegistered)] = "visitor.registered.v1",
        [typeof(VisitorFollowedUp)] = "visitor.followed-up.v1",
    };
}
