using System.ComponentModel.DataAnnotations;
using Chapter.Api.Access;
using Chapter.Api.Infrastructure;
using Chapter.Projections.Members;
using Microsoft.AspNetCore.Http.HttpResults;
using Npgsql;

namespace Chapter.Api.Notifications;

/// <param name="Email">Where to write; null or left out: no e-mail.</param>
/// <param name="ReferralReceived">A referral was given to the member.</param>
/// <param name="ReferralUpdates">A referral the member gave was accepted, declined, closed or thanked.</param>
/// <param name="WeeklyDigest">Leaders: the week's figures when the week closes.</param>
public sealed record NotificationSettingsRequest(string? Email, [property: Required] bool? ReferralReceived, [property: Required] bool? ReferralUpdates, [property: Required] bool? WeeklyDigest);

public static class NotificationEndpoints
{
    public static void MapNotifications(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/api/chapters/{chapterId}/members/{memberId:guid}/notifications").WithTags("Notifications")
            .RequireAuthorization(Policies.ChapterMember)
            .ProducesProblem(StatusCodes.Status403Forbidden)
            .ProducesProblem(StatusCodes.Status404NotFound);

        group.MapGet("/", GetAsync)
            .WithName("GetNotificationSettings")
            .WithSummary("Which e-mails a member gets, and at which address (the member, or a leader)");

        group.MapPut("/", SetAsync)
            .WithName("SetNotificationSettings")
            .WithSummary("Choose which e-mails a member gets, and at which address (the member, or a leader)")
            .WithDescription("Send all three choices. Without an email, nothing is sent. E-mails never hold a prospect's name or contact details.")
            .ProducesValidationProblem();
    }

    private static async Task<Results<Ok<NotificationChoices>, ProblemHttpResult>> GetAsync(
        string chapterId, Guid memberId, Caller caller, ChapterDatabase db, CancellationToken ct)
    {
        if (Refused(caller, memberId) is { } refused)
            return refused;
        if (await MemberProjection.GetAsync(db, chapterId, memberId, ct) is null)
            return Problems.NotFound($"Member {memberId} is not in chapter '{chapterId}'.");
        return TypedResults.Ok((await NotificationSettings.GetAsync(db, chapterId, memberId, ct))?.Choices ?? NotificationChoices.Default);
    }

    private static async Task<Results<Ok<NotificationChoices>, ValidationProblem, ProblemHttpResult>> SetAsync(
        string chapterId, Guid memberId, NotificationSettingsRequest body, Caller caller, ChapterDatabase db, CancellationToken ct)
    {
        if (Refused(caller, memberId) is { } refused)
            return refused;
        var check = new Validation();
        var email = check.OptionalEmail(body.Email, "email");
        var choices = new NotificationChoices(email, check.Required(body.ReferralReceived, "referralReceived"),
            check.Required(body.ReferralUpdates, "referralUpdates"), check.Required(body.WeeklyDigest, "weeklyDigest"));
        if (!check.IsValid)
            return (ValidationProblem)check.Problem();
        if (await MemberProjection.GetAsync(db, chapterId, memberId, ct) is null)
            return Problems.NotFound($"Member {memberId} is not in chapter '{chapterId}'.");
        return TypedResults.Ok((await NotificationSettings.SetAsync(db, chapterId, memberId, choices, ct)).Choices);
    }

    private static ProblemHttpResult? Refused(Caller caller, Guid memberId) =>
        !caller.IsLeader && caller.MemberId != memberId ? Problems.Forbidden("A member chooses their own notifications; a leader may choose for any member.") : null;
}
