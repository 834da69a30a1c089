using Chapter.Api.Access;
using Chapter.Api.Infrastructure;
using Chapter.Domain.Meetings;
using Chapter.Projections.Chapters;
using Chapter.Projections.Meetings;
using Chapter.Projections.Members;
using Chapter.Projections.Prospects;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Mvc;
using Npgsql;
using Wolverine.Http;
using Wolverine.Marten;

namespace Chapter.Api.Meetings;

public static class OpenMeetingEndpoint
{
    public static string StreamKey(OpenMeeting command) => MeetingDecider.StreamId(command.MeetingId);

    /// <summary>The day, checked against the chapter's own calendar: its time zone says what today is.</summary>
    public static async Task<OpenMeeting> LoadAsync(string chapterId, OpenMeetingRequest body, ChapterDatabase db, TimeProvider clock, CancellationToken ct)
    {
        var check = new Validation();
        var date = check.Required(body.Date, "date");
        check.ThrowIfInvalid();
        if (await ChapterProjection.GetAsync(db, chapterId, ct) is not { } chapter)
            throw new RequestRefused(Problems.NotFound($"Chapter '{chapterId}' does not exist."));
        var now = clock.GetUtcNow();
        var today = DateOnly.FromDateTime(TimeZoneInfo.ConvertTime(now, TimeZoneInfo.FindSystemTimeZoneById(chapter.TimeZone)).DateTime);
        return new OpenMeeting(MeetingDecider.IdFor(chapterId, date), chapterId, date, today, now);
    }

    [WolverinePost("/api/chapters/{chapterId}/meetings/", OperationId = "OpenMeeting")]
    [Authorize(Policy = Policies.ManageChapter), Tags("Meetings"), EndpointSummary("Open the chapter's meeting of a day (leaders): one per day")]
    [EndpointDescription("date is the day in the chapter's time zone, at most a week ahead. A second meeting on the same day is 409.")]
    [ProducesResponseType<MeetingView>(StatusCodes.Status201Created)]
    public static (AfterCommit<MeetingView?>, Events) Post([NotBody] OpenMeeting command,
        [WriteAggregate(FromMethod = nameof(StreamKey), Required = false)] Meeting? meeting, Caller caller) =>
        (AfterCommit.Read((db, ct) => MeetingProjection.GetAsync(db, command.ChapterId, command.MeetingId, caller.IsLeader, ct),
                $"/api/chapters/{command.ChapterId}/meetings/{command.MeetingId}"),
            [.. MeetingDecider.Decide(command, meeting ?? Meeting.Initial)]);
}

public static class MarkAttendanceEndpoint
{
    public static string StreamKey(Guid meetingId) => MeetingDecider.StreamId(meetingId);

    /// <summary>The mark, the member as they stand, and a substitute's name sealed before it reaches the log.</summary>
    public static async Task<MarkAttendance> LoadAsync(string chapterId, Guid meetingId, Guid memberId, AttendanceRequest body, ChapterDatabase db,
        TimeProvider clock, CancellationToken ct)
    {
        var check = new Validation();
        var status = check.OneOf<Attendance>(body.Status, "status");
        var substituteName = check.OptionalText(body.Substitute?.Name, "substitute.name");
        var profession = check.OptionalText(body.Substitute?.Profession, "substitute.profession");
        check.ThrowIfInvalid();
        if (await MemberProjection.GetAsync(db, chapterId, memberId, ct) is not { } member)
            throw new RequestRefused(Problems.NotFound("memberId", $"Member {memberId} is not in chapter '{chapterId}'."));

        // Sealing is deterministic per key, so the same name seals alike and a repeated mark changes nothing.
        string? sealedName = null;
        if (substituteName is not null)
        {
            var keyId = MeetingProjection.SubstituteKeyId(meetingId, memberId);
            var key = await ProspectKeys.GetOrCreateAsync(db, chapterId, keyId, ct)
                      ?? throw new InvalidOperationException("This substitute's name was erased; no new one is kept under the same key.");
            sealedName = ProspectSeal.Seal(key, keyId, new ProspectContact(substituteName, null, null, null));
        }
        return new MarkAttendance(meetingId, member.Standing, status, sealedName, profession, clock.GetUtcNow());
    }

    [WolverinePut("/api/chapters/{chapterId}/meetings/{meetingId:guid}/attendance/{memberId:guid}", OperationId = "MarkAttendance")]
    [Authorize(Policy = Policies.ManageChapter), Tags("Meetings")]
    [EndpointSummary("Mark a member's attendance (leaders): present, absent, late, medical or substitute")]
    [EndpointDescription("The same mark again changes nothing; another one is recorded as a correction. A closed meeting is 409.")]
    [ProducesResponseType<MeetingView>(StatusCodes.Status200OK)]
    public static (IResult, Events) Put(string chapterId, [NotBody] MarkAttendance command,
        [WriteAggregate(FromMethod = nameof(StreamKey), Required = false)] Meeting? meeting) =>
        MeetingWrites.Decide(chapterId, meeting, command);
}

public static class MeetingWrites
{
    public static string StreamKey(Guid meetingId) => MeetingDecider.StreamId(meetingId);

    [WolverinePost("/api/chapters/{chapterId}/meetings/{meetingId:guid}/close", OperationId = "CloseMeeting")]
    [Authorize(Policy = Policies.ManageChapter), Tags("Meetings")]
    [EndpointSummary("Close the meeting (leaders): its record stays as it is from then on. Repeating it changes nothing.")]
    [EndpointDescription("Attendance can no longer be marked or corrected once it is closed (409).")]
    [ProducesResponseType<MeetingView>(StatusCodes.Status200OK), BreaksNoRule]
    public static (IResult, Events) Close(string chapterId, Guid meetingId,
        [WriteAggregate(FromMethod = nameof(StreamKey), Required = false)] Meeting? meeting, TimeProvider clock) =>
        Decide(chapterId, meeting, new CloseMeeting(meetingId, clock.GetUtcNow()));

    /// <summary>The decider's events, and the meeting as leaders see it once they are committed. Only leaders write meetings.</summary>
    internal static (IResult, Events) Decide(string chapterId, Meeting? meeting, MeetingCommand command) =>
        (AfterCommit.Read((db, ct) => MeetingProjection.GetAsync(db, chapterId, command.MeetingId, true, ct)),
            [.. MeetingDecider.Decide(command, meeting ?? Meeting.Initial)]);
}
