using System.Diagnostics;
using System.Net.Http.Json;
using Chapter.Testing;
using JasperFx.Events.Daemon;
using Microsoft.Extensions.DependencyInjection;

namespace Chapter.Api.Tests;

/// <summary>Two instances of the service on one database: Marten's HotCold daemon lets exactly one apply the async projection.</summary>
public sealed class TwoNodesApiTests
{
    private static bool Leads(ApiFixture node) =>
        node.Services.GetRequiredService<IProjectionCoordinator>().DaemonForMainDatabase().CurrentAgents()
            .Any(agent => agent.Name.Identity == "activity:All");

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
}
