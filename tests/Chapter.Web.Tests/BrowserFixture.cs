using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Chapter.Testing;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Playwright;

namespace Chapter.Web.Tests;

/// <summary>
/// The service on a real port over a database of its own, and Debian's Chromium driven by Playwright
/// (Playwright's own browser download cannot work here; CHAPTER_CHROMIUM names another binary).
/// </summary>
public sealed class BrowserFixture : IAsyncLifetime
{
    public const string OperatorToken = "operator-token-for-the-browser-tests-0123456789";
    private readonly Factory _factory = new();
    private IPlaywright? _playwright;

    public IBrowser Browser { get; private set; } = null!;
    public string BaseUrl { get; private set; } = "";
    public HttpClient Operator { get; private set; } = null!;
    public string MailDirectory => _factory.MailDirectory;

    public async Task InitializeAsync()
    {
        _factory.ConnectionString = await TestPostgres.CreateDatabaseAsync();
        var port = FreePort();
        BaseUrl = $"http://127.0.0.1:{port}";
        _factory.UseKestrel(port);
        _factory.StartServer();
        Operator = Client(OperatorToken);

        _playwright = await Playwright.CreateAsync();
        Browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = Environment.GetEnvironmentVariable("CHAPTER_CHROMIUM") ?? "/usr/bin/chromium",
            Headless = true,
            // As root Chromium needs --no-sandbox; the rest keeps it from calling out of a closed network.
            Args = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync"],
        });
    }

    public HttpClient Client(string? token)
    {
        var client = new HttpClient { BaseAddress = new Uri(BaseUrl) };
        if (token is not null)
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return client;
    }

    /// <summary>A phone-sized page in the given browser language.</summary>
    public Task<IPage> PhoneAsync(string locale = "en-GB") => PageAsync(new BrowserNewContextOptions
    {
        ViewportSize = new ViewportSize { Width = 390, Height = 844 },
        Locale = locale,
        ExtraHTTPHeaders = new Dictionary<string, string> { ["Accept-Language"] = locale },
        IsMobile = true,
        HasTouch = true,
    });

    /// <summary>A laptop-sized page, as a leader reads the weekly report.</summary>
    public Task<IPage> LaptopAsync(string locale = "en-GB") => PageAsync(new BrowserNewContextOptions
    {
        ViewportSize = new ViewportSize { Width = 1280, Height = 900 },
        Locale = locale,
        ExtraHTTPHeaders = new Dictionary<string, string> { ["Accept-Language"] = locale },
        AcceptDownloads = true,
    });

    private async Task<IPage> PageAsync(BrowserNewContextOptions options)
    {
        var page = await (await Browser.NewContextAsync(options)).NewPageAsync();
        var seen = PageLog.Of(page);
        page.Console += (_, message) => seen.Enqueue($"console {message.Type}: {message.Text}");
        page.PageError += (_, error) => seen.Enqueue($"page error: {error}");
        page.RequestFailed += (_, request) => seen.Enqueue($"failed {request.Method} {request.Url}: {request.Failure}");
        page.Response += (_, response) => { if (response.Status >= 400) seen.Enqueue($"{response.Status} {response.Request.Method} {response.Url}"); };
        page.FrameNavigated += (_, frame) => { if (frame == page.MainFrame) seen.Enqueue($"navigated {frame.Url}"); };
        return page;
    }

    /// <summary>
    /// Opens a sign-in link and waits until the page it leads to has loaded. The URL is polled rather than
    /// awaited as a navigation event: sign-in replaces the location as soon as /api/me answers, which can be
    /// before the sign-in page itself has finished loading.
    /// </summary>
    public static async Task SignInAsync(IPage page, string signInUrl, string landsOn)
    {
        await page.GotoAsync(signInUrl, new PageGotoOptions { WaitUntil = WaitUntilState.Commit });
        try
        {
            await Assertions.Expect(page).ToHaveURLAsync(new Regex(landsOn), new() { Timeout = 20_000 });
            // The document's own state, polled: Playwright's load event for a page reached by location.replace() was once never
            // seen (the network had gone idle, the page had loaded), and the wait ran out. Polled from here: WaitForFunction
            // polls by eval in the page, which the pages' Content-Security-Policy refuses.
            var until = DateTime.UtcNow.AddSeconds(30);
            while (await ReadyStateAsync(page) != "complete")
            {
                if (DateTime.UtcNow > until)
                    throw new TimeoutException($"{page.Url} did not finish loading within 30 s.");
                await Task.Delay(50);
            }
        }
        catch (Exception failure) when (failure is PlaywrightException or TimeoutException)
        {
            var status = await page.Locator("#signin-status").AllTextContentsAsync();
            throw new TimeoutException(
                $"Sign-in did not reach {landsOn}; at {page.Url}, status \"{string.Join(" ", status)}\". What the page saw:\n  "
                + string.Join("\n  ", PageLog.Of(page)), failure);
        }
    }

    /// <summary>The document's readyState; "navigating" while a navigation replaces the document being asked.</summary>
    private static async Task<string> ReadyStateAsync(IPage page)
    {
        try
        {
            return await page.EvaluateAsync<string>("document.readyState");
        }
        catch (PlaywrightException) when (!page.IsClosed)
        {
            return "navigating";
        }
    }

    public async Task<JsonObject> PostAsync(HttpClient client, string path, object body, HttpStatusCode expected = HttpStatusCode.Created)
    {
        var response = await client.PostAsJsonAsync(path, body);
        response.StatusCode.ShouldBe(expected, await response.Content.ReadAsStringAsync());
        return JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsObject();
    }

    public async Task DisposeAsync()
    {
        if (Browser is not null)
            await Browser.CloseAsync();
        _playwright?.Dispose();
        await _factory.DisposeAsync();
        if (Directory.Exists(_factory.MailDirectory))
            Directory.Delete(_factory.MailDirectory, recursive: true);
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private sealed class Factory : WebApplicationFactory<Program>
    {
        public string ConnectionString { get; set; } = "";
        public string MailDirectory { get; } = Path.Combine(Path.GetTempPath(), $"chapter-browser-mail-{Guid.NewGuid():N}");

        protected override void ConfigureWebHost(IWebHostBuilder builder)
        {
            builder.UseSetting("ConnectionStrings:Chapter", ConnectionString);
            builder.UseSetting("Chapter:AdminToken", OperatorToken);
            builder.UseSetting("Chapter:Webhooks:SecretKey", Convert.ToBase64String(new byte[32]));
            // The operator sets up a chapter for every test; the write budget per token is the API tests' to check.
            builder.UseSetting("Chapter:RateLimit:WritesPerMinute", "1000000");
            // E-mails as files, in a folder of the test's own rather than the repository's .data/mail.
            builder.UseSetting("Chapter:Mail:PickupDirectory", MailDirectory);
            builder.UseEnvironment("Production");
        }
    }
}

/// <summary>A chapter with members and their sign-in links, made through the API as a leader would.</summary>
public sealed record BrowserChapter(string Id, Guid Anna, string AnnaSignIn, Guid Bram, string BramSignIn, HttpClient AnnaApi)
{
    public Guid Chi { get; private init; }
    public Guid Leader { get; private set; }
    public string LeaderSignIn { get; private init; } = "";
    public Dictionary<Guid, HttpClient> Api { get; } = [];

    public static async Task<BrowserChapter> CreateAsync(BrowserFixture browser)
    {
        var id = $"c-{Guid.NewGuid():N}"[..16];
        await browser.PostAsync(browser.Operator, "/api/chapters", new { id, name = "Stockholm City", timeZone = "Europe/Stockholm", currency = "SEK" });
        async Task<(Guid Id, string SignIn, string Token)> MemberAsync(string name, string profession, string role = "member")
        {
            var member = await browser.PostAsync(browser.Operator, $"/api/chapters/{id}/members", new { name, profession, languages = new[] { "sv", "en" }, role });
            var memberId = member["id"]!.GetValue<Guid>();
            var issued = await browser.PostAsync(browser.Operator, $"/api/chapters/{id}/members/{memberId}/tokens", new { label = "phone" });
            return (memberId, issued["signInUrl"]!.GetValue<string>(), issued["token"]!.GetValue<string>());
        }
        var anna = await MemberAsync("Anna Berg", "Accountant");
        var bram = await MemberAsync("Bram de Vries", "Realtor");
        var chi = await MemberAsync("Chi Nguyen", "Printer");
        var leader = await MemberAsync("Lena Leader", "Lawyer", "leader");
        var chapter = new BrowserChapter(id, anna.Id, anna.SignIn, bram.Id, bram.SignIn, browser.Client(anna.Token)) { Chi = chi.Id, LeaderSignIn = leader.SignIn };
        chapter.Api[anna.Id] = chapter.AnnaApi;
        chapter.Api[bram.Id] = browser.Client(bram.Token);
        chapter.Api[chi.Id] = browser.Client(chi.Token);
        chapter.Api[leader.Id] = browser.Client(leader.Token);
        chapter.Leader = leader.Id;
        return chapter;
    }

    public async Task<Guid> GiveAsync(string need = "A new office lease", Guid? from = null, Guid? to = null)
    {
        var response = await Api[from ?? Anna].PostAsJsonAsync($"/api/chapters/{Id}/referrals", new
        {
            receiverId = to ?? Bram,
            prospect = new { name = "Sara Lind", email = "sara@example.se", consent = true },
            need,
            temperature = "warm",
            language = "sv",
        });
        response.StatusCode.ShouldBe(HttpStatusCode.Created);
        return JsonNode.Parse(await response.Content.ReadAsStringAsync())!["id"]!.GetValue<Guid>();
    }

    public async Task ActAsync(Guid member, Guid referral, string step, object body)
    {
        var response = await Api[member].PostAsJsonAsync($"/api/chapters/{Id}/referrals/{referral}/{step}", body);
        response.StatusCode.ShouldBe(HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
    }

    public async Task<JsonArray> ReferralsAsync() =>
        JsonNode.Parse(await AnnaApi.GetStringAsync($"/api/chapters/{Id}/referrals"))!["items"]!.AsArray();
}

/// <summary>What a page saw (console, failed and refused requests, navigations), for the message when a step times out.</summary>
internal static class PageLog
{
    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<IPage, System.Collections.Concurrent.ConcurrentQueue<string>> Logs = new();

    public static System.Collections.Concurrent.ConcurrentQueue<string> Of(IPage page) => Logs.GetValue(page, _ => new());
}
