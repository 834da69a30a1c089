using Chapter.Api.Access;
using Chapter.Api.Infrastructure;
using Chapter.Domain.Meetings;
using Chapter.Projections.Chapters;
using Chapter.Projections.Meetings;
using Chapter.Projections.Members;
using Chapter.Projections.Prospects;
using Microsoft.AspNetCore.Http.HttpResults;
using Npgsql;
using Wolverine;

namespace Chapter.Api.Meetings;

/// <param name="Date">The meeting's day in the chapter's time zone, YYYY-MM-DD.</param>
public sealed record OpenMeetingRequest(DateOnly? Date);

public sealed record SubstituteRequest(string? Name, string? Profession);

/// <param name="Status">present | absent | late | medical | substitute.</param>
/// <param name="Substitute">Who came in the member's place: only with 'substitute'.</param>
public sealed record AttendanceRequest(string? Status, SubstituteRequest? Substitute);

public sealed record MeetingList(IReadOnlyList<MeetingSummary> Items);

public static class MeetingEndpoints
{
    public static RouteGroupBuilder MapMeetings(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/api/chapters/{chapterId}/meetings").WithTags("Meetings")
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status409Conflict)
            .ProducesProblem(StatusCodes.Status422UnprocessableEntity);

        group.MapPost("/", OpenAsync)
            .RequireAuthorization(Policies.ManageChapter)
            .WithName("OpenMeeting")
            .WithSummary("Open the chapter's meeting of a day (leaders): one per day")
            .WithDescription("date is the day in the chapter's time zone, at most a week ahead. A second meeting on the same day is 409.");

        group.MapGet("/", ListAsync)
            .RequireAuthorization(Policies.ChapterData)
            .WithName("ListMeetings")
            .WithSummary("The chapter's meetings, the latest first; 'from' and 'to' (YYYY-MM-DD) narrow them to days");

        group.MapGet("/attendance.csv", MonthCsvAsync)
            .RequireAuthorization(Policies.ChapterReports)
            .WithName("MonthlyAttendanceCsv")
            .WithSummary("A month's meetings as CSV, one row per member and meeting, for chapters that report upward (leaders and integrations)")
            .WithDescription("month: YYYY-MM. Columns: date, meetingId, memberId, name, status (empty while unmarked), corrections.")
            .Produces<string>(StatusCodes.Status200OK, "text/csv");

        group.MapGet("/{meetingId:guid}", GetAsync)
            .RequireAuthorization(Policies.ChapterData)
            .WithName("GetMeeting")
            .WithSummary("A meeting: every active member with their attendance (null while unmarked), and the counts")
            .WithDescription("A substitute's name is personal data of someone who is not a member: leaders see it, others only the profession.");

        group.MapPut("/{meetingId:guid}/attendance/{memberId:guid}", MarkAsync)
            .RequireAuthorization(Policies.ManageChapter)
            .WithName("MarkAttendance")
            .WithSummary("Mark a member's attendance (leaders): present, absent, late, medical or substitute")
            .WithDescription("The same mark again changes nothing; another one is recorded as a correction. A closed meeting is 409.");

        group.MapDelete("/{meetingId:guid}/attendance/{memberId:guid}/substitute", EraseSubstituteAsync)
            .RequireAuthorization(Policies.ManageChapter)
            .WithName("EraseSubstitute")
            .WithSummary("Erase a substitute's name for good (leaders), as a prospect's: its key is destroyed, and every read shows \"erased\"")
            .Produces(StatusCodes.Status204NoContent);

        group.MapPost("/{meetingId:guid}/close", CloseAsync)
            .RequireAuthorization(Policies.ManageChapter)
            .WithName("CloseMeeting")
            .WithSummary("Close the meeting (leaders): its record stays as it is from then on. Repeating it changes nothing.");

        return group;
    }

    private static async Task<Results<Created<MeetingView>, ValidationProblem, ProblemHttpResult>> OpenAsync(
        string chapterId, OpenMeetingRequest body, IMessageBus bus, NpgsqlDataSource db, TimeProvider clock, Caller caller, HttpContext context, CancellationToken ct)
    {
        var check = new Validation();
        var date = check.Required(body.Date, "date");
        if (!check.IsValid)
            return (ValidationProblem)check.Problem();
        if (await ChapterProjection.GetAsync(db, chapterId, ct) is not { } chapter)
            return Problems.NotFound($"Chapter '{chapterId}' does not exist.");
        var now = clock.GetUtcNow();
        var today = DateOnly.FromDateTime(TimeZoneInfo.ConvertTime(now, TimeZoneInfo.FindSystemTimeZoneById(chapter.TimeZone)).DateTime);
        var id = MeetingDecider.IdFor(chapterId, date);
        await DecideAsync(bus, chapterId, new OpenMeeting(id, chapterId, date, today, now), caller, context, ct);
        return TypedResults.Created($"/api/chapters/{chapterId}/meetings/{id}", (await MeetingProjection.GetAsync(db, chapterId, id, caller.IsLeader, ct))!);
    }

    private static async Task<Results<Ok<MeetingList>, ProblemHttpResult>> ListAsync(
        string chapterId, DateOnly? from, DateOnly? to, NpgsqlDataSource db, CancellationToken ct)
    {
        if (await ChapterProjection.GetAsync(db, chapterId, ct) is null)
            return Problems.NotFound($"Chapter '{chapterId}' does not exist.");
        return TypedResults.Ok(new MeetingList(await MeetingProjection.ListAsync(db, chapterId, from, to, ct)));
    }

    private static async Task<Results<ContentHttpResult, ValidationProblem, ProblemHttpResult>> MonthCsvAsync(
        string chapterId, string? month, NpgsqlDataSource db, HttpContext context, CancellationToken ct)
    {
        if (!DateOnly.TryParseExact($"{month}-01", "yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.None, out var first))
        {
            var check = new Validation();
            check.Add("month", "'month' is a month such as 2026-11.");
            return (ValidationProblem)check.Problem();
        }
        if (await ChapterProjection.GetAsync(db, chapterId, ct) is null)
            return Problems.NotFound($"Chapter '{chapterId}' does not exist.");
        var csv = new System.Text.StringBuilder("date,meetingId,memberId,name,status,corrections\r\n");
        static string Field(string text) => text.IndexOfAny([',', '"', '\r', '\n']) >= 0 ? $"\"{text.Replace("\"", "\"\"")}\"" : text;
        foreach (var summary in (await MeetingProjection.ListAsync(db, chapterId, first, first.AddMonths(1).AddDays(-1), ct)).OrderBy(m => m.Date))
        {
            var meeting = (await MeetingProjection.GetAsync(db, chapterId, summary.Id, showSubstitutes: false, ct))!;
            foreach (var a in meeting.Attendance)
                csv.Append($"{meeting.Date:yyyy-MM-dd},{meeting.Id},{a.MemberId},{Field(a.Name)},{a.Status},{a.Corrections}\r\n");
        }
        context.Response.Headers.ContentDisposition = $"attachment; filename=\"{chapterId}-{month}-attendance.csv\"";
        return TypedResults.Text(csv.ToString(), "text/csv", System.Text.Encoding.UTF8);
    }

    private static async Task<Results<Ok<MeetingView>, ProblemHttpResult>> GetAsync(
        string chapterId, Guid meetingId, NpgsqlDataSource db, Caller caller, CancellationToken ct) =>
        await MeetingProjection.GetAsync(db, chapterId, meetingId, caller.IsLeader || caller.Kind == CallerKind.Operator, ct) is { } meeting
            ? TypedResults.Ok(meeting)
            : Problems.NotFound($"Meeting {meetingId} is not in chapter '{chapterId}'.");

    private static async Task<Results<Ok<MeetingView>, ValidationProblem, ProblemHttpResult>> MarkAsync(
        string chapterId, Guid meetingId, Guid memberId, AttendanceRequest body, IMessageBus bus, NpgsqlDataSource db, TimeProvider clock, Caller caller,
        HttpContext context, CancellationToken ct)
    {
        var check = new Validation();
        var status = check.OneOf<Attendance>(body.Status, "status");
        var substituteName = check.OptionalText(body.Substitute?.Name, "substitute.name");
        var profession = check.OptionalText(body.Substitute?.Profession, "substitute.profession");
        if (!check.IsValid)
            return (ValidationProblem)check.Problem();
        if (await MemberProjection.GetAsync(db, chapterId, memberId, ct) is not { } member)
            return Problems.NotFound("memberId", $"Member {memberId} is not in chapter '{chapterId}'.");

        // The name is sealed before it reaches the log; sealing is deterministic per key, so the same name seals alike.
        string? sealedName = null;
        if (substituteName is not null)
        {
            var keyId = MeetingProjection.SubstituteKeyId(meetingId, memberId);
            var key = await ProspectKeys.GetOrCreateAsync(db, chapterId, keyId, ct)
                      ?? throw new InvalidOperationException("This substitute's name was erased; no new one is kept under the same key.");
            sealedName = ProspectSeal.Seal(key, keyId, new ProspectContact(substituteName, null, null, null));
        }
        await DecideAsync(bus, chapterId, new MarkAttendance(meetingId, member.Standing, status, sealedName, profession, clock.GetUtcNow()), caller, context, ct);
        return TypedResults.Ok((await MeetingProjection.GetAsync(db, chapterId, meetingId, true, ct))!);
    }

    private static async Task<Results<NoContent, ProblemHttpResult>> EraseSubstituteAsync(
        string chapterId, Guid meetingId, Guid memberId, NpgsqlDataSource db, Caller caller, ILogger<MeetingView> logger, CancellationToken ct)
    {
        if (await MeetingProjection.GetAsync(db, chapterId, meetingId, false, ct) is null)
            return Problems.NotFound($"Meeting {meetingId} is not in chapter '{chapterId}'.");
        await ProspectKeys.DestroyAsync(db, chapterId, MeetingProjection.SubstituteKeyId(meetingId, memberId), ct);
        logger.LogInformation("Substitute for member {MemberId} at meeting {MeetingId} erased by {Actor}", memberId, meetingId, caller.Actor);
        return TypedResults.NoContent();
    }

    private static async Task<Results<Ok<MeetingView>, ProblemHttpResult>> CloseAsync(
        string chapterId, Guid meetingId, IMessageBus bus, NpgsqlDataSource db, TimeProvider clock, Caller caller, HttpContext context, CancellationToken ct)
    {
        await DecideAsync(bus, chapterId, new CloseMeeting(meetingId, clock.GetUtcNow()), caller, context, ct);
        return TypedResults.Ok((await MeetingProjection.GetAsync(db, chapterId, meetingId, true, ct))!);
    }

    private static Task<Decided> DecideAsync(IMessageBus bus, string chapterId, MeetingCommand command, Caller caller, HttpContext context, CancellationToken ct) =>
        bus.DecideAsync(chapterId, new DecideMeeting(MeetingDecider.StreamId(command.MeetingId), command, RequestMetadata.For(context, caller)), ct);
}
