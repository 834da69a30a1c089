using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using Chapter.Testing;
using Wolverine.Runtime;
using Microsoft.Extensions.DependencyInjection;

namespace Chapter.Api.Tests;

/// <summary>
/// Several instances of the service on one database: Wolverine runs the async projection's agent on exactly one of the nodes
/// that know it, another with the daemon takes it over when that one stops or is killed, and one with the daemon off serves
/// requests and never applies.
/// </summary>
public sealed class TwoNodesApiTests
{
    private static bool Leads(ApiFixture node) =>
        node.Services.GetRequiredService<IWolverineRuntime>().Agents.AllRunningAgentUris()
            .Any(agent => agent.Scheme == "event-subscriptions" && agent.AbsolutePath.EndsWith("/activity/all"));

    [Fact]
    public async Task One_node_applies_the_projection_and_the_other_takes_over_when_it_stops()
    {
        var connectionString = await TestPostgres.CreateDatabaseAsync();
        await using var first = new ApiFixture();
        await first.StartOnAsync(connectionString);
        await using var second = new ApiFixture();
        await second.StartOnAsync(connectionString);
        var scenario = await new Scenario(first).WithChapterAsync();
        await scenario.AddMemberAsync("Anna");
        await first.WaitForProjectionsAsync();

        var until = DateTime.UtcNow.AddSeconds(10);
        while (Leads(first) == Leads(second) && DateTime.UtcNow < until)
            await Task.Delay(100);
        (Leads(first) ^ Leads(second)).ShouldBeTrue("exactly one node leads");
        var (leader, survivor) = Leads(first) ? (first, second) : (second, first);

        var stopped = Stopwatch.StartNew();
        await ((IAsyncDisposable)leader).DisposeAsync(); // stops its host; disposing it again at the end does nothing
        until = DateTime.UtcNow.AddSeconds(15);
        while (!Leads(survivor) && DateTime.UtcNow < until)
            await Task.Delay(100);
        Leads(survivor).ShouldBeTrue();
        stopped.Elapsed.ShouldBeLessThan(TimeSpan.FromSeconds(15));

        // The survivor applies what comes next, once.
        (await survivor.Operator().PostAsJsonAsync($"/api/chapters/{scenario.ChapterId}/members", new { name = "Bram", profession = "Realtor", languages = new[] { "nl" } }))
            .StatusCode.ShouldBe(System.Net.HttpStatusCode.Created);
        await survivor.WaitForProjectionsAsync();
        (await survivor.ScalarAsync("SELECT count(*) FROM proj_activity.members WHERE chapter_id = $1", scenario.ChapterId)).ShouldBe(2);
    }

    [Fact]
    public async Task When_the_leading_process_is_killed_a_node_with_the_daemon_takes_over_within_seconds_and_one_without_never_does()
    {
        var connectionString = await TestPostgres.CreateDatabaseAsync();
        using var killed = ServiceProcess.Start(connectionString, out var baseAddress);
        using var operatorOfKilled = ServiceProcess.Client(baseAddress, ApiFixture.OperatorToken);
        var until = DateTime.UtcNow.AddSeconds(60);
        while (!await LeadsAsync(operatorOfKilled, killed.Id))
        {
            killed.HasExited.ShouldBeFalse("the service process stopped before it led");
            DateTime.UtcNow.ShouldBeLessThan(until, "the service process did not come to lead the projection");
            await Task.Delay(200);
        }

        await using var survivor = new ApiFixture();
        await survivor.StartOnAsync(connectionString);
        // A node with the daemon off beside them: it must never come to apply, whoever dies.
        await using var servingOnly = new ApiFixture();
        servingOnly.Settings["Chapter:Daemon:Enabled"] = "false";
        await servingOnly.StartOnAsync(connectionString);
        var scenario = await new Scenario(servingOnly).WithChapterAsync();
        await scenario.AddMemberAsync("Anna");
        await Task.Delay(TimeSpan.FromSeconds(2));
        Leads(survivor).ShouldBeFalse("the first process still leads");

        var sinceKill = Stopwatch.StartNew();
        killed.Kill(entireProcessTree: true); // SIGKILL: no shutdown, no lock released by the process itself
        await killed.WaitForExitAsync();
        until = DateTime.UtcNow.AddSeconds(15);
        while (!Leads(survivor) && DateTime.UtcNow < until)
            await Task.Delay(50);
        Leads(survivor).ShouldBeTrue();
        sinceKill.Elapsed.ShouldBeLessThan(TimeSpan.FromSeconds(15));
        (await ActivityStatusAsync(servingOnly))["leader"].ShouldBeNull("the node with the daemon off never applies");

        await scenario.AddMemberAsync("Bram");
        await survivor.WaitForProjectionsAsync();
        (await survivor.ScalarAsync("SELECT count(*) FROM proj_activity.members WHERE chapter_id = $1", scenario.ChapterId)).ShouldBe(2);
    }

    [Fact]
    public async Task A_node_with_the_daemon_off_serves_requests_and_leaves_the_projections_to_a_node_that_runs_them()
    {
        var connectionString = await TestPostgres.CreateDatabaseAsync();
        await using var servingOnly = new ApiFixture();
        servingOnly.Settings["Chapter:Daemon:Enabled"] = "false";
        await servingOnly.StartOnAsync(connectionString);

        // Alone, it starts, answers and stores, and applies nothing: its status says what waits.
        var scenario = await new Scenario(servingOnly).WithChapterAsync();
        await scenario.AddMemberAsync("Anna");
        (await servingOnly.Operator().GetAsync("/health")).StatusCode.ShouldBe(HttpStatusCode.OK);
        var waiting = await ActivityStatusAsync(servingOnly);
        waiting["leader"].ShouldBeNull();
        waiting["lagEvents"]!.GetValue<long>().ShouldBeGreaterThan(0);
        await Should.ThrowAsync<TimeoutException>(() =>
            servingOnly.Services.GetRequiredService<Infrastructure.AsyncProjections>().WaitForAsync(1, TimeSpan.FromSeconds(2)));
        // Nobody runs the projection, so nobody can rebuild it: a 409 that says so, and nothing is started.
        var refused = await servingOnly.Operator().PostAsync("/api/admin/projections/activity/rebuild", null);
        refused.StatusCode.ShouldBe(HttpStatusCode.Conflict);
        (await refused.ReadJsonAsync())["detail"]!.GetValue<string>().ShouldContain("No node runs the activity projection");
        (await ActivityStatusAsync(servingOnly))["rebuildRequested"]!.GetValue<bool>().ShouldBeFalse();

        // A node with the daemon applies what the serving node stored; the serving node never comes to lead.
        await using var applying = new ApiFixture();
        await applying.StartOnAsync(connectionString);
        await servingOnly.WaitForProjectionsAsync();
        (await servingOnly.ScalarAsync("SELECT count(*) FROM proj_activity.members WHERE chapter_id = $1", scenario.ChapterId)).ShouldBe(1);
        Leads(applying).ShouldBeTrue();
        (await ActivityStatusAsync(servingOnly))["leader"].ShouldBeNull();

        // A rebuild asked for on the serving node is run by the node with the daemon.
        (await servingOnly.Operator().PostAsync("/api/admin/projections/activity/rebuild", null)).StatusCode.ShouldBe(HttpStatusCode.Accepted);
        var until = DateTime.UtcNow.AddSeconds(30);
        while ((await ActivityStatusAsync(servingOnly))["rebuildRequested"]!.GetValue<bool>() && DateTime.UtcNow < until)
            await Task.Delay(100);
        (await ActivityStatusAsync(servingOnly))["rebuildRequested"]!.GetValue<bool>().ShouldBeFalse();
        await scenario.AddMemberAsync("Bram");
        await servingOnly.WaitForProjectionsAsync();
        (await servingOnly.ScalarAsync("SELECT count(*) FROM proj_activity.members WHERE chapter_id = $1", scenario.ChapterId)).ShouldBe(2);

        // The applying node shuts down: the projection is not failed, only not applied until a node takes it again.
        await ((IAsyncDisposable)applying).DisposeAsync();
        await scenario.AddMemberAsync("Cleo");
        var left = await ActivityStatusAsync(servingOnly);
        left["state"]!.GetValue<string>().ShouldBe("running");
        left["error"].ShouldBeNull();
        left["lagEvents"]!.GetValue<long>().ShouldBeGreaterThan(0);
    }

    private static async Task<System.Text.Json.Nodes.JsonNode> ActivityStatusAsync(ApiFixture node) =>
        (await (await node.Operator().GetAsync("/api/admin/projections")).ReadJsonAsync())["items"]!.AsArray().Single(p => p!["name"]!.GetValue<string>() == "activity")!;

    private static async Task<bool> LeadsAsync(HttpClient operatorClient, int processId)
    {
        try
        {
            var response = await operatorClient.GetAsync("/api/admin/projections");
            if (!response.IsSuccessStatusCode)
                return false;
            var leader = (await response.ReadJsonAsync())["items"]!.AsArray().Single()!["leader"]?.GetValue<string>();
            return leader?.EndsWith($":{processId}") == true;
        }
        catch (HttpRequestException)
        {
            return false; // not listening yet
        }
    }
}
