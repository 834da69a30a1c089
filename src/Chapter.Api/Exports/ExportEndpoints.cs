using Chapter.Api.Access;
using Chapter.Api.Infrastructure;
using Chapter.Projections.Chapters;
using Marten;
using Microsoft.AspNetCore.Http.HttpResults;
using Npgsql;

namespace Chapter.Api.Exports;

public static class ExportEndpoints
{
    public static void MapExports(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/api/chapters/{chapterId}").WithTags("Exports").ProducesProblem(StatusCodes.Status404NotFound);

        group.MapGet("/export", ExportChapterAsync)
            .RequireAuthorization(Policies.ManageChapter)
            .WithName("ExportChapter")
            .WithSummary("The chapter's data as a ZIP, to take elsewhere (leaders and the operator)")
            .WithDescription(
                "Streamed as it is read. members.csv (with profiles), referrals.csv, one-to-ones.csv, meetings.csv, attendance.csv, " +
                "visitors.csv (leaders only, with consent as recorded), weekly-reports.csv (each week's figures since the first member " +
                "joined) and events.jsonl (every event in feed order, as the feed shows it to the caller). CSV files are UTF-8 with a " +
                "byte order mark and a header row, comma-separated (RFC 4180). Prospects' and substitutes' details are in them for " +
                "leaders only.")
            .Produces(StatusCodes.Status200OK, contentType: "application/zip");

        group.MapGet("/members/{memberId:guid}/export", ExportMemberAsync)
            .RequireAuthorization(Policies.ChapterMember)
            .WithName("ExportMember")
            .WithSummary("Everything held about one member, as one JSON document (the member themselves, and leaders)")
            .WithDescription(
                "Details, every profile they wrote, notification settings, referrals given and received (the prospect's details as " +
                "the caller may read them), one-to-ones, attendance, and their sign-in tokens' labels and dates (never the tokens).")
            .Produces<MemberExportDocument>()
            .ProducesProblem(StatusCodes.Status403Forbidden);
    }

    private static async Task<Results<EmptyHttpResult, ProblemHttpResult>> ExportChapterAsync(
        string chapterId, ChapterDatabase db, Caller caller, HttpContext context, TimeProvider clock, CancellationToken ct)
    {
        // A copy to take elsewhere, read for seconds: from the standby when there is one, off the primary's back.
        db = db.ForReadsThatMayLag;
        if (await ChapterProjection.GetAsync(db, chapterId, ct) is null)
            return Problems.NotFound($"Chapter '{chapterId}' does not exist.");
        context.Response.ContentType = "application/zip";
        context.Response.Headers.ContentDisposition = $"attachment; filename=\"{chapterId}-{clock.GetUtcNow():yyyy-MM-dd}.zip\"";
        context.Response.Headers.CacheControl = "no-store";
        await ChapterExport.WriteAsync(context.Response.Body, db, chapterId, caller, ct);
        return TypedResults.Empty;
    }

    private static async Task<Results<Ok<MemberExportDocument>, ProblemHttpResult>> ExportMemberAsync(
        string chapterId, Guid memberId, ChapterDatabase db, IDocumentStore store, AccessTokens tokens, Caller caller, HttpContext context,
        TimeProvider clock, CancellationToken ct)
    {
        if (!caller.IsLeader && caller.MemberId != memberId)
            return Problems.Forbidden("A member exports what is held about themselves; a leader may export any member's.");
        if (await MemberExport.ReadAsync(db, store, tokens, chapterId, memberId, caller, clock, ct) is not { } document)
            return Problems.NotFound($"Member {memberId} is not in chapter '{chapterId}'.");
        context.Response.Headers.ContentDisposition = $"attachment; filename=\"member-{memberId}.json\"";
        context.Response.Headers.CacheControl = "no-store";
        return TypedResults.Ok(document);
    }
}
