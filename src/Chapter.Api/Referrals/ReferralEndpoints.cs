using Chapter.Api.Access;
using Chapter.Api.Infrastructure;
using Chapter.Api.Notifications;
using Chapter.Domain.Referrals;
using Chapter.Domain.Shared;
using Chapter.Projections.Chapters;
using Chapter.Projections.Members;
using Chapter.Projections.Prospects;
using Chapter.Projections.Referrals;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Npgsql;
using Wolverine;

namespace Chapter.Api.Referrals;

/// <param name="Line">A word from the giver to the prospect and the receiver (at most 500 characters).</param>
public sealed record IntroduceRequest(string? Line);

/// <summary>The introduction e-mail as it would go out now: who gets it, in which language, and its text.</summary>
public sealed record IntroductionPreview(string Language, string Subject, IReadOnlyList<string> To, IReadOnlyList<string> Copy, string Text);

/// <param name="Next">The cursor of the next page (pass it as 'after'); null on the last page.</param>
public sealed record ReferralList(IReadOnlyList<ReferralView> Items, string? Next);

public static class ReferralEndpoints
{
    private const string ProspectVisibility =
        "prospect (name and contact) is shown to the giver, the receiver and leaders, and left out for everyone else; " +
        "once erased, its fields read \"erased\".";

    public static RouteGroupBuilder MapReferrals(this IEndpointRouteBuilder routes)
    {
        // Policies per endpoint, not on the group: a group's policy would apply on top of each endpoint's.
        var group = routes.MapGroup("/api/chapters/{chapterId}/referrals").WithTags("Referrals")
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status409Conflict)
            .ProducesProblem(StatusCodes.Status403Forbidden)
            .ProducesProblem(StatusCodes.Status422UnprocessableEntity);

        group.MapGet("/", ListAsync)
            .RequireAuthorization(Policies.ChapterData)
            .WithName("ListReferrals")
            .WithSummary("List a chapter's referrals, newest first")
            .WithDescription(
                "status: given | accepted | declined | closed | thanked (the last step taken). memberId: referrals that member gave or received. " +
                "A member lists the referrals they gave or received; leaders and integrations list all. " + ProspectVisibility);

        group.MapGet("/{referralId:guid}", GetAsync)
            .RequireAuthorization(Policies.ChapterData)
            .WithName("GetReferral")
            .WithSummary("Read a referral")
            .WithDescription(
                "The ETag is the referral's version; send it in If-None-Match to get 304 when nothing changed. " +
                "A member reads the referrals they gave or received. " + ProspectVisibility);

        group.MapGet("/{referralId:guid}/introduction", PreviewIntroductionAsync)
            .RequireAuthorization(Policies.ChapterMember)
            .WithName("PreviewIntroduction")
            .WithSummary("The introduction e-mail as the prospect and the receiver would read it (the giver only)")
            .WithDescription("Before asking for it: the text in the referral's language, with the need as written and line (optional, at most " +
                             "500 characters) as the giver's word. Nothing is sent or recorded. The same refusals as asking for the introduction.");

        return group;
    }

    private static async Task<Results<Ok<IntroductionPreview>, ValidationProblem, ProblemHttpResult>> PreviewIntroductionAsync(
        string chapterId, Guid referralId, string? line, ChapterDatabase db, Caller caller, MailOrigin origin, CancellationToken ct)
    {
        var check = new Validation();
        var word = check.OptionalText(line, "line", 500);
        if (!check.IsValid)
            return (ValidationProblem)check.Problem();
        if (await ReferralProjection.GetAsync(db, chapterId, referralId, ct) is not { } referral)
            return Problems.NotFound($"Referral {referralId} is not in chapter '{chapterId}'.");
        if (referral.GiverId != caller.MemberId)
            return Problems.Forbidden("Only the giver of a referral may ask for its introduction, and so see it beforehand.");
        // The very e-mail the introduction would send, composed by the same code.
        var (mail, missing) = await IntroductionMail.ForAsync(db, referral, word, origin, Guid.Empty, ct);
        if (mail is null)
            return Problems.Unprocessable(missing!.Field, missing.Detail);
        return TypedResults.Ok(new IntroductionPreview(mail.Body!.Headers[MimeKit.HeaderId.ContentLanguage] ?? referral.Language, mail.Subject ?? "",
            mail.To.Mailboxes.Select(m => m.Name ?? m.Address).ToList(), mail.Cc.Mailboxes.Select(m => m.Name ?? m.Address).ToList(), mail.TextBody ?? ""));
    }

    private static async Task<Results<Ok<ReferralList>, ValidationProblem, ProblemHttpResult>> ListAsync(
        string chapterId, string? status, Guid? memberId, int? limit, string? after, ChapterDatabase db, Caller caller, CancellationToken ct)
    {
        if (ReadsOnlyOwnReferrals(caller))
        {
            if (memberId is { } other && other != caller.MemberId)
                return Problems.Forbidden("A member lists the referrals they gave or received: leave 'memberId' out, or send your own id.");
            memberId = caller.MemberId;
        }
        var check = new Validation();
        if (status is not null && !ReferralProjection.Statuses.Contains(status))
            check.Add("status", $"'status' must be one of: {string.Join(", ", ReferralProjection.Statuses)}.");
        var page = check.Page(limit, after);
        if (!check.IsValid)
            return (ValidationProblem)check.Problem();
        if (await ChapterProjection.GetAsync(db, chapterId, ct) is null)
            return Problems.NotFound($"Chapter '{chapterId}' does not exist.");
        var (referrals, next) = await ReferralProjection.ListAsync(db, chapterId, status, memberId, page, ct);
        return TypedResults.Ok(new ReferralList(referrals.Select(view => AsSeenBy(caller, view)).ToList(), next));
    }

    private static async Task<Results<Ok<ReferralView>, StatusCodeHttpResult, ProblemHttpResult>> GetAsync(
        string chapterId, Guid referralId, ChapterDatabase db, Caller caller, HttpContext context, CancellationToken ct)
    {
        if (await ReferralProjection.GetAsync(db, chapterId, referralId, ct) is not { } stored)
            return Problems.NotFound($"Referral {referralId} is not in chapter '{chapterId}'.");
        if (ReadsOnlyOwnReferrals(caller) && !TookPart(caller, stored))
            return Problems.Forbidden("A member reads the referrals they gave or received.");
        var view = AsSeenBy(caller, stored);
        var etag = WithETag(context, view);
        if (context.Request.Headers.IfNoneMatch.Any(value => value == etag || value == "*"))
            return TypedResults.StatusCode(StatusCodes.Status304NotModified);
        return TypedResults.Ok(view);
    }

    private static bool ReadsOnlyOwnReferrals(Caller caller) => caller is { IsMember: true, IsLeader: false };

    private static bool TookPart(Caller caller, ReferralView view) => caller.MemberId == view.GiverId || caller.MemberId == view.ReceiverId;

    /// <summary>The prospect's details only for those with a reason to see them: the giver, the receiver and leaders.</summary>
    internal static ReferralView AsSeenBy(Caller caller, ReferralView view) =>
        caller.IsLeader || (caller.IsMember && TookPart(caller, view)) ? view : view with { Prospect = null };

    internal static string WithETag(HttpContext context, ReferralView view)
    {
        // Readers without the prospect get another representation of the same version, so another tag.
        var etag = view.Prospect is null ? $"\"{view.Version}-without-prospect\"" : $"\"{view.Version}\"";
        context.Response.Headers.Vary = "Authorization";
        context.Response.Headers.ETag = etag;
        return etag;
    }
}
