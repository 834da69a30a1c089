using Chapter.Api.Access;
using Chapter.Api.Infrastructure;
using Chapter.Domain.Visitors;
using Chapter.Projections.Meetings;
using Chapter.Projections.Members;
using Chapter.Projections.Prospects;
using Chapter.Projections.Visitors;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Mvc;
using Npgsql;
using Wolverine.Http;
using Wolverine.Marten;

namespace Chapter.Api.Visitors;

public static class RegisterVisitorEndpoint
{
    public static string StreamKey(RegisterVisitor command) => VisitorDecider.StreamId(command.VisitorId);

    /// <summary>The visitor's details, sealed under a key of their own, and the member who invited them.</summary>
    public static async Task<RegisterVisitor> LoadAsync(string chapterId, VisitorRequest body, ChapterDatabase db, TimeProvider clock, Caller caller,
        CancellationToken ct)
    {
        var check = new Validation();
        if (body.Id == Guid.Empty)
            check.Add("id", "'id' must be a non-empty UUID, or left out for the server to choose one.");
        var name = check.Text(body.Name, "name");
        var profession = check.Text(body.Profession, "profession");
        var company = check.OptionalText(body.Company, "company");
        var email = check.OptionalEmail(body.Email, "email");
        var phone = check.OptionalText(body.Phone, "phone", 40);
        var invitedBy = body.InvitedBy ?? caller.ActingMemberId;
        check.ThrowIfInvalid();
        // A member registers the visitors they invited, and so sees them afterwards; a leader registers anyone's.
        if (invitedBy != caller.ActingMemberId && !caller.IsLeader)
            throw new RequestRefused(Problems.Forbidden("A member registers the visitors they invited: leave 'invitedBy' out, or send your own id."));
        if (await MemberProjection.GetAsync(db, chapterId, invitedBy, ct) is not { } inviter)
            throw new RequestRefused(Problems.NotFound("invitedBy", $"Member {invitedBy} is not in chapter '{chapterId}'."));
        if (body.MeetingId is { } meetingId && await MeetingProjection.GetAsync(db, chapterId, meetingId, showSubstitutes: false, ct) is null)
            throw new RequestRefused(Problems.Unprocessable("meetingId", $"Meeting {meetingId} is not a meeting of chapter '{chapterId}'."));

        var id = body.Id ?? Guid.CreateVersion7();
        var key = await ProspectKeys.GetOrCreateAsync(db, chapterId, id, ct)
                  ?? throw new Domain.Shared.StateConflict("This visitor's details were erased; they cannot be registered again under the same id.");
        return new RegisterVisitor(id, chapterId, ProspectSeal.Seal(key, id, new ProspectContact(name, email, phone, company)),
            email is not null || phone is not null, profession, inviter.Standing, body.MeetingId, body.Consent ?? false, clock.GetUtcNow());
    }

    [WolverinePost("/api/chapters/{chapterId}/visitors/", OperationId = "RegisterVisitor")]
    [Authorize(Policy = Policies.ChapterMember), Tags("Visitors"), EndpointSummary("Register a visitor a member invited (any member)")]
    [EndpointDescription("E-mail and phone need consent: true, or 422 naming 'consent'; the name alone may be kept for the meeting's record. " +
                         "The details are sealed like a prospect's. Send your own id to make retries safe.")]
    [ProducesResponseType<VisitorView>(StatusCodes.Status201Created)]
    [ProducesResponseType<VisitorView>(StatusCodes.Status200OK)]
    public static (IResult, Events) Post([NotBody] RegisterVisitor command,
        [WriteAggregate(FromMethod = nameof(StreamKey), Required = false)] Visitor? visitor)
    {
        var events = VisitorDecider.Decide(command, visitor ?? Visitor.Initial);
        return (AfterCommit.Read((db, ct) => VisitorProjection.GetAsync(db, command.ChapterId, command.VisitorId, ct),
            events.Length > 0 ? $"/api/chapters/{command.ChapterId}/visitors/{command.VisitorId}" : null), [.. events]);
    }
}

public static class FollowUpVisitorEndpoint
{
    public static string StreamKey(Guid visitorId) => VisitorDecider.StreamId(visitorId);

    /// <summary>Who may (leaders and the member who invited the visitor), and the member a visitor became, if they joined.</summary>
    public static async Task<FollowUpVisitor> LoadAsync(string chapterId, Guid visitorId, FollowUpRequest body, ChapterDatabase db, TimeProvider clock,
        Caller caller, CancellationToken ct)
    {
        var check = new Validation();
        // "not-interested" was the only spelling taken before; reads have always said "notInterested", which is taken now too.
        var step = check.OneOf<FollowUpStep>(body.Step == "not-interested" ? "notInterested" : body.Step, "step");
        var note = check.OptionalText(body.Note, "note", Validation.MaxTextLength);
        check.ThrowIfInvalid();
        if (await VisitorProjection.GetAsync(db, chapterId, visitorId, ct) is not { } visitor)
            throw new RequestRefused(VisitorEndpoints.NotFound(chapterId, visitorId));
        if (VisitorEndpoints.Refused(caller, visitor) is { } refused)
            throw new RequestRefused(refused);
        var member = body.MemberId is { } memberId ? await MemberProjection.GetAsync(db, chapterId, memberId, ct) : null;
        if (body.MemberId is not null && member is null)
            throw new RequestRefused(Problems.NotFound("memberId", $"Member {body.MemberId} is not in chapter '{chapterId}'."));
        return new FollowUpVisitor(visitorId, step, note, member?.Standing, clock.GetUtcNow());
    }

    [WolverinePost("/api/chapters/{chapterId}/visitors/{visitorId:guid}/follow-up", OperationId = "FollowUpVisitor")]
    [Authorize(Policy = Policies.ChapterMember), Tags("Visitors")]
    [EndpointSummary("Record a follow-up step: thanked, applied, joined (with the new memberId) or notInterested (leaders and the inviting member)")]
    [EndpointDescription("Steps are kept in order. Repeating the last step with the same note changes nothing.")]
    [ProducesResponseType<VisitorView>(StatusCodes.Status200OK)]
    public static (IResult, Events) Post(string chapterId, [NotBody] FollowUpVisitor command,
        [WriteAggregate(FromMethod = nameof(StreamKey), Required = false)] Visitor? visitor) =>
        (AfterCommit.Read((db, ct) => VisitorProjection.GetAsync(db, chapterId, command.VisitorId, ct)),
            [.. VisitorDecider.Decide(command, visitor ?? Visitor.Initial)]);
}
