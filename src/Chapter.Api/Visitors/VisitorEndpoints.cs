using Chapter.Api.Access;
using Chapter.Api.Infrastructure;
using Chapter.Domain.Visitors;
using Chapter.Projections.Members;
using Chapter.Projections.Prospects;
using Chapter.Projections.Visitors;
using Microsoft.AspNetCore.Http.HttpResults;
using Npgsql;
using Wolverine;

namespace Chapter.Api.Visitors;

/// <param name="Consent">The visitor agreed that their e-mail and phone be kept; without it, only the name is kept.</param>
public sealed record VisitorRequest(Guid? Id, string? Name, string? Profession, string? Company, string? Email, string? Phone, Guid? InvitedBy,
    Guid? MeetingId, bool? Consent);

/// <param name="Step">thanked | applied | joined | notInterested.</param>
/// <param name="MemberId">For 'joined': the member the visitor became.</param>
public sealed record FollowUpRequest(string? Step, string? Note, Guid? MemberId);

public sealed record VisitorList(IReadOnlyList<VisitorView> Items);

public static class VisitorEndpoints
{
    public static RouteGroupBuilder MapVisitors(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/api/chapters/{chapterId}/visitors").WithTags("Visitors")
            .RequireAuthorization(Policies.ChapterMember)
            .ProducesProblem(StatusCodes.Status403Forbidden)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status422UnprocessableEntity);

        group.MapPost("/", RegisterAsync)
            .WithName("RegisterVisitor")
            .WithSummary("Register a visitor a member invited (any member)")
            .WithDescription("E-mail and phone need consent: true, or 422 naming 'consent'; the name alone may be kept for the meeting's record. " +
                             "The details are sealed like a prospect's. Send your own id to make retries safe.");

        group.MapGet("/", ListAsync)
            .WithName("ListVisitors")
            .WithSummary("Visitors, newest first (leaders see all; a member the visitors they invited); 'meetingId' narrows them to a meeting");

        group.MapGet("/{visitorId:guid}", GetAsync)
            .WithName("GetVisitor")
            .WithSummary("A visitor and their follow-up (leaders and the inviting member)");

        group.MapPost("/{visitorId:guid}/follow-up", FollowUpAsync)
            .WithName("FollowUpVisitor")
            .WithSummary("Record a follow-up step: thanked, applied, joined (with the new memberId) or notInterested (leaders and the inviting member)");

        group.MapDelete("/{visitorId:guid}/personal-data", EraseAsync)
            .WithName("EraseVisitor")
            .WithSummary("Erase the visitor's name and contact details for good (leaders and the inviting member): every read then shows \"erased\"")
            .Produces(StatusCodes.Status204NoContent);

        return group;
    }

    private static async Task<Results<Created<VisitorView>, Ok<VisitorView>, ValidationProblem, ProblemHttpResult>> RegisterAsync(
        string chapterId, VisitorRequest body, IMessageBus bus, NpgsqlDataSource db, TimeProvider clock, Caller caller, HttpContext context, CancellationToken ct)
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
        if (!check.IsValid)
            return (ValidationProblem)check.Problem();
        if (await MemberProjection.GetAsync(db, chapterId, invitedBy, ct) is not { } inviter)
            return Problems.NotFound("invitedBy", $"Member {invitedBy} is not in chapter '{chapterId}'.");

        var id = body.Id ?? Guid.CreateVersion7();
        var key = await ProspectKeys.GetOrCreateAsync(db, chapterId, id, ct)
                  ?? throw new Domain.Shared.StateConflict("This visitor's details were erased; they cannot be registered again under the same id.");
        var sealedDetails = ProspectSeal.Seal(key, id, new ProspectContact(name, email, phone, company));
        var command = new RegisterVisitor(id, chapterId, sealedDetails, email is not null || phone is not null, profession, inviter.Standing, body.MeetingId,
            body.Consent ?? false, clock.GetUtcNow());
        var appended = (await bus.DecideAsync(chapterId,
            new DecideVisitor(VisitorDecider.StreamId(id), command, RequestMetadata.For(context, caller)), ct)).Appended;
        var view = (await VisitorProjection.GetAsync(db, chapterId, id, ct))!;
        return appended ? TypedResults.Created($"/api/chapters/{chapterId}/visitors/{id}", view) : TypedResults.Ok(view);
    }

    private static async Task<Ok<VisitorList>> ListAsync(string chapterId, Guid? meetingId, NpgsqlDataSource db, Caller caller, CancellationToken ct) =>
        TypedResults.Ok(new VisitorList(await VisitorProjection.ListAsync(db, chapterId, meetingId, caller.IsLeader ? null : caller.ActingMemberId, ct)));

    private static async Task<Results<Ok<VisitorView>, ProblemHttpResult>> GetAsync(string chapterId, Guid visitorId, NpgsqlDataSource db, Caller caller, CancellationToken ct) =>
        await VisitorProjection.GetAsync(db, chapterId, visitorId, ct) is not { } visitor ? NotFound(chapterId, visitorId)
        : Refused(caller, visitor) ?? (Results<Ok<VisitorView>, ProblemHttpResult>)TypedResults.Ok(visitor);

    private static async Task<Results<Ok<VisitorView>, ValidationProblem, ProblemHttpResult>> FollowUpAsync(
        string chapterId, Guid visitorId, FollowUpRequest body, IMessageBus bus, NpgsqlDataSource db, TimeProvider clock, Caller caller, HttpContext context,
        CancellationToken ct)
    {
        var check = new Validation();
        var step = check.OneOf<FollowUpStep>(body.Step?.Replace("-", ""), "step");
        var note = check.OptionalText(body.Note, "note", Validation.MaxTextLength);
        if (!check.IsValid)
            return (ValidationProblem)check.Problem();
        if (await VisitorProjection.GetAsync(db, chapterId, visitorId, ct) is not { } visitor)
            return NotFound(chapterId, visitorId);
        if (Refused(caller, visitor) is { } refused)
            return refused;
        var member = body.MemberId is { } memberId ? await MemberProjection.GetAsync(db, chapterId, memberId, ct) : null;
        if (body.MemberId is not null && member is null)
            return Problems.NotFound("memberId", $"Member {body.MemberId} is not in chapter '{chapterId}'.");
        await bus.DecideAsync(chapterId, new DecideVisitor(VisitorDecider.StreamId(visitorId),
            new FollowUpVisitor(visitorId, step, note, member?.Standing, clock.GetUtcNow()), RequestMetadata.For(context, caller)), ct);
        return TypedResults.Ok((await VisitorProjection.GetAsync(db, chapterId, visitorId, ct))!);
    }

    private static async Task<Results<NoContent, ProblemHttpResult>> EraseAsync(
        string chapterId, Guid visitorId, NpgsqlDataSource db, Caller caller, ILogger<VisitorView> logger, CancellationToken ct)
    {
        if (await VisitorProjection.GetAsync(db, chapterId, visitorId, ct) is not { } visitor)
            return NotFound(chapterId, visitorId);
        if (Refused(caller, visitor) is { } refused)
            return refused;
        await ProspectKeys.DestroyAsync(db, chapterId, visitorId, ct);
        logger.LogInformation("Visitor {VisitorId} in chapter {ChapterId} erased by {Actor}", visitorId, chapterId, caller.Actor);
        return TypedResults.NoContent();
    }

    private static ProblemHttpResult? Refused(Caller caller, VisitorView visitor) =>
        caller.IsLeader || caller.MemberId == visitor.InvitedBy ? null : Problems.Forbidden("Leaders and the member who invited the visitor see and follow them up.");

    private static ProblemHttpResult NotFound(string chapterId, Guid visitorId) => Problems.NotFound($"Visitor {visitorId} is not in chapter '{chapterId}'.");
}
