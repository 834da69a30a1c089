using System.Net;
using System.Net.Http.Json;
using Chapter.LocalPostgres;
using Chapter.Testing;
using Npgsql;

namespace Chapter.Api.Tests;

/// <summary>EVENTSTORE case 9: PostgreSQL restarts under a running service (a cluster of the test's own, so others go on).</summary>
public sealed class PostgresRestartApiTests
{
    [Fact]
    public async Task After_postgresql_restarts_the_daemon_resumes_by_itself_without_restarting_the_service()
    {
        if (await ApiFixture.OnOwnClusterAsync() is not var (cluster, api))
            return; // a configured server or a container is not ours to stop
        await using var stopsLast = cluster;
        await using var stopsFirst = api;
        var scenario = await new Scenario(api).WithChapterAsync();
        await scenario.AddMemberAsync("Before");
        await api.WaitForProjectionsAsync();

        await cluster.RestartAsync();

        // Requests that meet a connection the restart killed may fail; a client retries them, as here.
        var added = false;
        for (var attempt = 0; !added && attempt < 50; attempt++)
        {
            try
            {
                var response = await scenario.Operator.PostAsJsonAsync($"/api/chapters/{scenario.ChapterId}/members",
                    new { name = "After", profession = "Trade", languages = new[] { "sv" } });
                added = response.StatusCode == HttpStatusCode.Created;
            }
            catch (HttpRequestException) { }
            if (!added)
                await Task.Delay(200);
        }
        added.ShouldBeTrue();

        var until = DateTime.UtcNow.AddSeconds(60);
        long members = 0;
        while (DateTime.UtcNow < until)
        {
            try
            {
                members = await api.ScalarAsync("SELECT count(*) FROM proj_activity.members WHERE chapter_id = $1", scenario.ChapterId);
                if (members >= 2)
                    break;
            }
            catch (NpgsqlException) { }
            await Task.Delay(250);
        }
        members.ShouldBeGreaterThanOrEqualTo(2, "the daemon did not resume after PostgreSQL restarted");
    }
}
