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
        (await response.Content.ReadAsStringAsync()).ShouldBe("Healthy");
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
        ], ignoreOrder: true);
        var give = paths["/api/chapters/{chapterId}/referrals"]!["post"]!;
        give["description"]!.GetValue<string>().ShouldContain("consent");
        give["requestBody"].ShouldNotBeNull();
        give["responses"]!.AsObject().Select(r => r.Key).ShouldContain("201");
    }

    [Fact]
    public async Task An_unknown_path_is_a_problem_too()
    {
        await (await _http.GetAsync("/api/chapters/x/referrals/not-a-uuid")).ShouldBeProblemAsync(HttpStatusCode.NotFound);
    }
}
