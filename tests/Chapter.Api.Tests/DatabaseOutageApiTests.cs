using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Chapter.LocalPostgres;
using Chapter.Testing;
using Npgsql;

namespace Chapter.Api.Tests;

/// <summary>
/// PostgreSQL stopped under a running service (a cluster of the test's own): every request gets a 503 problem with
/// Retry-After in bounded time, /health names the failing check, and everything works again once it is back.
/// </summary>
public sealed class DatabaseOutageApiTests
{
    [Fact]
    public async Task While_postgresql_is_down_requests_get_503_with_retry_after_and_the_service_recovers_by_itself()
    {
        if (await ApiFixture.OnOwnClusterAsync() is not var (cluster, api))
            return; // a configured server or a container is not ours to stop
        await using var stopsLast = cluster;
        await using var stopsFirst = api;
        var scenario = await new Scenario(api).WithChapterAsync();
        var anna = await scenario.AddMemberAsync("Anna");
        var bram = await scenario.AddMemberAsync("Bram");
        var given = await scenario.GiveAsync(anna, bram);
        await api.WaitForProjectionsAsync();

        await cluster.StopAsync();

        var members = $"/api/chapters/{scenario.ChapterId}/members";
        var attempts = new (string What, Func<Task<HttpResponseMessage>> Send)[]
        {
            ("add a member", () => scenario.Operator.PostAsJsonAsync(members, new { name = "Cleo", profession = "Baker", languages = new[] { "sv" } })),
            ("give", () => scenario.As(anna).PostAsJsonAsync(scenario.Referrals, scenario.ReferralBody(anna, bram))),
            ("accept", () => scenario.ActAsync(bram, given, "accept", new { })),
            ("read a referral", () => scenario.As(anna).GetAsync($"{scenario.Referrals}/{given}")),
            ("read the members", () => scenario.Operator.GetAsync(members)),
            ("reciprocity", () => scenario.As(anna).GetAsync($"/api/chapters/{scenario.ChapterId}/reciprocity")),
            ("projection status", () => scenario.Operator.GetAsync("/api/admin/projections")),
        };
        foreach (var (what, send) in attempts)
        {
            var took = Stopwatch.StartNew();
            var response = await send();
            took.Elapsed.ShouldBeLessThan(TimeSpan.FromSeconds(10), what);
            await response.ShouldBeProblemAsync(HttpStatusCode.ServiceUnavailable);
            response.Headers.RetryAfter.ShouldNotBeNull(what);
        }
        var health = await api.CreateClient().GetAsync("/health");
        health.StatusCode.ShouldBe(HttpStatusCode.ServiceUnavailable);
        var checks = JsonNode.Parse(await health.Content.ReadAsStringAsync())!["checks"]!.AsArray();
        checks.Single(c => c!["name"]!.GetValue<string>() == "postgres")!["status"]!.GetValue<string>().ShouldBe("Unhealthy");

        await cluster.StartAgainAsync();

        // Back by itself: writes, reads and the daemon, without restarting the service.
        var until = DateTime.UtcNow.AddSeconds(30);
        HttpResponseMessage added;
        do
        {
            added = await scenario.Operator.PostAsJsonAsync(members, new { name = "Cleo", profession = "Baker", languages = new[] { "sv" } });
            if (added.StatusCode != HttpStatusCode.Created)
                await Task.Delay(200);
        } while (added.StatusCode != HttpStatusCode.Created && DateTime.UtcNow < until);
        added.StatusCode.ShouldBe(HttpStatusCode.Created);
        (await scenario.ActAsync(bram, given, "accept", new { })).StatusCode.ShouldBe(HttpStatusCode.OK);
        long projected = 0;
        while (projected < 3 && DateTime.UtcNow < until.AddSeconds(30))
        {
            try
            {
                projected = await api.ScalarAsync("SELECT count(*) FROM proj_activity.members WHERE chapter_id = $1", scenario.ChapterId);
            }
            catch (NpgsqlException) { } // the test's own pooled connection, broken by the stop
            await Task.Delay(200);
        }
        projected.ShouldBe(3);
        (await api.CreateClient().GetAsync("/health")).StatusCode.ShouldBe(HttpStatusCode.OK);
    }
}
