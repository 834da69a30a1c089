using System.Security.Cryptography;
using Chapter.Api.Infrastructure;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;

namespace Chapter.Api.Access;

/// <summary>The operator's token from configuration (<c>Chapter:AdminToken</c>), kept only as a hash.</summary>
public sealed class ConfiguredOperatorToken
{
    public const string Setting = "Chapter:AdminToken";
    public const int MinimumLength = 32;
    private readonly byte[]? _hash;

    public ConfiguredOperatorToken(IConfiguration configuration)
    {
        var token = configuration[Setting];
        if (string.IsNullOrWhiteSpace(token))
            return;
        if (token.Trim().Length < MinimumLength)
            throw new InvalidOperationException(
                $"{Setting} (Chapter__AdminToken) must be at least {MinimumLength} characters; generate one with: openssl rand -base64 32");
        _hash = AccessTokens.Hash(token.Trim());
    }

    public bool IsConfigured => _hash is not null;

    public bool Matches(string token) => _hash is not null && CryptographicOperations.FixedTimeEquals(_hash, AccessTokens.Hash(token));
}

/// <summary>
/// Opaque bearer tokens: <c>Authorization: Bearer chapter_…</c>. A missing, unknown or revoked token is 401
/// with a problem that says which; a token that may not do something is 403.
/// </summary>
public sealed class TokenAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder,
    AccessTokens tokens, ConfiguredOperatorToken operatorToken)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "Bearer";
    private const int LongestToken = 200;

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        string? header = Request.Headers.Authorization;
        if (string.IsNullOrEmpty(header))
            return AuthenticateResult.NoResult();
        if (!header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
            return AuthenticateResult.Fail("The Authorization header must read 'Bearer <token>'.");
        var token = header["Bearer ".Length..].Trim();
        if (token.Length is 0 or > LongestToken)
            return AuthenticateResult.Fail("The bearer token is not one this service issued.");

        var caller = operatorToken.Matches(token)
            ? new Caller(CallerKind.Operator, null, null, null, false)
            : await tokens.FindAsync(token, Context.RequestAborted);
        return caller is null
            ? AuthenticateResult.Fail("The token is unknown or revoked, or its member has left the chapter.")
            : AuthenticateResult.Success(new AuthenticationTicket(caller.ToPrincipal(SchemeName), SchemeName));
    }

    protected override async Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        var failure = (await Context.AuthenticateAsync(SchemeName)).Failure?.Message;
        Response.StatusCode = StatusCodes.Status401Unauthorized;
        Response.Headers.WWWAuthenticate = failure is null ? "Bearer" : "Bearer error=\"invalid_token\"";
        await Problems.WriteAsync(Context, new ProblemDetails
            {
                Status = StatusCodes.Status401Unauthorized,
                Title = "Sign in first.",
                Detail = failure ?? "Send 'Authorization: Bearer <token>' with the token a leader or the operator issued to you.",
            });
    }

    protected override async Task HandleForbiddenAsync(AuthenticationProperties properties)
    {
        Response.StatusCode = StatusCodes.Status403Forbidden;
        await Problems.WriteAsync(Context, new ProblemDetails
            {
                Status = StatusCodes.Status403Forbidden,
                Title = "Not allowed.",
                Detail = "Your token does not allow this.",
            });
    }
}
