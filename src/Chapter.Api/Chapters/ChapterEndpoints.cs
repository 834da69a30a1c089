using System.ComponentModel.DataAnnotations;
using Chapter.Api.Access;
using Chapter.Api.Infrastructure;
using Chapter.Projections.Chapters;
using Microsoft.AspNetCore.Http.HttpResults;
using Npgsql;

namespace Chapter.Api.Chapters;

public sealed record CreateChapterRequest([property: Required] string? Id, [property: Required] string? Name, [property: Required] string? TimeZone, [property: Required] string? Currency, int? TieHalfLifeDays,
    string? Database = null);

public static class ChapterEndpoints
{
    public static RouteGroupBuilder MapChapters(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/api/chapters").WithTags("Chapters")
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status409Conflict);

        group.MapGet("/{chapterId}", GetAsync).WithContentETag()
            .RequireAuthorization(Policies.ReadChapter)
            .WithName("GetChapter")
            .WithSummary("Read a chapter");

        return group;
    }

    private static async Task<Results<Ok<ChapterView>, ProblemHttpResult>> GetAsync(
        string chapterId, ChapterDatabase db, CancellationToken ct) =>
        await ChapterProjection.GetAsync(db, chapterId, ct) is { } chapter
            ? TypedResults.Ok(chapter)
            : Problems.NotFound($"Chapter '{chapterId}' does not exist.");
}
