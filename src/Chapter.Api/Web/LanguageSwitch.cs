using Microsoft.AspNetCore.Localization;

namespace Chapter.Api.Web;

/// <summary>The pages' languages (those of the chapters we started from): chosen from the browser's, with a switch that remembers.</summary>
public static class LanguageSwitch
{
    public static readonly string[] Codes = ["en", "sv", "nl", "vi"];

    public static string Link(string code, string returnUrl) => $"/language/{code}?returnUrl={Uri.EscapeDataString(returnUrl)}";

    public static void MapLanguageSwitch(this IEndpointRouteBuilder routes) =>
        routes.MapGet("/language/{code}", (string code, string? returnUrl, HttpContext context) =>
            {
                if (!Codes.Contains(code))
                    return Results.NotFound();
                context.Response.Cookies.Append(CookieRequestCultureProvider.DefaultCookieName,
                    CookieRequestCultureProvider.MakeCookieValue(new RequestCulture(code)),
                    new CookieOptions { MaxAge = TimeSpan.FromDays(365), IsEssential = true, SameSite = SameSiteMode.Lax, HttpOnly = true });
                // Only back to a page of this site.
                return Results.LocalRedirect(returnUrl is { Length: > 0 } && returnUrl.StartsWith('/') && !returnUrl.StartsWith("//") ? returnUrl : "/give");
            })
            .AllowAnonymous()
            .ExcludeFromDescription();

    public static void AddChapterWeb(this WebApplicationBuilder builder)
    {
        builder.Services.AddLocalization();
        // Razor's encoder writes every letter outside Basic Latin as an entity ("Trao m&#x1ED9;t"); pages are UTF-8, so they
        // carry Swedish and Vietnamese as they are. What HTML needs escaped (<, >, &, quotes) still is.
        builder.Services.Configure<Microsoft.Extensions.WebEncoders.WebEncoderOptions>(options =>
            options.TextEncoderSettings = new System.Text.Encodings.Web.TextEncoderSettings(System.Text.Unicode.UnicodeRanges.All));
        builder.Services.AddRazorPages(options => options.RootDirectory = "/Web");
        // Razor components render the leader's report as HTML on the server (static rendering, no circuit).
        builder.Services.AddRazorComponents();
        builder.Services.Configure<RequestLocalizationOptions>(options =>
        {
            options.SetDefaultCulture(Codes[0]).AddSupportedCultures(Codes).AddSupportedUICultures(Codes);
            options.ApplyCurrentCultureToResponseHeaders = true;
        });
    }

    public static void MapChapterWeb(this WebApplication app)
    {
        app.MapRazorPages().AllowAnonymous();
        app.MapLanguageSwitch();
        app.MapGet("/", () => Results.Redirect("/give")).AllowAnonymous().ExcludeFromDescription();
    }
}
