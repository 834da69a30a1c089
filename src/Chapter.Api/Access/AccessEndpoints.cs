using Chapter.Api.Infrastructure;
using Chapter.Projections.Chapters;
using Chapter.Projections.Members;
using Microsoft.AspNetCore.Http.HttpResults;
using Npgsql;

namespace Chapter.Api.Access;

/// <param name="Label">What the token is for, e.g. "phone" (default "sign-in link").</param>
public sealed record IssueTokenRequest(string? Label);

/// <param name="Label">Which integration holds the key, e.g. "CRM sync".</param>
public sealed record IssueIntegrationRequest([property: System.ComponentModel.DataAnnotations.Required] string? Label);

public sealed record MemberTokenIssued(Guid Id, string Token, string SignInUrl, string Label, DateTimeOffset CreatedAt);

public sealed record IntegrationIssued(Guid Id, string Token, string Label, DateTimeOffset CreatedAt);

/// <param name="Next">The cursor of the next page (pass it as 'after'); null on the last page.</param>
public sealed record TokenList(IReadOnlyList<TokenView> Items, string? Next);

/// <summary>Who the token belongs to, so a client can greet its user and show what they may do.</summary>
public sealed record Me(string Kind, string? ChapterId, Guid? MemberId, string? Name, string? Role);

public static class AccessEndpoints
{
    public static void MapAccess(this IEndpointRouteBuilder routes)
    {
        var memberTokens = routes.MapGroup("/api/chapters/{chapterId}/members/{memberId:guid}/tokens").WithTags("Access")
            .RequireAuthorization(Policies.ManageChapter)
            .ProducesProblem(StatusCodes.Status404NotFound);
        memberTokens.MapPost("/", IssueMemberTokenAsync)
            .WithName("IssueMemberToken")
            .WithSummary("Issue a member's sign-in token (leaders and the operator)")
            .WithDescription(
                "Answers the token once; only its hash is kept. signInUrl carries the token in its fragment (after '#'), " +
                "which browsers never send to a server, so it stays out of logs and Referer headers. " +
                "A member may hold several tokens (one per device); each is revoked on its own.")
            .ProducesValidationProblem();
        memberTokens.MapGet("/", ListMemberTokensAsync)
            .WithName("ListMemberTokens").WithSummary("A member's tokens: labels, when issued and last used, whether revoked");
        memberTokens.MapDelete("/{tokenId:guid}", RevokeMemberTokenAsync)
            .WithName("RevokeMemberToken").WithSummary("Revoke a member's token at once");

        var integrations = routes.MapGroup("/api/chapters/{chapterId}/integrations").WithTags("Access")
            .RequireAuthorization(Policies.ManageChapter)
            .ProducesProblem(StatusCodes.Status404NotFound);
        integrations.MapPost("/", IssueIntegrationAsync)
            .WithName("IssueIntegrationKey")
            .WithSummary("Issue a read-only key for an integration (leaders and the operator)")
            .WithDescription("The key reads this chapter's projections and event feed, never a prospect's contact details, and writes nothing.")
            .ProducesValidationProblem();
        integrations.MapGet("/", ListIntegrationsAsync)
            .WithName("ListIntegrationKeys").WithSummary("The chapter's integration keys: labels, when issued and last used, whether revoked");
        integrations.MapDelete("/{tokenId:guid}", RevokeIntegrationAsync)
            .WithName("RevokeIntegrationKey").WithSummary("Revoke an integration key at once");

        routes.MapSignInByEmail();

        routes.MapGet("/api/me", MeAsync).WithTags("Access")
            .WithName("WhoAmI").WithSummary("Who this token belongs to");
    }

    private static async Task<Results<Created<MemberTokenIssued>, ValidationProblem, ProblemHttpResult>> IssueMemberTokenAsync(
        string chapterId, Guid memberId, IssueTokenRequest? body, AccessTokens tokens, ChapterDatabase db, Caller caller,
        HttpContext context, IConfiguration configuration, ILogger<AccessTokens> logger, CancellationToken ct)
    {
        var check = new Validation();
        var label = check.OptionalText(body?.Label, "label", 100) ?? "sign-in link";
        if (!check.IsValid)
            return (ValidationProblem)check.Problem();
        if (await MemberProjection.GetAsync(db, chapterId, memberId, ct) is not { } member)
            return Problems.NotFound($"Member {memberId} is not in chapter '{chapterId}'.");
        if (!member.Active)
            return Problems.Unprocessable("memberId", $"Member {memberId} has left the chapter; a member who left cannot sign in.");

        var issued = await tokens.IssueAsync(CallerKind.Member, chapterId, memberId, label, caller.Actor, ct);
        logger.LogInformation("Token {TokenId} issued for member {MemberId} of chapter {ChapterId} by {Actor}", issued.Id, memberId, chapterId, caller.Actor);
        context.Response.Headers.CacheControl = "no-store";
        return TypedResults.Created($"/api/chapters/{chapterId}/members/{memberId}/tokens/{issued.Id}",
            new MemberTokenIssued(issued.Id, issued.Token, SignInUrl(context, configuration, issued.Token), issued.Label, issued.CreatedAt));
    }

    private static async Task<Results<Ok<TokenList>, ValidationProblem, ProblemHttpResult>> ListMemberTokensAsync(
        string chapterId, Guid memberId, int? limit, string? after, AccessTokens tokens, ChapterDatabase db, CancellationToken ct)
    {
        var check = new Validation();
        var page = check.Page(limit, after);
        if (!check.IsValid)
            return (ValidationProblem)check.Problem();
        if (await MemberProjection.GetAsync(db, chapterId, memberId, ct) is null)
            return Problems.NotFound($"Member {memberId} is not in chapter '{chapterId}'.");
        var (items, next) = await tokens.ListAsync(chapterId, CallerKind.Member, memberId, page, ct);
        return TypedResults.Ok(new TokenList(items, next));
    }

    private static async Task<Results<NoContent, ProblemHttpResult>> RevokeMemberTokenAsync(
        string chapterId, Guid memberId, Guid tokenId, AccessTokens tokens, Caller caller, ILogger<AccessTokens> logger, CancellationToken ct)
    {
        if (!await tokens.RevokeAsync(chapterId, tokenId, CallerKind.Member, memberId, ct))
            return Problems.NotFound($"Member {memberId} of chapter '{chapterId}' has no token {tokenId}.");
        logger.LogInformation("Token {TokenId} of member {MemberId} revoked by {Actor}", tokenId, memberId, caller.Actor);
        return TypedResults.NoContent();
    }

    private static async Task<Results<Created<IntegrationIssued>, ValidationProblem, ProblemHttpResult>> IssueIntegrationAsync(
        string chapterId, IssueIntegrationRequest? body, AccessTokens tokens, ChapterDatabase db, Caller caller, HttpContext context,
        ILogger<AccessTokens> logger, CancellationToken ct)
    {
        var check = new Validation();
        var label = check.Text(body?.Label, "label", 100);
        if (!check.IsValid)
            return (ValidationProblem)check.Problem();
        if (await ChapterProjection.GetAsync(db, chapterId, ct) is null)
            return Problems.NotFound($"Chapter '{chapterId}' does not exist.");

        var issued = await tokens.IssueAsync(CallerKind.Integration, chapterId, null, label, caller.Actor, ct);
        logger.LogInformation("Integration key {TokenId} issued for chapter {ChapterId} by {Actor}", issued.Id, chapterId, caller.Actor);
        context.Response.Headers.CacheControl = "no-store";
        return TypedResults.Created($"/api/chapters/{chapterId}/integrations/{issued.Id}",
            new IntegrationIssued(issued.Id, issued.Token, issued.Label, issued.CreatedAt));
    }

    private static async Task<Results<Ok<TokenList>, ValidationProblem, ProblemHttpResult>> ListIntegrationsAsync(
        string chapterId, int? limit, string? after, AccessTokens tokens, ChapterDatabase db, CancellationToken ct)
    {
        var check = new Validation();
        var page = check.Page(limit, after);
        if (!check.IsValid)
            return (ValidationProblem)check.Problem();
        if (await ChapterProjection.GetAsync(db, chapterId, ct) is null)
            return Problems.NotFound($"Chapter '{chapterId}' does not exist.");
        var (items, next) = await tokens.ListAsync(chapterId, CallerKind.Integration, null, page, ct);
        return TypedResults.Ok(new TokenList(items, next));
    }

    private static async Task<Results<NoContent, ProblemHttpResult>> RevokeIntegrationAsync(
        string chapterId, Guid tokenId, AccessTokens tokens, Caller caller, ILogger<AccessTokens> logger, CancellationToken ct)
    {
        if (!await tokens.RevokeAsync(chapterId, tokenId, CallerKind.Integration, null, ct))
            return Problems.NotFound($"Chapter '{chapterId}' has no integration key {tokenId}.");
        logger.LogInformation("Integration key {TokenId} of chapter {ChapterId} revoked by {Actor}", tokenId, chapterId, caller.Actor);
        return TypedResults.NoContent();
    }

    private static async Task<Ok<Me>> MeAsync(Caller caller, ChapterDatabases databases, CancellationToken ct)
    {
        var member = caller is { ChapterId: { } chapterId, MemberId: { } memberId }
            ? await MemberProjection.GetAsync(await databases.ForChapterAsync(chapterId), chapterId, memberId, ct)
            : null;
        return TypedResults.Ok(new Me(caller.Kind.ToString().ToLowerInvariant(), caller.ChapterId, caller.MemberId, member?.Name,
            member is null ? null : MemberProjection.RoleName(member.Role)));
    }

    private static string SignInUrl(HttpContext context, IConfiguration configuration, string token)
    {
        var origin = configuration["Chapter:PublicUrl"]?.TrimEnd('/') ?? $"{context.Request.Scheme}://{context.Request.Host}";
        return $"{origin}/signin#token={token}";
    }
}
