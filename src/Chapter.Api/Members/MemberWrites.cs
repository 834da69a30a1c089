using Chapter.Api.Notifications;
using Chapter.Api.Access;
using Chapter.Api.Infrastructure;
using Chapter.Domain.Members;
using Chapter.Projections.Chapters;
using Chapter.Projections.Members;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Mvc;
using Npgsql;
using Wolverine;
using Wolverine.Http;
using Wolverine.Marten;

namespace Chapter.Api.Members;

/// <summary>A member joins: their stream starts with the decider's first event.</summary>
public static class AddMemberEndpoint
{
    public static string JoiningKey(JoinChapter command) => MemberDecider.StreamId(command.MemberId);

    /// <summary>A new member's details, and the chapter they join, checked before the decider sees them.</summary>
    public static async Task<JoinChapter> LoadAsync(string chapterId, AddMemberRequest body, ChapterDatabase db, TimeProvider clock, CancellationToken ct)
    {
        var check = new Validation();
        var (name, profession, languages, role) = MemberWrites.Details(check, new MemberDetailsRequest(body.Name, body.Profession, body.Languages, body.Role));
        check.ThrowIfInvalid();
        if (await ChapterProjection.GetAsync(db, chapterId, ct) is null)
            throw new RequestRefused(Problems.NotFound($"Chapter '{chapterId}' does not exist."));
        return new JoinChapter(Guid.CreateVersion7(), chapterId, name, profession, languages, clock.GetUtcNow(), role);
    }

    [WolverinePost("/api/chapters/{chapterId}/members/", OperationId = "AddMember")]
    [Authorize(Policy = Policies.ManageChapter), Tags("Members"), EndpointSummary("Add a member to a chapter (leaders and the operator)")]
    [EndpointDescription(
        "The server assigns the member's id. Languages are BCP 47 tags, e.g. [\"sv\", \"en\"]. " +
        "role is member (default) or leader; leaders manage members and read all of the chapter's referrals and reports.")]
    [ProducesResponseType<MemberView>(StatusCodes.Status201Created), BreaksNoRule]
    public static (AfterCommit<MemberView?>, Events) Add([NotBody] JoinChapter command,
        [WriteAggregate(FromMethod = nameof(JoiningKey), Required = false)] Member? member) =>
        (AfterCommit.Read((db, ct) => MemberProjection.GetAsync(db, command.ChapterId, command.MemberId, ct),
                $"/api/chapters/{command.ChapterId}/members/{command.MemberId}"),
            [.. MemberDecider.Decide(command, member ?? Member.Initial)]);
}

/// <summary>A member's steps, each one function: Wolverine fetches the member's stream for writing, the decider says what happens.</summary>
public static class MemberWrites
{
    public static string StreamKey(Guid memberId) => MemberDecider.StreamId(memberId);

    [WolverinePut("/api/chapters/{chapterId}/members/{memberId:guid}", OperationId = "ChangeMember")]
    [Authorize(Policy = Policies.ManageChapter), Tags("Members")]
    [EndpointSummary("Correct a member's details or change their role (leaders and the operator)")]
    [EndpointDescription("Send all of name, profession, languages and role, as they should be. Sending what is already there changes nothing. A member who left keeps their details (409).")]
    [ProducesResponseType<MemberView>(StatusCodes.Status200OK), BreaksNoRule]
    public static (IResult, Events) Change(string chapterId, Guid memberId, MemberDetailsRequest body,
        [WriteAggregate(FromMethod = nameof(StreamKey), Required = false)] Member? member, TimeProvider clock)
    {
        var check = new Validation();
        var (name, profession, languages, role) = Details(check, body);
        check.ThrowIfInvalid();
        return Decide(member, new ChangeMemberDetails(memberId, name, profession, languages, role, clock.GetUtcNow()),
            AfterCommit.Read((db, ct) => MemberProjection.GetAsync(db, chapterId, memberId, ct)));
    }

    [WolverinePost("/api/chapters/{chapterId}/members/{memberId:guid}/leave", OperationId = "MemberLeaves")]
    [Authorize(Policy = Policies.ManageChapter), Tags("Members"), EndpointSummary("Mark a member as having left the chapter")]
    [EndpointDescription("A member who left can no longer give or receive referrals, and their tokens stop working; their history stays. Repeating it changes nothing.")]
    [ProducesResponseType<MemberView>(StatusCodes.Status200OK), BreaksNoRule]
    public static (IResult, Events, OutgoingMessages) Leave(string chapterId, Guid memberId,
        [WriteAggregate(FromMethod = nameof(StreamKey), Required = false)] Member? member, TimeProvider clock)
    {
        var (answer, events) = Decide(member, new LeaveChapter(memberId, clock.GetUtcNow()),
            AfterCommit.Read((db, ct) => MemberProjection.GetAsync(db, chapterId, memberId, ct)));
        // Referrals still waiting for them go back to their givers' hands, in the transaction that records the leaving.
        return (answer, events, events.Count > 0 ? [new MemberLeftChapter(chapterId, memberId)] : []);
    }

    [WolverinePut("/api/chapters/{chapterId}/members/{memberId:guid}/profile", OperationId = "ChangeMemberProfile")]
    [Authorize(Policy = Policies.ChapterMember), Tags("Members"), EndpointSummary("Replace a member's whole profile (the member, or a leader)")]
    [EndpointDescription("Replaces the whole profile: send every field as it should be; a field left out or empty is cleared. To change some fields " +
        "and keep the others, PATCH instead. Each change is kept as an event, so the history of asks is too.")]
    [ProducesResponseType<MemberProjection.ProfileView>(StatusCodes.Status200OK), BreaksNoRule]
    public static (IResult, Events) ChangeProfile(Guid memberId, ProfileRequest body,
        [WriteAggregate(FromMethod = nameof(StreamKey), Required = false)] Member? member, TimeProvider clock, Caller caller) =>
        WriteProfile(memberId, body, member, clock, caller);

    [WolverinePatch("/api/chapters/{chapterId}/members/{memberId:guid}/profile", OperationId = "PatchMemberProfile")]
    [Authorize(Policy = Policies.ChapterMember), Tags("Members"), EndpointSummary("Change some fields of a member's profile (the member, or a leader)")]
    [EndpointDescription("A JSON merge patch (RFC 7396, application/merge-patch+json; application/json is taken too): a field sent is set, " +
        "null or empty clears it, a field left out stays as it is.")]
    [ProducesResponseType<MemberProjection.ProfileView>(StatusCodes.Status200OK), BreaksNoRule]
    public static (IResult, Events) PatchProfile(Guid memberId, ProfilePatchRequest body,
        [WriteAggregate(FromMethod = nameof(StreamKey), Required = false)] Member? member, TimeProvider clock, Caller caller) =>
        WriteProfile(memberId, body.AppliedTo((member as Member.Active)?.Profile ?? MemberProfile.Empty), member, clock, caller);

    private static (IResult, Events) WriteProfile(Guid memberId, ProfileRequest body, Member? member, TimeProvider clock, Caller caller)
    {
        if (!caller.IsLeader && caller.MemberId != memberId)
            throw new RequestRefused(Problems.Forbidden("A member writes their own profile; a leader may write any member's."));
        var check = new Validation();
        string? Field(string? value, string name) => check.OptionalText(value, name, 500);
        var profile = new MemberProfile(Field(body.Ask, "ask"), Field(body.IdealReferral, "idealReferral"), Field(body.Goals, "goals"),
            Field(body.Accomplishments, "accomplishments"), Field(body.Interests, "interests"), Field(body.Networks, "networks"), Field(body.Skills, "skills"));
        check.ThrowIfInvalid();
        return Decide(member, new ChangeMemberProfile(memberId, profile, clock.GetUtcNow()),
            AfterCommit.Read((db, ct) => MemberProjection.ProfileAsync(db, memberId, ct)));
    }

    /// <summary>
    /// The decider's events and the answer. A member of another chapter is another tenant's stream: the decider finds none
    /// and says so (404).
    /// </summary>
    private static (IResult, Events) Decide(Member? member, MemberCommand command, IResult answer) =>
        (answer, [.. MemberDecider.Decide(command, member ?? Member.Initial)]);

    /// <summary>A member's details as a request gives them; role defaults to member.</summary>
    internal static (string Name, string Profession, IReadOnlyList<string> Languages, MemberRole Role) Details(Validation check, MemberDetailsRequest body)
    {
        var name = check.Text(body.Name, "name");
        var profession = check.Text(body.Profession, "profession");
        var languages = new List<string>();
        if (body.Languages is not { Length: > 0 })
            check.Add("languages", "'languages' needs at least one BCP 47 tag, e.g. [\"sv\", \"en\"].");
        else if (body.Languages.Length > 20)
            check.Add("languages", "'languages' can hold at most 20 tags.");
        else
            for (var i = 0; i < body.Languages.Length; i++)
                languages.Add(check.Language(body.Languages[i], $"languages[{i}]"));
        var role = body.Role is null ? MemberRole.Member : check.OneOf<MemberRole>(body.Role, "role");
        return (name, profession, languages.Distinct().ToList(), role);
    }
}
