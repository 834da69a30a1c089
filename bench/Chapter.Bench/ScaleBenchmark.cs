using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Npgsql;

namespace Chapter.Bench;

/// <summary>
/// Chapters over several databases, served by several nodes: <c>--nodes</c> service processes over a main database and
/// <c>--databases</c> chapter databases (all on the one bench server: on one machine they share its cores and disk, so this
/// measures what each database costs and carries, not a speed-up). Loads <c>--chapters</c> chapters through the API (each
/// placed by the service: the database with the fewest), gives members and tokens to some of them in every database, runs
/// gives from <c>--clients</c> clients spread over the nodes for <c>--seconds</c>, then prints per database and overall:
/// gives/s, how long each database's projection took to catch up, the weekly report's p50/p95, and CPU per request (the
/// nodes, PostgreSQL). In the same run: raw single-row INSERTs of the give's size at the same concurrency, into one database.
/// </summary>
internal static class ScaleBenchmark
{
    private const int ActiveChaptersPerDatabase = 20;
    private const int MembersPerChapter = 4;

    public static async Task RunAsync(string serverConnectionString, int databases, int nodes, int chapters, int seconds, int clients)
    {
        await using var admin = NpgsqlDataSource.Create(serverConnectionString);
        string Create(string name) => new NpgsqlConnectionStringBuilder(serverConnectionString) { Database = name }.ConnectionString;
        var names = Enumerable.Range(1, databases).Select(i => $"scale_{i}").ToArray();
        foreach (var name in names.Prepend("scale_main"))
            await using (var create = admin.CreateCommand($"DROP DATABASE IF EXISTS {name} WITH (FORCE); CREATE DATABASE {name}"))
                await create.ExecuteNonQueryAsync();
        var settings = names.ToDictionary(n => $"Chapter__Databases__{n}__ConnectionString", Create);

        var processes = new List<Process>();
        var addresses = new List<Uri>();
        try
        {
            for (var i = 0; i < nodes; i++)
            {
                processes.Add(HttpBenchmark.StartService(Create("scale_main"), out var address, settings));
                addresses.Add(address);
                await HttpBenchmark.WaitUntilListeningAsync(processes[i], address);
            }
            var clientsPerNode = addresses.Select(a => new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 64 }) { BaseAddress = a }).ToArray();
            foreach (var http in clientsPerNode)
                http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", HttpBenchmark.OperatorToken);
            await using var main = NpgsqlDataSource.Create(Create("scale_main"));
            Console.WriteLine($"PostgreSQL {await AppendBenchmark.ScalarAsync(main, "SHOW server_version")}, fsync={await AppendBenchmark.ScalarAsync(main, "SHOW fsync")}, " +
                              $"shared_buffers={await AppendBenchmark.ScalarAsync(main, "SHOW shared_buffers")}, {Environment.ProcessorCount} cores; " +
                              $"{databases} chapter database(s) and the main one on this one server, {nodes} node(s), {clients} clients, {seconds} s of gives");

            // Chapters, placed by the service, 8 at a time through the nodes in turn.
            var placing = Stopwatch.StartNew();
            var ids = Enumerable.Range(0, chapters).Select(i => $"scale-{i:000000}").ToArray();
            await Parallel.ForEachAsync(ids.Select((id, i) => (id, i)), new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (c, _) =>
                (await clientsPerNode[c.i % nodes].PostAsJsonAsync("/api/chapters", new { id = c.id, name = c.id, timeZone = "Europe/Stockholm", currency = "SEK" }))
                .EnsureSuccessStatusCode());
            var placed = placing.Elapsed.TotalSeconds;
            var chapterDatabase = new Dictionary<string, string>();
            foreach (var name in names)
            {
                await using var db = NpgsqlDataSource.Create(Create(name));
                await using var command = db.CreateCommand("SELECT id FROM chapter_view");
                await using var reader = await command.ExecuteReaderAsync();
                while (await reader.ReadAsync())
                    chapterDatabase[reader.GetString(0)] = name;
            }
            Console.WriteLine($"{chapters:N0} chapters placed in {placed:N1} s ({chapters / placed:N0}/s): " +
                              string.Join(", ", names.Select(n => $"{n} {chapterDatabase.Values.Count(v => v == n):N0}")));

            // In each database, some chapters with members who give.
            var active = new List<(HttpBenchmark.Chapter Chapter, string Database)>();
            foreach (var name in names)
                foreach (var id in chapterDatabase.Where(c => c.Value == name).Select(c => c.Key).Order().Take(ActiveChaptersPerDatabase))
                    active.Add((await MembersAsync(clientsPerNode[active.Count % nodes], id), name));

            // Raw INSERTs at the same concurrency, into one database: the server's floor for one row per request.
            await using var rawDb = new NpgsqlDataSourceBuilder(Create(names[0])) { ConnectionStringBuilder = { MaxPoolSize = 64 } }.Build();
            await using (var table = rawDb.CreateCommand("CREATE TABLE raw_gives (id bigserial PRIMARY KEY, stream_id text NOT NULL, data jsonb NOT NULL)"))
                await table.ExecuteNonQueryAsync();
            var giveJson = HttpBenchmark.GiveBody(Guid.NewGuid(), Guid.NewGuid(), Guid.NewGuid()).ToJsonString();
            var raw = await TimedAsync(clients, seconds, async (_, _) =>
            {
                await using var insert = rawDb.CreateCommand("INSERT INTO raw_gives (stream_id, data) VALUES ($1, $2::jsonb)");
                insert.Parameters.Add(new NpgsqlParameter { Value = $"referral-{Guid.NewGuid()}" });
                insert.Parameters.Add(new NpgsqlParameter { Value = giveJson });
                await insert.ExecuteNonQueryAsync();
                return null;
            });

            var postmaster = HttpBenchmark.PostmasterOf(int.Parse(await AppendBenchmark.ScalarAsync(main, "SELECT pg_backend_pid()")));
            var meters = processes.Select(p => new HttpBenchmark.CpuMeter(p.Id, postmaster)).ToArray();
            var before = meters.Select(m => m.Read()).ToArray();
            var gives = await TimedAsync(clients, seconds, async (random, client) =>
            {
                var (chapter, database) = active[random.Next(active.Count)];
                var (giver, receiver) = chapter.Pair(random);
                await HttpBenchmark.SendAsync(clientsPerNode[client % nodes], HttpMethod.Post, $"/api/chapters/{chapter.Id}/referrals", giver.Token,
                    HttpBenchmark.GiveBody(Guid.CreateVersion7(), giver.Id, receiver.Id), HttpStatusCode.Created);
                return database;
            });
            var spent = meters.Select((m, i) => m.Read() - before[i]).ToArray();
            var requests = gives.Count;
            // Every meter counts the whole PostgreSQL cluster: once is enough.
            var cpu = $"{1000 * spent.Sum(s => s.Service) / requests:N2} / {1000 * spent[0].Postgres / requests:N2}";

            // Each database's projection, from the end of the load until it has applied every event.
            var caughtUp = await CatchUpAsync(clientsPerNode[0]);

            // The weekly report of active chapters, read by their leaders.
            var week = $"{System.Globalization.ISOWeek.GetYear(DateTime.UtcNow)}-W{System.Globalization.ISOWeek.GetWeekOfYear(DateTime.UtcNow):00}";
            var reports = await TimedAsync(clients, Math.Max(5, seconds / 2), async (random, client) =>
            {
                var (chapter, database) = active[random.Next(active.Count)];
                using var request = new HttpRequestMessage(HttpMethod.Get, $"/api/chapters/{chapter.Id}/reports/weekly/{week}");
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", chapter.Members[0].Token);
                using var response = await clientsPerNode[client % nodes].SendAsync(request);
                response.EnsureSuccessStatusCode();
                return database;
            });

            Console.WriteLine();
            Console.WriteLine("| database | chapters | gives/s | give p50 / p95 ms | projection caught up, s after the load | report p50 / p95 ms |");
            Console.WriteLine("|----------|---------:|--------:|------------------:|------:|------------------:|");
            foreach (var name in names)
            {
                var mine = gives.Where(g => g.Database == name).Select(g => g.Milliseconds).ToArray();
                var read = reports.Where(r => r.Database == name).Select(r => r.Milliseconds).ToArray();
                Console.WriteLine($"| {name} | {chapterDatabase.Values.Count(v => v == name):N0} | {mine.Length / (double)seconds:N0} | " +
                                  $"{Percentile(mine, 0.5):N1} / {Percentile(mine, 0.95):N1} | {caughtUp.GetValueOrDefault(name):N1} | " +
                                  $"{Percentile(read, 0.5):N1} / {Percentile(read, 0.95):N1} |");
            }
            var all = gives.Select(g => g.Milliseconds).ToArray();
            var allReads = reports.Select(r => r.Milliseconds).ToArray();
            Console.WriteLine($"| all | {chapters:N0} | {requests / (double)seconds:N0} | {Percentile(all, 0.5):N1} / {Percentile(all, 0.95):N1} | " +
                              $"{caughtUp.Values.DefaultIfEmpty().Max():N1} | {Percentile(allReads, 0.5):N1} / {Percentile(allReads, 0.95):N1} |");
            Console.WriteLine();
            Console.WriteLine($"Raw single-row INSERTs, {clients} clients, one database: {raw.Count / (double)seconds:N0} rows/s " +
                              $"(gives ÷ raw: {requests / (double)raw.Count:P0}).");
            Console.WriteLine($"CPU ms per give: the {nodes} node(s) / PostgreSQL: {cpu}. Peak RSS per node: " +
                              string.Join(", ", processes.Select(p => $"{HttpBenchmark.PeakRssMegabytes(p):N0} MB")));
            Console.WriteLine($"PostgreSQL connections at the end: {await AppendBenchmark.ScalarAsync(main, "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'")} " +
                              $"(max_connections {await AppendBenchmark.ScalarAsync(main, "SHOW max_connections")}).");
        }
        finally
        {
            foreach (var process in processes)
            {
                process.Kill(entireProcessTree: true);
                await process.WaitForExitAsync();
            }
        }
    }

    private static async Task<HttpBenchmark.Chapter> MembersAsync(HttpClient http, string chapterId)
    {
        var members = new List<HttpBenchmark.Member>();
        for (var i = 0; i < MembersPerChapter; i++)
        {
            var added = await http.PostAsJsonAsync($"/api/chapters/{chapterId}/members", new { name = $"Member {i}", profession = $"Trade {i}", languages = new[] { "sv" }, role = i == 0 ? "leader" : "member" });
            var memberId = JsonNode.Parse(await added.EnsureSuccessStatusCode().Content.ReadAsStringAsync())!["id"]!.GetValue<Guid>();
            var issued = await http.PostAsJsonAsync($"/api/chapters/{chapterId}/members/{memberId}/tokens", new { label = "bench" });
            members.Add(new HttpBenchmark.Member(memberId, JsonNode.Parse(await issued.EnsureSuccessStatusCode().Content.ReadAsStringAsync())!["token"]!.GetValue<string>()));
        }
        return new HttpBenchmark.Chapter(chapterId, [.. members]);
    }

    /// <summary>Seconds until each database's projection has no lag, as the operator's status shows it.</summary>
    private static async Task<Dictionary<string, double>> CatchUpAsync(HttpClient http)
    {
        var caughtUp = new Dictionary<string, double>();
        var stopwatch = Stopwatch.StartNew();
        while (stopwatch.Elapsed < TimeSpan.FromMinutes(10))
        {
            var projections = (await http.GetFromJsonAsync<JsonObject>("/api/admin/projections"))!["items"]!.AsArray();
            foreach (var projection in projections)
                if (projection!["lagEvents"]!.GetValue<long>() == 0)
                    caughtUp.TryAdd(projection["database"]!.GetValue<string>(), stopwatch.Elapsed.TotalSeconds);
            if (caughtUp.Count == projections.Count)
                return caughtUp;
            await Task.Delay(100);
        }
        throw new TimeoutException("The projections did not catch up within 10 minutes.");
    }

    private sealed record Timed(string? Database, double Milliseconds);

    /// <summary>`clients` loops for `seconds` (after a warm-up second); each operation says which database it went to.</summary>
    private static async Task<List<Timed>> TimedAsync(int clients, int seconds, Func<Random, int, Task<string?>> operation)
    {
        var results = new List<Timed>();
        foreach (var (duration, keep) in new[] { (TimeSpan.FromSeconds(1), false), (TimeSpan.FromSeconds(seconds), true) })
        {
            var deadline = Stopwatch.GetTimestamp() + (long)(duration.TotalSeconds * Stopwatch.Frequency);
            var perClient = await Task.WhenAll(Enumerable.Range(0, clients).Select(client => Task.Run(async () =>
            {
                var random = new Random(client);
                var mine = new List<Timed>();
                while (Stopwatch.GetTimestamp() < deadline)
                {
                    var started = Stopwatch.GetTimestamp();
                    var database = await operation(random, client);
                    mine.Add(new Timed(database, Stopwatch.GetElapsedTime(started).TotalMilliseconds));
                }
                return mine;
            })));
            if (keep)
                results = perClient.SelectMany(m => m).ToList();
        }
        return results;
    }

    private static double Percentile(double[] values, double p) =>
        values.Length == 0 ? 0 : values.Order().ElementAt(Math.Min(values.Length - 1, (int)(values.Length * p)));
}
