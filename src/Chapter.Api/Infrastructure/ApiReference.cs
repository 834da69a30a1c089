using Scalar.AspNetCore;

namespace Chapter.Api.Infrastructure;

/// <summary>The API reference at <c>/docs</c>: Scalar's page over <c>/openapi/v1.json</c>, served from this process.</summary>
public static class ApiReference
{
    public const string Path = "/docs";

    public static void MapApiReference(this WebApplication app) =>
        app.MapScalarApiReference(Path, options => options
                .WithTitle("Chapter API")
                .WithOpenApiRoutePattern("/openapi/{documentName}.json")
                // Nothing from a CDN: the fonts are the browser's, the script is served by this process.
                .DisableDefaultFonts()
                // No calls out: no AI chat, MCP or SDK-generator links, which would send the document to Scalar's services.
                .DisableAgent()
                .DisableMcp()
                .HideDeveloperTools()
                // Its inline scripts carry a fresh nonce, which the page's Content-Security-Policy names (UseSecurityHeaders).
                .WithNonce())
            .AllowAnonymous();

    /// <summary>The nonce Scalar put on this response's scripts, if it is the reference page.</summary>
    public static string? ScriptNonce(HttpContext context) => context.Items[ScalarOptions.NonceHttpContextItemKey] as string;
}
