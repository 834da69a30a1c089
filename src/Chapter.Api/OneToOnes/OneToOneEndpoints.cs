using Chapter.Api.Access;
using Chapter.Api.Infrastructure;
using Chapter.Projections.Chapters;
using Chapter.Projections.OneToOnes;
using Microsoft.AspNetCore.Http.HttpResults;
using Npgsql;

namespace Chapter.Api.OneToOnes;

/// <param name="Next">The cursor of the next page (pass it as 'after'); null on the last page.</param>
public sealed record OneToOneList(IReadOnlyList<OneToOneView> Items, string? Next);

public static class OneToOneEndpoints
{
    public static RouteGroupBuilder MapOneToOnes(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/api/chapters/{chapterId}/one-to-ones").WithTags("One-to-ones")
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status409Conflict)
            .ProducesProblem(StatusCodes.Status422UnprocessableEntity);

        group.MapGet("/", ListAsync)
            .RequireAuthorization(Policies.ChapterData)
            .WithName("ListOneToOnes")
            .WithSummary("List a chapter's one-to-ones, the latest held first")
            .WithDescription("memberId: those that member took part in. A member lists their own; leaders and integrations list all. " +
                "A page at a time: 'limit' 1–500 (default 50); pass the answer's 'next' as 'after' for the next page, until 'next' is null.");

        return group;
    }

    private static async Task<Results<Ok<OneToOneList>, ValidationProblem, ProblemHttpResult>> ListAsync(
        string chapterId, Guid? memberId, int? limit, string? after, ChapterDatabase db, Caller caller, CancellationToken ct)
    {
        var check = new Validation();
        var page = check.Page(limit, after);
        if (!check.IsValid)
            return (ValidationProblem)check.Problem();
        if (caller is { IsMember: true, IsLeader: false })
        {
            if (memberId is { } asked && asked != caller.ActingMemberId)
                return Problems.Forbidden("A member lists the one-to-ones they took part in: leave 'memberId' out, or send your own id.");
            memberId = caller.ActingMemberId;
        }
        if (await ChapterProjection.GetAsync(db, chapterId, ct) is null)
            return Problems.NotFound($"Chapter '{chapterId}' does not exist.");
        var (items, next) = await OneToOneProjection.ListAsync(db, chapterId, memberId, page, ct);
        return TypedResults.Ok(new OneToOneList(items, next));
    }
}
