using System.Net;
using System.Net.Http.Json;
using Chapter.Testing;

namespace Chapter.Api.Tests;

/// <summary>
/// README's "Adding a database" by a rolling restart: while one node has the new database in its settings and another not
/// yet, chapters placed in it by the first are served by both, and its projection applies their events.
/// </summary>
public sealed class RollingRestartApiTests
{
    [Fact]
    public async Task A_node_not_restarted_yet_serves_the_chapters_the_restarted_one_placed_in_the_new_database()
    {
        var main = await TestPostgres.CreateDatabaseAsync();
        var (east, west) = (await TestPostgres.CreateDatabaseAsync(), await TestPostgres.CreateDatabaseAsync());
        await using var notYet = new ApiFixture();
        notYet.Settings["Chapter:Databases:east:ConnectionString"] = east;
        await notYet.StartOnAsync(main);
        await using var restarted = new ApiFixture();
        restarted.Settings["Chapter:Databases:east:ConnectionString"] = east;
        restarted.Settings["Chapter:Databases:west:ConnectionString"] = west;
        await restarted.StartOnAsync(main);

        var placed = await new Scenario(restarted).WithChapterAsync(database: "west");
        var anna = await placed.AddMemberAsync("Anna");
        var annasToken = await placed.IssueTokenAsync(placed.ChapterId, anna);
        // The node that does not have west in its settings finds it in Marten's registry, and serves its chapter.
        var bramAdded = await notYet.Operator().PostAsJsonAsync($"/api/chapters/{placed.ChapterId}/members", new { name = "Bram", profession = "Baker", languages = new[] { "sv" } });
        bramAdded.StatusCode.ShouldBe(HttpStatusCode.Created);
        var bram = (await bramAdded.ReadJsonAsync())["id"]!.GetValue<Guid>();
        var given = await notYet.ClientWith(annasToken).PostAsJsonAsync(placed.Referrals, placed.ReferralBody(anna, bram));
        given.StatusCode.ShouldBe(HttpStatusCode.Created, await given.Content.ReadAsStringAsync());
        (await Sql.CountAsync(west, $"SELECT count(*) FROM mt_events WHERE tenant_id = '{placed.ChapterId}'")).ShouldBe(4);
        (await Sql.CountAsync(east, $"SELECT count(*) FROM mt_events WHERE tenant_id = '{placed.ChapterId}'")).ShouldBe(0);

        var until = DateTime.UtcNow.AddSeconds(30);
        while (await Sql.CountAsync(west, "SELECT count(*) FROM proj_activity.referrals") < 1)
        {
            DateTime.UtcNow.ShouldBeLessThan(until, "west's projection applies the give");
            await Task.Delay(100);
        }
        (await Sql.CountAsync(west, $"SELECT count(*) FROM proj_activity.members WHERE chapter_id = '{placed.ChapterId}'")).ShouldBe(2);
    }
}
