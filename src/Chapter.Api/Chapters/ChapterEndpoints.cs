using System.Text.RegularExpressions;
using Chapter.Api.Access;
using Chapter.Api.Infrastructure;
using Chapter.Domain.Chapters;
using Chapter.Projections.Chapters;
using Microsoft.AspNetCore.Http.HttpResults;
using Npgsql;
using Wolverine;

namespace Chapter.Api.Chapters;

public sealed record CreateChapterRequest(string? Id, string? Name, string? TimeZone, string? Currency, int? TieHalfLifeDays);

public static partial class ChapterEndpoints
{
    [GeneratedRegex("^[a-z0-9]+(-[a-z0-9]+)*$", RegexOptions.CultureInvariant)]
    private static partial Regex Slug();

    public static RouteGroupBuilder MapChapters(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/api/chapters").WithTags("Chapters")
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status409Conflict);

        group.MapPost("/", CreateAsync)
            .RequireAuthorization(Policies.Operator)
            .WithName("CreateChapter")
            .WithSummary("Create a chapter")
            .WithDescription(
                "The id is a slug (lowercase letters, digits and dashes) chosen by the caller; 409 when it is taken. " +
                "tieHalfLifeDays (default 90) sets how fast a relationship's strength halves without new interactions.");

        group.MapGet("/{chapterId}", GetAsync).WithContentETag()
            .RequireAuthorization(Policies.ReadChapter)
            .WithName("GetChapter")
            .WithSummary("Read a chapter");

        return group;
    }

    private static async Task<Results<Created<ChapterView>, ValidationProblem>> CreateAsync(
        CreateChapterRequest body, IMessageBus bus, NpgsqlDataSource db, TimeProvider clock, Caller caller, HttpContext context, CancellationToken ct)
    {
        var check = new Validation();
        var id = check.Text(body.Id, "id", 64);
        if (id.Length > 0 && !Slug().IsMatch(id))
            check.Add("id", "'id' is a slug: lowercase letters, digits and single dashes, e.g. 'stockholm-city'.");
        var name = check.Text(body.Name, "name");
        var timeZone = check.Text(body.TimeZone, "timeZone", 64);
        if (timeZone.Length > 0 && !TimeZoneInfo.TryFindSystemTimeZoneById(timeZone, out _))
            check.Add("timeZone", $"'{timeZone}' is not an IANA time zone such as 'Europe/Stockholm'.");
        var currency = check.Currency(body.Currency, "currency");
        if (body.TieHalfLifeDays is < 1 or > 3650)
            check.Add("tieHalfLifeDays", "'tieHalfLifeDays' is a number of days from 1 to 3650 (default 90).");
        if (!check.IsValid)
            return (ValidationProblem)check.Problem();

        var command = new CreateChapter(id, name, timeZone, currency, clock.GetUtcNow(), body.TieHalfLifeDays);
        await bus.DecideAsync(id, new DecideChapter(ChapterDecider.StreamId(id), command, RequestMetadata.For(context, caller)), ct);

        var view = await ChapterProjection.GetAsync(db, id, ct);
        return TypedResults.Created($"/api/chapters/{id}", view);
    }

    private static async Task<Results<Ok<ChapterView>, ProblemHttpResult>> GetAsync(
        string chapterId, NpgsqlDataSource db, CancellationToken ct) =>
        await ChapterProjection.GetAsync(db, chapterId, ct) is { } chapter
            ? TypedResults.Ok(chapter)
            : Problems.NotFound($"Chapter '{chapterId}' does not exist.");
}
