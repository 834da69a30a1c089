using System.Diagnostics;
using System.Net.Http.Headers;
using Npgsql;

namespace Chapter.Bench;

/// <summary>
/// A chapter's export (GET …/export) over a generated history, a small chapter and a large one: how long it takes, how
/// large the ZIP is, and the service's memory before and after each. The export is written to the answer as it is read,
/// so the service's peak should not grow with the chapter. Baseline, in the same run: the same chapter's events read
/// raw from PostgreSQL (COPY … TO STDOUT), the floor of any export of them.
/// </summary>
internal static class ExportBenchmark
{
    public static async Task RunAsync(string serverConnectionString, int events)
    {
        await using var admin = NpgsqlDataSource.Create(serverConnectionString);
        await using (var create = admin.CreateCommand("DROP DATABASE IF EXISTS bench_export WITH (FORCE); CREATE DATABASE bench_export"))
            await create.ExecuteNonQueryAsync();
        var connectionString = new NpgsqlConnectionStringBuilder(serverConnectionString) { Database = "bench_export" }.ConnectionString;
        await using var db = NpgsqlDataSource.Create(connectionString);
        (await BenchStore.CreateSchemaAsync(connectionString, db)).Dispose();
        var stopwatch = Stopwatch.StartNew();

        var (small, large) = (CatchUpBenchmark.ChapterId(1), CatchUpBenchmark.ChapterId(0));
        var now = DateTimeOffset.UtcNow;
        // Appended through Marten with the service's configuration, so the inline views the export reads are written as they
        // would be; the two chapters' years interleaved in time.
        var history = CatchUpBenchmark.Generate(events / 10, chapters: 1, membersPerChapter: 40, now, firstChapter: 1)
            .Concat(CatchUpBenchmark.Generate(events, chapters: 1, membersPerChapter: 40, now)).OrderBy(e => e.At).ToList();
        using (var store = BenchStore.Create(connectionString))
        {
            foreach (var batch in history.Chunk(2000))
                foreach (var chapter in batch.GroupBy(e => e.Tenant))
                {
                    await using var session = store.LightweightSession(chapter.Key);
                    foreach (var e in chapter)
                        session.Events.Append(e.StreamId, e.Data);
                    await session.SaveChangesAsync();
                }
        }
        Console.WriteLine($"Loaded {await AppendBenchmark.ScalarAsync(db, "SELECT count(*) FROM mt_events")} generated events in {stopwatch.Elapsed.TotalSeconds:N1} s " +
                          $"({small}: {await CountAsync(db, small):N0}, {large}: {await CountAsync(db, large):N0}; a year of chapter life each)");

        using var service = HttpBenchmark.StartService(connectionString, out var address);
        try
        {
            await HttpBenchmark.WaitUntilListeningAsync(service, address);
            using var http = new HttpClient { BaseAddress = address, Timeout = TimeSpan.FromMinutes(10) };
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", HttpBenchmark.OperatorToken);
            Console.WriteLine($"Activity projection caught up in {await HttpBenchmark.CaughtUpAsync(http):N1} s");
            Console.WriteLine();
            Console.WriteLine("| chapter | events | raw COPY of its events, s | export, s | ZIP, MB | service RSS before, MB | RSS after, MB | peak RSS (VmHWM) before → after, MB |");
            Console.WriteLine("|---------|-------:|--------------------------:|----------:|--------:|-----------------------:|--------------:|------------------------------------:|");
            foreach (var chapter in new[] { small, large, small, large })
            {
                var raw = await RawCopySecondsAsync(db, chapter);
                var (rssBefore, peakBefore) = (Rss(service, "VmRSS:"), Rss(service, "VmHWM:"));
                stopwatch.Restart();
                using var response = await http.GetAsync($"/api/chapters/{chapter}/export", HttpCompletionOption.ResponseHeadersRead);
                response.EnsureSuccessStatusCode();
                await using var body = await response.Content.ReadAsStreamAsync();
                var bytes = 0L;
                var buffer = new byte[81920];
                for (int read; (read = await body.ReadAsync(buffer)) > 0;)
                    bytes += read;
                var seconds = stopwatch.Elapsed.TotalSeconds;
                Console.WriteLine($"| {chapter} | {await CountAsync(db, chapter):N0} | {raw:N2} | {seconds:N2} | {bytes / 1048576.0:N1} | {rssBefore:N0} | " +
                                  $"{Rss(service, "VmRSS:"):N0} | {peakBefore:N0} → {Rss(service, "VmHWM:"):N0} |");
            }
        }
        finally
        {
            service.Kill(entireProcessTree: true);
        }
    }

    private static async Task<long> CountAsync(NpgsqlDataSource db, string chapter) =>
        long.Parse(await AppendBenchmark.ScalarAsync(db, $"SELECT count(*) FROM mt_events WHERE tenant_id = '{chapter}'"));

    private static async Task<double> RawCopySecondsAsync(NpgsqlDataSource db, string chapter)
    {
        var stopwatch = Stopwatch.StartNew();
        await using var connection = await db.OpenConnectionAsync();
        using var reader = await connection.BeginTextExportAsync(
            $"COPY (SELECT seq_id, stream_id, type, data, timestamp FROM mt_events WHERE tenant_id = '{chapter}' ORDER BY seq_id) TO STDOUT");
        var buffer = new char[81920];
        while (await reader.ReadAsync(buffer) > 0) { }
        return stopwatch.Elapsed.TotalSeconds;
    }

    private static double Rss(Process process, string field) =>
        File.ReadLines($"/proc/{process.Id}/status").Where(l => l.StartsWith(field, StringComparison.Ordinal))
            .Select(l => long.Parse(l.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) / 1024.0).Single();
}
