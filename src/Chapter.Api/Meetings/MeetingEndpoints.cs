using System.ComponentModel.DataAnnotations;
using Chapter.Api.Access;
using Chapter.Api.Infrastructure;
using Chapter.Projections.Chapters;
using Chapter.Projections.Meetings;
using Chapter.Projections.Prospects;
using Microsoft.AspNetCore.Http.HttpResults;
using Npgsql;

namespace Chapter.Api.Meetings;

/// <param name="Date">The meeting's day in the chapter's time zone, YYYY-MM-DD.</param>
public sealed record OpenMeetingRequest([property: Required] DateOnly? Date);

public sealed record SubstituteRequest([property: Required] string? Name, string? Profession);

/// <param name="Status">present | absent | late | medical | substitute.</param>
/// <param name="Substitute">Who came in the member's place: only with 'substitute'.</param>
public sealed record AttendanceRequest([property: Required] [property: OneOf(typeof(Chapter.Domain.Meetings.Attendance))] string? Status, SubstituteRequest? Substitute);

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

        group.MapDelete("/{meetingId:guid}/attendance/{memberId:guid}/substitute", EraseSubstituteAsync)
            .RequireAuthorization(Policies.ManageChapter)
            .WithName("EraseSubstitute")
            .WithSummary("Erase a substitute's name for good (leaders), as a prospect's: its key is destroyed, and every read shows \"erased\"")
            .Produces(StatusCodes.Status204NoContent);

        return group;
    }

    private static async Task<Results<Ok<MeetingList>, ProblemHttpResult>> ListAsync(
        string chapterId, DateOnly? from, DateOnly? to, ChapterDatabase db, CancellationToken ct)
    {
        if (await ChapterProjection.GetAsync(db, chapterId, ct) is null)
            return Problems.NotFound($"Chapter '{chapterId}' does not exist.");
        return TypedResults.Ok(new MeetingList(await MeetingProjection.ListAsync(db, chapterId, from, to, ct)));
    }

    private static async Task<Results<ContentHttpResult, ValidationProblem, ProblemHttpResult>> MonthCsvAsync(
        string chapterId, string? month, ChapterDatabase db, HttpContext context, CancellationToken ct)
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
        string chapterId, Guid meetingId, ChapterDatabase db, Caller caller, CancellationToken ct) =>
        await MeetingProjection.GetAsync(db, chapterId, meetingId, caller.IsLeader || caller.Kind == CallerKind.Operator, ct) is { } meeting
            ? TypedResults.Ok(meeting)
            : Problems.NotFound($"Meeting {meetingId} is not in chapter '{chapterId}'.");

    private static async Task<Results<NoContent, ProblemHttpResult>> EraseSubstituteAsync(
        string chapterId, Guid meetingId, Guid memberId, ChapterDatabase db, Caller caller, ILogger<MeetingView> logger, CancellationToken ct)
    {
        if (await MeetingProjection.GetAsync(db, chapterId, meetingId, false, ct) is null)
            return Problems.NotFound($"Meeting {meetingId} is not in chapter '{chapterId}'.");
        await ProspectKeys.DestroyAsync(db, chapterId, MeetingProjection.SubstituteKeyId(meetingId, memberId), ct);
        logger.LogInformation("Substitute for member {MemberId} at meeting {MeetingId} erased by {Actor}", memberId, meetingId, caller.Actor);
        return TypedResults.NoContent();
    }
}
