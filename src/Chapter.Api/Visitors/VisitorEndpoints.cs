using System.ComponentModel.DataAnnotations;
using Chapter.Api.Access;
using Chapter.Api.Infrastructure;
using Chapter.Projections.Prospects;
using Chapter.Projections.Visitors;
using Microsoft.AspNetCore.Http.HttpResults;
using Npgsql;

namespace Chapter.Api.Visitors;

/// <param name="Consent">The visitor agreed that their e-mail and phone be kept; without it, only the name is kept.</param>
public sealed record VisitorRequest(Guid? Id, [property: Required] string? Name, [property: Required] string? Profession, string? Company, string? Email, string? Phone, Guid? InvitedBy,
    Guid? MeetingId, bool? Consent);

/// <param name="Step">thanked | applied | joined | notInterested.</param>
/// <param name="MemberId">For 'joined': the member the visitor became.</param>
public sealed record FollowUpRequest([property: Required] [property: OneOf(typeof(Chapter.Domain.Visitors.FollowUpStep))] string? Step, string? Note, Guid? MemberId);

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

        group.MapGet("/", ListAsync)
            .WithName("ListVisitors")
            .WithSummary("Visitors, newest first (leaders see all; a member the visitors they invited); 'meetingId' narrows them to a meeting");

        group.MapGet("/{visitorId:guid}", GetAsync)
            .WithName("GetVisitor")
            .WithSummary("A visitor and their follow-up (leaders and the inviting member)");

        group.MapDelete("/{visitorId:guid}/personal-data", EraseAsync)
            .WithName("EraseVisitor")
            .WithSummary("Erase the visitor's name and contact details for good (leaders and the inviting member): every read then shows \"erased\"")
            .Produces(StatusCodes.Status204NoContent);

        return group;
    }

    private static async Task<Ok<VisitorList>> ListAsync(string chapterId, Guid? meetingId, ChapterDatabase db, Caller caller, CancellationToken ct) =>
        TypedResults.Ok(new VisitorList(await VisitorProjection.ListAsync(db, chapterId, meetingId, caller.IsLeader ? null : caller.ActingMemberId, ct)));

    private static async Task<Results<Ok<VisitorView>, ProblemHttpResult>> GetAsync(string chapterId, Guid visitorId, ChapterDatabase db, Caller caller, CancellationToken ct) =>
        await VisitorProjection.GetAsync(db, chapterId, visitorId, ct) is not { } visitor ? NotFound(chapterId, visitorId)
        : Refused(caller, visitor) ?? (Results<Ok<VisitorView>, ProblemHttpResult>)TypedResults.Ok(visitor);

    private static async Task<Results<NoContent, ProblemHttpResult>> EraseAsync(
        string chapterId, Guid visitorId, ChapterDatabase db, Caller caller, ILogger<VisitorView> logger, CancellationToken ct)
    {
        if (await VisitorProjection.GetAsync(db, chapterId, visitorId, ct) is not { } visitor)
            return NotFound(chapterId, visitorId);
        if (Refused(caller, visitor) is { } refused)
            return refused;
        await ProspectKeys.DestroyAsync(db, chapterId, visitorId, ct);
        logger.LogInformation("Visitor {VisitorId} in chapter {ChapterId} erased by {Actor}", visitorId, chapterId, caller.Actor);
        return TypedResults.NoContent();
    }

    internal static ProblemHttpResult? Refused(Caller caller, VisitorView visitor) =>
        caller.IsLeader || caller.MemberId == visitor.InvitedBy ? null : Problems.Forbidden("Leaders and the member who invited the visitor see and follow them up.");

    internal static ProblemHttpResult NotFound(string chapterId, Guid visitorId) => Problems.NotFound($"Visitor {visitorId} is not in chapter '{chapterId}'.");
}
