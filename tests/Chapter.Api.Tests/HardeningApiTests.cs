using System.Net;
using System.Net.Http.Json;
using System.Text;

namespace Chapter.Api.Tests;

/// <summary>The API with a small write budget, so the limit can be reached.</summary>
public sealed class SmallWriteBudget : IAsyncLifetime
{
    public const int WritesPerMinute = 10;
    public ApiFixture Api { get; } = new();

    public Task InitializeAsync()
    {
        Api.Settings["Chapter:RateLimit:WritesPerMinute"] = WritesPerMinute.ToString();
        return Api.InitializeAsync();
    }

    public async Task DisposeAsync() => await ((IAsyncLifetime)Api).DisposeAsync();
}

public sealed class HardeningApiTests(SmallWriteBudget budget) : IClassFixture<SmallWriteBudget>
{
    private ApiFixture Api => budget.Api;

    [Fact]
    public async Task A_body_over_64_KiB_is_refused_with_413_before_anything_reads_it()
    {
        var huge = $$"""{"id": "big", "name": "{{new string('x', 70 * 1024)}}", "timeZone": "Europe/Stockholm", "currency": "SEK"}""";

        var response = await Api.Operator().PostAsync("/api/chapters", new StringContent(huge, Encoding.UTF8, "application/json"));

        await response.ShouldBeProblemAsync(HttpStatusCode.RequestEntityTooLarge);
        (await Api.ScalarAsync("SELECT count(*) FROM chapter_view WHERE id = 'big'")).ShouldBe(0);
    }

    [Fact]
    public async Task Each_token_has_its_own_write_budget_and_is_told_when_to_retry()
    {
        var scenario = await new Scenario(Api).WithChapterAsync();
        var (anna, bram) = (await scenario.AddMemberAsync("Anna"), await scenario.AddMemberAsync("Bram"));

        for (var i = 0; i < SmallWriteBudget.WritesPerMinute; i++)
            (await scenario.As(anna).PostAsJsonAsync(scenario.Referrals, scenario.ReferralBody(anna, bram))).StatusCode.ShouldBe(HttpStatusCode.Created);
        var refused = await scenario.As(anna).PostAsJsonAsync(scenario.Referrals, scenario.ReferralBody(anna, bram));

        await refused.ShouldBeProblemAsync(HttpStatusCode.TooManyRequests);
        refused.Headers.RetryAfter!.Delta!.Value.TotalSeconds.ShouldBeInRange(1, 60);
        // Reads are not limited, and another member's budget is untouched.
        (await scenario.As(anna).GetAsync(scenario.Referrals)).StatusCode.ShouldBe(HttpStatusCode.OK);
        (await scenario.As(bram).PostAsJsonAsync(scenario.Referrals, scenario.ReferralBody(bram, anna))).StatusCode.ShouldBe(HttpStatusCode.Created);
    }

    [Fact]
    public async Task Responses_carry_security_headers_and_no_cross_origin_access()
    {
        var response = await Api.Operator().GetAsync("/api/admin/projections");

        response.Headers.GetValues("X-Content-Type-Options").ShouldBe(["nosniff"]);
        response.Headers.GetValues("X-Frame-Options").ShouldBe(["DENY"]);
        response.Headers.GetValues("Referrer-Policy").ShouldBe(["no-referrer"]);
        response.Headers.GetValues("Content-Security-Policy").Single().ShouldContain("frame-ancestors 'none'");
        response.Headers.CacheControl!.NoStore.ShouldBeTrue();

        var preflight = new HttpRequestMessage(HttpMethod.Options, "/api/chapters");
        preflight.Headers.Add("Origin", "https://evil.example");
        preflight.Headers.Add("Access-Control-Request-Method", "POST");
        var answer = await Api.ClientWith(null).SendAsync(preflight);
        answer.Headers.Contains("Access-Control-Allow-Origin").ShouldBeFalse();
        var crossOrigin = new HttpRequestMessage(HttpMethod.Get, "/health");
        crossOrigin.Headers.Add("Origin", "https://evil.example");
        (await Api.ClientWith(null).SendAsync(crossOrigin)).Headers.Contains("Access-Control-Allow-Origin").ShouldBeFalse();
    }
}
