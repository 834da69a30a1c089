using System.Security.Claims;
using Chapter.Api.Access;
using Chapter.Api.Infrastructure;
using Chapter.Domain.OneToOnes;
using Chapter.Projections.Chapters;
using Chapter.Projections.Members;
using Chapter.Projections.OneToOnes;
using Marten;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Mvc;
using Npgsql;
using Wolverine.Http;

namespace Chapter.Api.OneToOnes;

public sealed record RecordOneToOneRequest(Guid? Id, Guid? MemberA, Guid? MemberB, DateOnly? Date, string? Note);

/// <summary>A one-to-one's stream, folded by its decider for writing.</summary>
public sealed record OneToOneStream(string Id, OneToOne State);

public static class RecordOneToOneEndpoint
{
    // One function: Wolverine opens the chapter's session (tenant from the route), this fetches the stream for writing, asks
    // the decider and appends what it returns; Wolverine commits, and the answer is built from the request. A repeat is 200.
    [WolverinePost("/api/chapters/{chapterId}/one-to-ones", OperationId = "RecordOneToOne")]
    [Authorize(Policy = Policies.ChapterMember)]
    [Tags("One-to-ones")]
    [EndpointSummary("Record a one-to-one two members held")]
    [EndpointDescription("date is the day it was held (YYYY-MM-DD, not in the future in the chapter's time zone). An optional client id makes retries safe. One-to-ones count toward tie strength. " +
        "A member records the one-to-ones they took part in; a leader may record any.")]
    [ProducesResponseType<OneToOneView>(StatusCodes.Status201Created)]
    [ProducesResponseType<OneToOneView>(StatusCodes.Status200OK)]
    [ProducesResponseType<HttpValidationProblemDetails>(StatusCodes.Status400BadRequest, "application/problem+json")]
    [ProducesResponseType<ProblemDetails>(StatusCodes.Status403Forbidden, "application/problem+json")]
    [ProducesResponseType<ProblemDetails>(StatusCodes.Status404NotFound, "application/problem+json")]
    [ProducesResponseType<ProblemDetails>(StatusCodes.Status409Conflict, "application/problem+json")]
    [ProducesResponseType<ProblemDetails>(StatusCodes.Status422UnprocessableEntity, "application/problem+json")]
    public static async Task<IResult> Post(string chapterId, RecordOneToOneRequest body, IDocumentSession session, NpgsqlDataSource db,
        TimeProvider clock, ClaimsPrincipal user, CancellationToken ct)
    {
        var caller = Caller.Of(user);
        var check = new Validation();
        if (body.Id == Guid.Empty)
            check.Add("id", "'id' must be a non-empty UUID, or left out for the server to choose one.");
        var memberA = check.RequiredId(body.MemberA, "memberA");
        var memberB = check.RequiredId(body.MemberB, "memberB");
        var date = check.Required(body.Date, "date");
        var note = check.OptionalText(body.Note, "note", Validation.MaxTextLength);
        if (!check.IsValid)
            return check.Problem();
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
        var stream = await session.Events.FetchForWriting<OneToOneStream>(OneToOneDecider.StreamId(id), ct);
        var events = OneToOneDecider.Decide(new RecordOneToOne(id, chapterId, a.Standing, b.Standing, date, note, today, now),
            stream.Aggregate?.State ?? OneToOne.Initial);
        stream.AppendMany(events);

        var view = new OneToOneView(id, memberA, memberB, date, note);
        return events.Length > 0 ? TypedResults.Created($"/api/chapters/{chapterId}/one-to-ones/{id}", view) : TypedResults.Ok(view);
    }
}
