using System.Globalization;
using System.Threading.RateLimiting;
using Chapter.Api.Access;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.RateLimiting;

namespace Chapter.Api.Infrastructure;

/// <summary>
/// Limits and headers every response gets: a body size limit (413), a write budget per token (429 with
/// Retry-After), security headers. CORS is deliberately not enabled: browsers on other origins get no access.
/// </summary>
public static class Hardening
{
    public const long DefaultMaxBodyBytes = 64 * 1024;

    public static void AddChapterHardening(this WebApplicationBuilder builder)
    {
        var maxBodyBytes = builder.Configuration.GetValue("Chapter:MaxRequestBodyBytes", DefaultMaxBodyBytes);
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Limits.MaxRequestBodySize = maxBodyBytes);

        var writesPerMinute = builder.Configuration.GetValue("Chapter:RateLimit:WritesPerMinute", 120);
        builder.Services.AddRateLimiter(limiter =>
        {
            limiter.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
            // Reads are not limited here; writes share one budget per token, whatever the endpoint.
            limiter.GlobalLimiter = PartitionedRateLimiter.Create<HttpContext, string>(context =>
                HttpMethods.IsGet(context.Request.Method) || HttpMethods.IsHead(context.Request.Method) || HttpMethods.IsOptions(context.Request.Method)
                    ? RateLimitPartition.GetNoLimiter("reads")
                    : RateLimitPartition.GetFixedWindowLimiter(
                        Caller.From(context.User)?.RateLimitKey ?? $"anonymous:{context.Connection.RemoteIpAddress}",
                        _ => new FixedWindowRateLimiterOptions { PermitLimit = writesPerMinute, Window = TimeSpan.FromMinutes(1), QueueLimit = 0 }));
            // Signing in without a token: a budget per client address, so nobody can have links mailed to a list of addresses.
            var signInsPerHour = builder.Configuration.GetValue("Chapter:RateLimit:SignInRequestsPerHour", 20);
            limiter.AddPolicy(Access.SignInByEmail.RateLimitPolicy, context => RateLimitPartition.GetFixedWindowLimiter(
                $"sign-in:{context.Connection.RemoteIpAddress}",
                _ => new FixedWindowRateLimiterOptions { PermitLimit = signInsPerHour, Window = TimeSpan.FromHours(1), QueueLimit = 0 }));
            limiter.OnRejected = async (rejected, ct) =>
            {
                var retryAfter = rejected.Lease.TryGetMetadata(MetadataName.RetryAfter, out var wait) ? wait : TimeSpan.FromMinutes(1);
                var seconds = Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds));
                rejected.HttpContext.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
                var signingIn = rejected.HttpContext.Request.Path.StartsWithSegments("/api/signin");
                await Problems.WriteAsync(rejected.HttpContext, new ProblemDetails
                    {
                        Status = StatusCodes.Status429TooManyRequests,
                        Title = signingIn ? "Too many sign-in requests." : "Too many changes.",
                        Detail = signingIn
                            ? $"This address may ask {signInsPerHour} times an hour. Try again in {seconds} seconds."
                            : $"This token may make {writesPerMinute} changes a minute. Try again in {seconds} seconds.",
                    });
            };
        });
    }

    /// <summary>Runs first: refuses bodies over the limit before anything reads them.</summary>
    public static void UseBodySizeLimit(this WebApplication app)
    {
        var maxBodyBytes = app.Configuration.GetValue("Chapter:MaxRequestBodyBytes", DefaultMaxBodyBytes);
        app.Use(async (context, next) =>
        {
            if (context.Request.ContentLength > maxBodyBytes)
            {
                await Problems.WriteAsync(context, StatusCodes.Status413PayloadTooLarge, "The request body is too large.",
                    $"Request bodies can be at most {maxBodyBytes / 1024} KiB.");
                return;
            }
            // Bodies without a length (chunked) are cut off by the server at the same limit.
            if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
                limit.MaxRequestBodySize = maxBodyBytes;
            await next();
        });
    }

    public static void UseSecurityHeaders(this WebApplication app) =>
        app.Use(async (context, next) =>
        {
            context.Response.OnStarting(() =>
            {
                var headers = context.Response.Headers;
                headers.XContentTypeOptions = "nosniff";
                headers.XFrameOptions = "DENY";
                // Sign-in links carry a token in the fragment; never let a page leak its address onward.
                headers["Referrer-Policy"] = "no-referrer";
                headers["Cross-Origin-Opener-Policy"] = "same-origin";
                headers["Cross-Origin-Resource-Policy"] = "same-origin";
                var isHtml = context.Response.ContentType?.StartsWith("text/html", StringComparison.OrdinalIgnoreCase) == true;
                headers.ContentSecurityPolicy = context.Request.Path == "/meeting-sw.js"
                    // A service worker runs under its own script's policy: it may fetch this site's pages, nothing else.
                    ? "default-src 'self'"
                    : !isHtml ? "default-src 'none'; frame-ancestors 'none'"
                    // The API reference's own inline scripts by their nonce; its components style themselves inline.
                    : ApiReference.ScriptNonce(context) is { } nonce
                        ? $"default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self' 'nonce-{nonce}'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
                        : "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";
                // Answers to a token holder may carry personal data: no shared or browser cache keeps them.
                if (context.Request.Headers.Authorization.Count > 0 && !headers.ContainsKey("Cache-Control"))
                    headers.CacheControl = "no-store";
                return Task.CompletedTask;
            });
            await next();
        });
}
