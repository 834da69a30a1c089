using System.Net;
using System.Text.Json.Nodes;

namespace Chapter.Api.Tests;

public sealed class ServiceApiTests(ApiFixture api) : IClassFixture<ApiFixture>
{
    private readonly HttpClient _http = api.CreateClient();

    [Fact]
    public async Task Health_is_ok_when_postgresql_answers()
    {
        var response = await _http.GetAsync("/health");
        response.StatusCode.ShouldBe(HttpStatusCode.OK);
        var health = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        health["status"]!.GetValue<string>().ShouldBe("Healthy");
        health["checks"]!.AsArray().Select(c => c!["name"]!.GetValue<string>()).ShouldBe(["postgres", "projections"], ignoreOrder: true);
    }

    [Fact]
    public async Task The_icon_browsers_ask_for_is_served_without_signing_in()
    {
        var ico = await _http.GetAsync("/favicon.ico");
        ico.StatusCode.ShouldBe(HttpStatusCode.OK);
        ico.Content.Headers.ContentType!.MediaType.ShouldBe("image/x-icon");
        var svg = await _http.GetAsync("/favicon.svg");
        svg.StatusCode.ShouldBe(HttpStatusCode.OK);
        svg.Content.Headers.ContentType!.MediaType.ShouldBe("image/svg+xml");
    }

    [Fact]
    public async Task The_openapi_document_describes_every_endpoint()
    {
        var document = JsonNode.Parse(await _http.GetStringAsync("/openapi/v1.json"))!;
        var paths = document["paths"]!.AsObject();

        paths.Select(p => p.Key).ShouldBe([
            "/api/chapters",
            "/api/chapters/{chapterId}",
            "/api/chapters/{chapterId}/members",
            "/api/chapters/{chapterId}/members/{memberId}",
            "/api/chapters/{chapterId}/members/{memberId}/leave",
            "/api/chapters/{chapterId}/referrals",
            "/api/chapters/{chapterId}/referrals/{referralId}",
            "/api/chapters/{chapterId}/referrals/{referralId}/accept",
            "/api/chapters/{chapterId}/referrals/{referralId}/decline",
            "/api/chapters/{chapterId}/referrals/{referralId}/close",
            "/api/chapters/{chapterId}/referrals/{referralId}/thank",
            "/api/chapters/{chapterId}/one-to-ones",
            "/api/chapters/{chapterId}/members/{memberId}/relationships",
            "/api/chapters/{chapterId}/members/{memberId}/giving",
            "/api/chapters/{chapterId}/reciprocity",
            "/api/admin/projections",
            "/api/admin/projections/{name}/rebuild",
            "/api/chapters/{chapterId}/reports/weekly/{isoWeek}",
            "/api/chapters/{chapterId}/referrals/{referralId}/prospect",
            "/api/chapters/{chapterId}/members/{memberId}/tokens",
            "/api/chapters/{chapterId}/members/{memberId}/tokens/{tokenId}",
            "/api/chapters/{chapterId}/integrations",
            "/api/chapters/{chapterId}/integrations/{tokenId}",
            "/api/chapters/{chapterId}/events",
            "/api/me",
            "/api/chapters/{chapterId}/members/{memberId}/notifications",
            "/api/chapters/{chapterId}/referrals/{referralId}/introduce",
            "/api/chapters/{chapterId}/members/{memberId}/profile",
            "/api/chapters/{chapterId}/asks",
            "/api/chapters/{chapterId}/members/{memberId}/suggestions",
            "/api/chapters/{chapterId}/contact-spheres",
            "/api/chapters/{chapterId}/meetings",
            "/api/chapters/{chapterId}/meetings/{meetingId}",
            "/api/chapters/{chapterId}/meetings/attendance.csv",
            "/api/chapters/{chapterId}/meetings/{meetingId}/attendance/{memberId}",
            "/api/chapters/{chapterId}/meetings/{meetingId}/attendance/{memberId}/substitute",
            "/api/chapters/{chapterId}/meetings/{meetingId}/close",
            "/api/chapters/{chapterId}/visitors",
            "/api/chapters/{chapterId}/visitors/{visitorId}",
            "/api/chapters/{chapterId}/visitors/{visitorId}/follow-up",
            "/api/chapters/{chapterId}/visitors/{visitorId}/personal-data",
            "/api/chapters/{chapterId}/webhooks",
            "/api/chapters/{chapterId}/webhooks/{webhookId}",
            "/api/chapters/{chapterId}/webhooks/{webhookId}/deliveries",
            "/api/chapters/{chapterId}/webhooks/{webhookId}/redeliver",
            "/api/admin/outbox", "/api/admin/databases", "/api/admin/databases/{name}/full",
            "/api/chapters/{chapterId}/referrals/{referralId}/correct",
            "/api/chapters/{chapterId}/referrals/{referralId}/withdraw",
            "/api/chapters/{chapterId}/referrals/{referralId}/redirect",
            "/api/chapters/{chapterId}/one-to-ones/{oneToOneId}",
            "/api/chapters/{chapterId}/members/{memberId}/invite",
            "/api/signin/email",
            "/api/signin/exchange",
            "/api/chapters/{chapterId}/referrals/{referralId}/introduction",
            "/api/chapters/{chapterId}/members/{memberId}/personal-data",
            "/api/chapters/{chapterId}/webhooks/{webhookId}/rotate-secret",
            "/api/chapters/{chapterId}/export",
            "/api/chapters/{chapterId}/members/{memberId}/export",
        ], ignoreOrder: true);
        document["components"]!["securitySchemes"]!["Bearer"]!["scheme"]!.GetValue<string>().ShouldBe("bearer");
        var give = paths["/api/chapters/{chapterId}/referrals"]!["post"]!;
        give["description"]!.GetValue<string>().ShouldContain("consent");
        give["requestBody"].ShouldNotBeNull();
        give["responses"]!.AsObject().Select(r => r.Key).ShouldContain("201");
    }

    [Fact]
    public async Task Each_circulation_figure_is_defined_in_the_openapi_description()
    {
        var document = JsonNode.Parse(await _http.GetStringAsync("/openapi/v1.json"))!;
        var figures = document["components"]!["schemas"]!["CirculationFigures"]!["properties"]!.AsObject();

        foreach (var figure in new[] { "circulation", "cycleShare", "medianReach", "givingGini", "payItForwardRate", "loopClosures", "closedLoopShare", "medianHoursToAccept", "closedWonValue" })
            figures[figure]!["description"]!.GetValue<string>().ShouldNotBeNullOrWhiteSpace(figure);
    }

    [Fact]
    public async Task No_endpoint_offers_a_balance_between_two_members()
    {
        var document = (await _http.GetStringAsync("/openapi/v1.json")).ToLowerInvariant();
        foreach (var word in new[] { "balance", "owes", "owed", "debt" })
            System.Text.RegularExpressions.Regex.IsMatch(document, $@"\b{word}\b").ShouldBeFalse(word);
        document.ShouldNotContain("\"net\"");
    }

    [Fact]
    public async Task An_unknown_path_is_a_problem_too()
    {
        // Without a token every path is 401, known or not: no map of the API for strangers.
        await (await _http.GetAsync("/api/chapters/x/referrals/not-a-uuid")).ShouldBeProblemAsync(HttpStatusCode.Unauthorized);
        await (await api.Operator().GetAsync("/api/chapters/x/referrals/not-a-uuid")).ShouldBeProblemAsync(HttpStatusCode.NotFound);
    }
}
