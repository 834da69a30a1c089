using Chapter.Testing;
using System.Net;
using System.Text.Json.Nodes;

namespace Chapter.Api.Tests;

/// <summary>A database of its own, poisoned on purpose: an event no projection can apply.</summary>
public sealed class PoisonedProjectionApiTests(ApiFixture api) : IClassFixture<ApiFixture>
{
    private readonly HttpClient _http = api.Operator();

    [Fact]
    public async Task A_projection_stopped_at_a_poison_event_shows_in_health_and_status_with_the_events_sequence()
    {
        var scenario = await new Scenario(api).WithChapterAsync();
        await scenario.AddMemberAsync("Anna");
        // A given referral whose payload lacks everything: the fact table refuses its NULLs.
        var poison = await RawEvents.InsertAsync(api.ConnectionString, "referral-poison", "x", "referral.given.v2", "{}");

        JsonNode status = null!;
        var until = DateTime.UtcNow.AddSeconds(20);
        do
        {
            await Task.Delay(50);
            status = (await (await _http.GetAsync("/api/admin/projections")).ReadJsonAsync())["items"]!.AsArray().Single()!;
        } while (status["state"]!.GetValue<string>() != "failed" && DateTime.UtcNow < until);

        status["state"]!.GetValue<string>().ShouldBe("failed");
        status["errorSequence"]!.GetValue<long>().ShouldBe(poison);
        var health = await _http.GetAsync("/health");
        health.StatusCode.ShouldBe(HttpStatusCode.OK);
        var report = JsonNode.Parse(await health.Content.ReadAsStringAsync())!;
        report["status"]!.GetValue<string>().ShouldBe("Degraded");
        report["checks"]!.AsArray().Single(c => c!["name"]!.GetValue<string>() == "projections")!["description"]!.GetValue<string>()
            .ShouldContain($"stopped at event {poison}");
        // Writes go on: only the projection stopped.
        await scenario.AddMemberAsync("Bram");
    }
}
