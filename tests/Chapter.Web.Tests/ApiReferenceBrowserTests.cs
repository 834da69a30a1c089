using Microsoft.Playwright;

namespace Chapter.Web.Tests;

/// <summary>The API reference at /docs: Scalar's page over /openapi/v1.json, whole under the site's Content-Security-Policy.</summary>
public sealed class ApiReferenceBrowserTests(BrowserFixture browser) : IClassFixture<BrowserFixture>
{
    [Fact]
    public async Task The_reference_shows_every_operation_from_this_process_alone()
    {
        var page = await browser.LaptopAsync();
        var elsewhere = new List<string>();
        page.Request += (_, request) =>
        {
            if (!request.Url.StartsWith(browser.BaseUrl) && !request.Url.StartsWith("data:"))
                elsewhere.Add(request.Url);
        };

        var answer = await page.GotoAsync($"{browser.BaseUrl}/docs");
        answer!.Status.ShouldBe(200);
        var policy = (await answer.HeaderValueAsync("content-security-policy"))!;
        policy.ShouldContain("script-src 'self' 'nonce-");
        policy.ShouldNotContain("unsafe-eval");

        await page.GetByRole(AriaRole.Button, new() { Name = "Open Group - Referrals" }).ClickAsync(new() { Timeout = 20_000 });
        await Assertions.Expect(page.GetByRole(AriaRole.Link, new() { NameRegex = new System.Text.RegularExpressions.Regex("^Give a referral to another member") }))
            .ToBeVisibleAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Link, new() { NameRegex = new System.Text.RegularExpressions.Regex("^The giver has the prospect and the receiver introduced") }))
            .ToBeVisibleAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Button, new() { Name = "Ask AI" })).ToHaveCountAsync(0);
        PageLog.Of(page).ShouldNotContain(line => line.Contains("Content Security Policy") || line.StartsWith("page error"),
            string.Join("\n", PageLog.Of(page)));
        elsewhere.ShouldBeEmpty("the page loads nothing from a CDN");

        // Each request gets a nonce of its own.
        var again = await page.GotoAsync($"{browser.BaseUrl}/docs");
        (await again!.HeaderValueAsync("content-security-policy")).ShouldNotBe(policy);
        Directory.CreateDirectory(Screenshots.Folder);
        await page.ScreenshotAsync(new() { Path = Path.Combine(Screenshots.Folder, "api-reference.png") });
    }
}
