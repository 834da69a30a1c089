using Chapter.Api.Access;
using Chapter.Api.Infrastructure;
using Chapter.Domain.OneToOnes;
using Chapter.Projections.Chapters;
using Chapter.Projections.Members;
using Chapter.Projections.OneToOnes;
using Microsoft.AspNetCore.Http.HttpResults;
using Npgsql;
using Wolverine;

namespace Chapter.Api.OneToOnes;

public sealed record RecordOneToOneRequest(Guid? Id, Guid? MemberA, Guid? MemberB, DateOnly? Date, string? Note);

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

        group.MapPost("/", RecordAsync)
            .RequireAuthorization(Policies.ChapterMember)
            .WithName("RecordOneToOne")
            .WithSummary("Record a one-to-one two members held")
            .WithDescription("date is the day it was held (YYYY-MM-DD, not in the future in the chapter's time zone). An optional client id makes retries safe. One-to-ones count toward tie strength. " +
                "A member records the one-to-ones they took part in; a leader may record any.");

        group.MapGet("/", ListAsync)
            .RequireAuthorization(Policies.ChapterData)
            .WithName("ListOneToOnes")
            .WithSummary("List a chapter's one-to-ones, the latest held first")
            .WithDescription("memberId: those that member took part in. A member lists their own; leaders and integrations list all. " +
                "A page at a time: 'limit' 1–500 (default 50); pass the answer's 'next' as 'after' for the next page, until 'next' is null.");

        return group;
    }

    private static async Task<Results<Ok<OneToOneList>, ValidationProblem, ProblemHttpResult>> ListAsync(
        string chapterId, Guid? memberId, int? limit, string? after, NpgsqlDataSource db, Caller caller, CancellationToken ct)
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

    private static async Task<Results<Created<OneToOneView>, Ok<OneToOneView>, ValidationProblem, ProblemHttpResult>> RecordAsync(
        string chapterId, RecordOneToOneRequest body, IMessageBus bus, NpgsqlDataSource db, TimeProvider clock, Caller caller, HttpContext context, CancellationToken ct)
    {
        var check = new Validation();
        if (body.Id == Guid.Empty)
            check.Add("id", "'id' must be a non-empty UUID, or left out for the server to choose one.");
        var memberA = check.RequiredId(body.MemberA, "memberA");
        var memberB = check.RequiredId(body.MemberB, "memberB");
        var date = check.Required(body.Date, "date");
        var note = check.OptionalText(body.Note, "note", Validation.MaxTextLength);
        if (!check.IsValid)
            return (ValidationProblem)check.Problem();
        if (!caller.IsLeader && caller.ActingMemberId != memberA && caller.ActingMemberId != memberB)
            return Problems.Forbidden("A member records the one-to-ones they took part in.");

        if (await ChapterProjection.GetAsync(db, chapterId, ct) is not { } chapter)
            return Problems.NotFound($"Chapter '{chapterId}' does not exist.");
        if (await MemberProjection.GetAsync(db, chapterId, memberA, ct) is not { } a)
            return Problems.NotFound("memberA", $"Member {memberA} is not in chapter '{chapterId}'.");
        if (await MemberProjection.GetAsync(db, chapterId, memberB, ct) is not { } b)
            return Problems.NotFound("memberB", $"Member {memberB} is not in chapter '{chapterId}'.");

        var now = clock.GetUtcNow();
        var today = DateOnly.FromDateTime(TimeZoneInfo.ConvertTime(now, TimeZoneInfo.FindSystemTimeZoneById(chapter.TimeZone)).DateTime);
        var id = body.Id ?? Guid.CreateVersion7();
        var command = new RecordOneToOne(id, chapterId, a.Standing, b.Standing, date, note, today, now);
        var appended = (await bus.DecideAsync(chapterId,
            new DecideOneToOne(OneToOneDecider.StreamId(id), command, RequestMetadata.For(context, caller)), ct)).Appended;

        var view = new OneToOneView(id, memberA, memberB, date, note);
        return appended ? TypedResults.Created($"/api/chapters/{chapterId}/one-to-ones/{id}", view) : TypedResults.Ok(view);
    }
}
