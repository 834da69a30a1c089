using Microsoft.Extensions.DependencyInjection;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;

namespace Chapter.Api.Tests;

/// <summary>A rebuild of the activity projection while members keep joining: nothing is lost or doubled, and reads go on.</summary>
public sealed class RebuildWhileWritingApiTests(ApiFixture api, Xunit.Abstractions.ITestOutputHelper output) : IClassFixture<ApiFixture>
{
    [Fact]
    public async Task A_rebuild_while_events_keep_arriving_ends_equal_to_the_events_and_reads_answer_throughout()
    {
        var scenario = await new Scenario(api).WithChapterAsync();
        for (var i = 0; i < 20; i++)
            await scenario.AddMemberAsync($"Before {i}");
        await api.WaitForProjectionsAsync();
        var integration = await scenario.IntegrationAsync();

        using var writing = new CancellationTokenSource();
        var joined = 0;
        var writingSince = System.Diagnostics.Stopwatch.StartNew();
        // EVENTSTORE case 11 asks for about a thousand events a second: more than requests over HTTP reach on this machine
        // beside the test (~400 a second), so most writers append through the service's own Marten store, with its inline
        // views, as its handlers do. One writer goes through the API.
        var store = api.Services.GetRequiredService<Marten.IDocumentStore>();
        var writers = Enumerable.Range(0, 6).Select(w => Task.Run(async () =>
        {
            while (!writing.IsCancellationRequested)
            {
                await using var session = store.LightweightSession(scenario.ChapterId);
                for (var i = 0; i < 5; i++)
                {
                    var member = Guid.NewGuid();
                    session.Events.StartStream($"member-{member}",
                        new Domain.Members.MemberJoined(member, scenario.ChapterId, $"During {w}", "Trade", ["sv"], DateTimeOffset.UtcNow));
                }
                await session.SaveChangesAsync();
                Interlocked.Add(ref joined, 5);
            }
        })).Append(Task.Run(async () =>
        {
            while (!writing.IsCancellationRequested)
            {
                (await scenario.Operator.PostAsJsonAsync($"/api/chapters/{scenario.ChapterId}/members",
                    new { name = "During (API)", profession = "Trade", languages = new[] { "sv" } })).StatusCode.ShouldBe(HttpStatusCode.Created);
                Interlocked.Increment(ref joined);
            }
        }));
        var writer = Task.WhenAll(writers);

        (await scenario.Operator.PostAsync("/api/admin/projections/activity/rebuild", null)).StatusCode.ShouldBe(HttpStatusCode.Accepted);
        var reads = 0;
        var until = DateTime.UtcNow.AddSeconds(30);
        JsonNode status;
        do
        {
            (await integration.GetAsync($"/api/chapters/{scenario.ChapterId}/reciprocity")).StatusCode.ShouldBe(HttpStatusCode.OK);
            reads++;
            status = (await (await scenario.Operator.GetAsync("/api/admin/projections")).ReadJsonAsync())["items"]!.AsArray().Single()!;
            await Task.Delay(20);
        } while (status["rebuildRequested"]!.GetValue<bool>() && DateTime.UtcNow < until);
        status["rebuildRequested"]!.GetValue<bool>().ShouldBeFalse();
        await Task.Delay(300); // appends go on a little after the swap too
        await writing.CancelAsync();
        await writer;
        output.WriteLine($"{joined} members joined during the rebuild, {joined / writingSince.Elapsed.TotalSeconds:F0} a second");

        await api.WaitForProjectionsAsync();
        joined.ShouldBeGreaterThan(0);
        reads.ShouldBeGreaterThan(0);
        (await api.ScalarAsync("SELECT count(*) FROM proj_activity.members WHERE chapter_id = $1", scenario.ChapterId)).ShouldBe(20 + joined);
        (await api.ScalarAsync("SELECT count(DISTINCT id) FROM proj_activity.members WHERE chapter_id = $1", scenario.ChapterId)).ShouldBe(20 + joined);
        (await api.ScalarAsync("SELECT count(*) FROM member_view WHERE chapter_id = $1", scenario.ChapterId)).ShouldBe(20 + joined);
    }

    [Fact]
    public async Task A_rebuild_asked_for_again_as_soon_as_one_ends_while_referrals_keep_coming_ends_too_and_equal_to_the_events()
    {
        var scenario = await new Scenario(api).WithChapterAsync();
        var members = new List<Guid>();
        for (var i = 0; i < 10; i++)
            members.Add(await scenario.AddMemberAsync($"Member {i}"));
        for (var i = 0; i < 100; i++)
            await scenario.GiveAsync(members[i % 10], members[(i + 1) % 10]);
        await api.WaitForProjectionsAsync();

        using var writing = new CancellationTokenSource();
        var given = 0;
        var writer = Task.Run(async () =>
        {
            while (!writing.IsCancellationRequested)
            {
                await scenario.GiveAsync(members[given % 10], members[(given + 3) % 10]);
                Interlocked.Increment(ref given);
                await Task.Delay(20);
            }
        });

        for (var rebuild = 1; rebuild <= 2; rebuild++)
        {
            (await scenario.Operator.PostAsync("/api/admin/projections/activity/rebuild", null)).StatusCode.ShouldBe(HttpStatusCode.Accepted);
            var until = DateTime.UtcNow.AddSeconds(60);
            JsonNode status;
            do
            {
                await Task.Delay(50);
                status = (await (await scenario.Operator.GetAsync("/api/admin/projections")).ReadJsonAsync())["items"]!.AsArray().Single()!;
            } while (status["rebuildRequested"]!.GetValue<bool>() && DateTime.UtcNow < until);
            status["rebuildRequested"]!.GetValue<bool>().ShouldBeFalse($"rebuild {rebuild} did not end within 60 s: {status.ToJsonString()}\nThe service logged:\n  " +
                string.Join("\n  ", api.Logs.Lines.Where(l => l.StartsWith("Warning") || l.StartsWith("Error")).Select(l => l[..Math.Min(l.Length, 400)]).Distinct().TakeLast(12)));
            status["rebuildError"].ShouldBeNull();
        }
        await writing.CancelAsync();
        await writer;
        output.WriteLine($"{given} referrals given during the two rebuilds");

        await api.WaitForProjectionsAsync();
        given.ShouldBeGreaterThan(0);
        (await api.ScalarAsync("SELECT count(*) FROM proj_activity.referrals WHERE chapter_id = $1", scenario.ChapterId)).ShouldBe(100 + given);
        (await api.ScalarAsync("SELECT count(*) FROM referral_view WHERE chapter_id = $1", scenario.ChapterId)).ShouldBe(100 + given);
    }
}
