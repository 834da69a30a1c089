using System.Diagnostics;
using System.Net.Http.Headers;
using System.Net;
using System.Text.Json.Nodes;
using Npgsql;

namespace Chapter.Bench;

/// <summary>
/// Rebuilds of the activity projection, one after another, over a history of generated events while clients keep giving
/// referrals through the API: how long each takes, and how many stalled (not done within ten times the median of those
/// done before it). At the end, the rebuilt tables must hold every referral given, before and during.
/// </summary>
internal static class RebuildBenchmark
{
    private static readonly TimeSpan FirstCap = TimeSpan.FromMinutes(3);
    private static readonly TimeSpan GiveEvery = TimeSpan.FromMilliseconds(20);

    public static async Task RunAsync(string serverConnectionString, int times, int events)
    {
        await using var admin = NpgsqlDataSource.Create(serverConnectionString);
        await using (var create = admin.CreateCommand("DROP DATABASE IF EXISTS bench_rebuild WITH (FORCE); CREATE DATABASE bench_rebuild"))
            await create.ExecuteNonQueryAsync();
        var connectionString = new NpgsqlConnectionStringBuilder(serverConnectionString) { Database = "bench_rebuild" }.ConnectionString;
        await using var db = NpgsqlDataSource.Create(connectionString);
        (await BenchStore.CreateSchemaAsync(connectionString, db)).Dispose();
        var stopwatch = Stopwatch.StartNew();
        await CatchUpBenchmark.LoadAsync(db, CatchUpBenchmark.Generate(events, chapters: 20, membersPerChapter: 30, DateTimeOffset.UtcNow));
        Console.WriteLine($"Loaded {await AppendBenchmark.ScalarAsync(db, "SELECT count(*) FROM mt_events")} generated events in {stopwatch.Elapsed.TotalSeconds:N1} s");

        using var service = HttpBenchmark.StartService(connectionString, out var address);
        try
        {
            await HttpBenchmark.WaitUntilListeningAsync(service, address);
            var chapter = await HttpBenchmark.SetUpChapterAsync(address);
            using var http = new HttpClient { BaseAddress = address };
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", HttpBenchmark.OperatorToken);
            Console.WriteLine($"First catch-up of the activity projection: {await HttpBenchmark.CaughtUpAsync(http):N1} s");

            using var writing = new CancellationTokenSource();
            var given = 0;
            var writer = Task.Run(async () =>
            {
                var random = new Random(7);
                while (!writing.IsCancellationRequested)
                {
                    var (giver, receiver) = chapter.Pair(random);
                    await HttpBenchmark.SendAsync(http, HttpMethod.Post, $"/api/chapters/{chapter.Id}/referrals", giver.Token,
                        HttpBenchmark.GiveBody(Guid.CreateVersion7(), giver.Id, receiver.Id), HttpStatusCode.Created);
                    Interlocked.Increment(ref given);
                    await Task.Delay(GiveEvery);
                }
            });

            Console.WriteLine($"{times} rebuilds, one after another, while a client gives a referral every {GiveEvery.TotalMilliseconds} ms through the API");
            Console.WriteLine();
            Console.WriteLine("| rebuild | seconds | events at its start | gives during | outcome |");
            Console.WriteLine("|--------:|--------:|--------------------:|-------------:|---------|");
            var done = new List<double>();
            var stalled = 0;
            for (var rebuild = 1; rebuild <= times; rebuild++)
            {
                var cap = done.Count == 0 ? FirstCap : TimeSpan.FromSeconds(10 * Median(done));
                var eventsAtStart = await AppendBenchmark.ScalarAsync(db, "SELECT max(seq_id) FROM mt_events");
                var givenAtStart = given;
                (await http.PostAsync("/api/admin/projections/activity/rebuild", null)).StatusCode.ShouldBeAccepted();
                stopwatch.Restart();
                JsonNode status;
                do
                {
                    await Task.Delay(50);
                    status = await ActivityAsync(http);
                } while (status["rebuildRequested"]!.GetValue<bool>() && stopwatch.Elapsed < cap);
                var seconds = stopwatch.Elapsed.TotalSeconds;
                string outcome;
                if (status["rebuildRequested"]!.GetValue<bool>())
                {
                    stalled++;
                    outcome = $"stalled (not done within {cap.TotalSeconds:N0} s, at {status["rebuildPosition"]}); cancelled";
                    (await http.DeleteAsync("/api/admin/projections/activity/rebuild")).EnsureSuccessStatusCode();
                    var cancelling = Stopwatch.StartNew();
                    while ((await ActivityAsync(http))["rebuildRequested"]!.GetValue<bool>())
                    {
                        if (cancelling.Elapsed > TimeSpan.FromMinutes(1))
                            throw new TimeoutException($"Rebuild {rebuild} stalled, and cancelling it did not end it within a minute.");
                        await Task.Delay(100);
                    }
                }
                else if (status["rebuildError"]?.GetValue<string>() is { } error)
                    outcome = $"failed: {error}";
                else
                {
                    done.Add(seconds);
                    outcome = "done";
                }
                Console.WriteLine($"| {rebuild} | {seconds:N1} | {eventsAtStart} | {given - givenAtStart} | {outcome} |");
            }
            await writing.CancelAsync();
            await writer;
            await HttpBenchmark.CaughtUpAsync(http);

            var referralsGiven = await AppendBenchmark.ScalarAsync(db, $"SELECT count(*) FROM mt_events WHERE type = '{Chapter.Domain.EventNames.All[typeof(Chapter.Domain.Referrals.ReferralGiven)]}'");
            var referralsRebuilt = await AppendBenchmark.ScalarAsync(db, "SELECT count(*) FROM proj_activity.referrals");
            Console.WriteLine();
            Console.WriteLine($"Rebuilds done: {done.Count} of {times}; stalled: {stalled}; median {Median(done):N1} s, slowest {done.DefaultIfEmpty().Max():N1} s; " +
                              $"{given} referrals given through the API meanwhile");
            Console.WriteLine($"Referrals: {referralsGiven} given events, {referralsRebuilt} in the rebuilt tables ({(referralsGiven == referralsRebuilt ? "equal" : "NOT EQUAL")})");
            if (stalled > 0 || referralsGiven != referralsRebuilt || done.Count != times)
                throw new InvalidOperationException("The rebuild soak failed: see the table above.");
        }
        finally
        {
            service.Kill(entireProcessTree: true);
            await service.WaitForExitAsync();
        }
    }

    private static async Task<JsonNode> ActivityAsync(HttpClient http) =>
        JsonNode.Parse(await (await http.GetAsync("/api/admin/projections")).EnsureSuccessStatusCode().Content.ReadAsStringAsync())!["items"]!
            .AsArray().Single(p => p!["name"]!.GetValue<string>() == "activity")!;

    private static double Median(List<double> values) => values.Count == 0 ? 0 : values.Order().ElementAt(values.Count / 2);

    private static void ShouldBeAccepted(this HttpStatusCode status)
    {
        if (status != HttpStatusCode.Accepted)
            throw new InvalidOperationException($"Asking for a rebuild answered {(int)status}.");
    }
}
