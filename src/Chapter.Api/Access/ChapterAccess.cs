using Chapter.Api.Infrastructure;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Authorization.Policy;
using Microsoft.AspNetCore.Mvc;

namespace Chapter.Api.Access;

/// <summary>Who may call an endpoint. Finer rules (only the receiver, only one's own referrals) are the endpoint's or the decider's.</summary>
public static class Policies
{
    public const string Operator = "operator";
    /// <summary>Anyone of the chapter (member, leader, integration), and the operator.</summary>
    public const string ReadChapter = "read-chapter";
    /// <summary>Anyone of the chapter; not the operator, who has no reason to read its referrals.</summary>
    public const string ChapterData = "chapter-data";
    /// <summary>Members and leaders of the chapter, acting as themselves.</summary>
    public const string ChapterMember = "chapter-member";
    /// <summary>Leaders of the chapter, and the operator.</summary>
    public const string ManageChapter = "manage-chapter";
    /// <summary>Leaders and integrations of the chapter: reports and the event feed.</summary>
    public const string ChapterReports = "chapter-reports";

    internal static readonly Dictionary<string, ChapterAccessRequirement> Requirements = new()
    {
        [Operator] = new(Operator: true, Leader: false, Member: false, Integration: false),
        [ReadChapter] = new(Operator: true, Leader: true, Member: true, Integration: true),
        [ChapterData] = new(Operator: false, Leader: true, Member: true, Integration: true),
        [ChapterMember] = new(Operator: false, Leader: true, Member: true, Integration: false),
        [ManageChapter] = new(Operator: true, Leader: true, Member: false, Integration: false),
        [ChapterReports] = new(Operator: false, Leader: true, Member: false, Integration: true),
    };
}

public sealed record ChapterAccessRequirement(bool Operator, bool Leader, bool Member, bool Integration) : IAuthorizationRequirement
{
    public bool Admits(Caller caller) => caller.Kind switch
    {
        CallerKind.Operator => Operator,
        CallerKind.Integration => Integration,
        _ => caller.IsLeader ? Leader : Member,
    };
}

/// <summary>Another chapter's resources are answered as if they did not exist.</summary>
public sealed class OtherChapter(IAuthorizationHandler handler) : AuthorizationFailureReason(handler, "The resource is in another chapter.");

public sealed class ChapterAccessHandler : AuthorizationHandler<ChapterAccessRequirement>
{
    protected override Task HandleRequirementAsync(AuthorizationHandlerContext context, ChapterAccessRequirement requirement)
    {
        if (Caller.From(context.User) is not { } caller)
            return Task.CompletedTask;
        var chapterId = (context.Resource as HttpContext)?.GetRouteValue("chapterId") as string;
        if (caller.Kind != CallerKind.Operator && chapterId is not null && chapterId != caller.ChapterId)
            context.Fail(new OtherChapter(this));
        else if (requirement.Admits(caller))
            context.Succeed(requirement);
        else
            context.Fail();
        return Task.CompletedTask;
    }
}

/// <summary>Turns a refusal for another chapter into the same 404 an unknown chapter gets.</summary>
public sealed class ChapterAccessResultHandler : IAuthorizationMiddlewareResultHandler
{
    private readonly AuthorizationMiddlewareResultHandler _default = new();

    public async Task HandleAsync(RequestDelegate next, HttpContext context, AuthorizationPolicy policy, PolicyAuthorizationResult authorizeResult)
    {
        if (authorizeResult.Forbidden && authorizeResult.AuthorizationFailure?.FailureReasons.OfType<OtherChapter>().Any() == true)
        {
            context.Response.StatusCode = StatusCodes.Status404NotFound;
            await Problems.WriteAsync(context, new ProblemDetails
                {
                    Status = StatusCodes.Status404NotFound,
                    Title = "Not found.",
                    Detail = $"Chapter '{context.GetRouteValue("chapterId")}' does not exist.",
                });
            return;
        }
        await _default.HandleAsync(next, context, policy, authorizeResult);
    }
}

public static class ChapterAccessRegistration
{
    public static void AddChapterAccess(this WebApplicationBuilder builder)
    {
        builder.Services.AddSingleton<AccessTokens>();
        builder.Services.AddSingleton<SignInCodes>();
        builder.Services.AddSingleton<ConfiguredOperatorToken>();
        builder.Services.AddAuthentication(TokenAuthenticationHandler.SchemeName)
            .AddScheme<Microsoft.AspNetCore.Authentication.AuthenticationSchemeOptions, TokenAuthenticationHandler>(TokenAuthenticationHandler.SchemeName, null);
        builder.Services.AddSingleton<IAuthorizationHandler, ChapterAccessHandler>();
        builder.Services.AddSingleton<IAuthorizationMiddlewareResultHandler, ChapterAccessResultHandler>();
        var authorization = builder.Services.AddAuthorizationBuilder()
            // Every endpoint needs a token unless it says otherwise (health, OpenAPI).
            .SetFallbackPolicy(new AuthorizationPolicyBuilder().RequireAuthenticatedUser().Build());
        foreach (var (name, requirement) in Policies.Requirements)
            authorization.AddPolicy(name, policy => policy.RequireAuthenticatedUser().AddRequirements(requirement));
    }
}
