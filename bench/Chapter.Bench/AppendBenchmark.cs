using Chapter.Projections.Prospects;
using System.Diagnostics;
using Chapter.Domain.Referrals;
using Chapter.Projections;
using Npgsql;

namespace Chapter.Bench;

/// <summary>
/// Append throughput of the event store (new stream per referral, inline projections on) beside a raw
/// Npgsql baseline measured in the same run on the same server: single-row INSERTs of the same JSON.
/// </summary>
internal static class AppendBenchmark
{
    public static async Task RunAsync(string connectionString, int seconds)
    {
        int[] writerCounts = [1, 8, 32];

        await using var dataSource = new NpgsqlDataSourceBuilder(connectionString) { ConnectionStringBuilder = { MaxPoolSize = 64, MaxAutoPrepare = 50, AutoPrepareMinUsages = 2 } }.Build();
        await using var store = await BenchStore.CreateSchemaAsync(connectionString, dataSource);
        await using (var create = dataSource.CreateCommand(
            """
            CREATE TABLE IF NOT EXISTS raw_events (
                seq_id bigserial PRIMARY KEY, stream_id text NOT NULL, type text NOT NULL, data jsonb NOT NULL,
                timestamp timestamptz NOT NULL DEFAULT now());
            """))
            await create.ExecuteNonQueryAsync();

        var sampleJson = BenchStore.Serialize(NewReferral());

        Console.WriteLine($"PostgreSQL {await ScalarAsync(dataSource, "SHOW server_version")}, fsync={await ScalarAsync(dataSource, "SHOW fsync")}, " +
                          $"{Environment.ProcessorCount} cores, {seconds} s per measurement, event JSON {sampleJson.Length} bytes");
        Console.WriteLine();
        Console.WriteLine("| writers | raw INSERT (rows/s) | Marten append, inline views (events/s) | ratio store/raw |");
        Console.WriteLine("|--------:|--------------------:|---------------------------------------:|----------------:|");

        foreach (var writers in writerCounts)
        {
            var raw = await MeasureAsync(writers, seconds, async () =>
            {
                await using var insert = dataSource.CreateCommand("INSERT INTO raw_events (stream_id, type, data) VALUES ($1, $2, $3::jsonb)");
                insert.Parameters.Add(new NpgsqlParameter { Value = $"referral-{Guid.NewGuid()}" });
                insert.Parameters.Add(new NpgsqlParameter { Value = "referral.given.v1" });
                insert.Parameters.Add(new NpgsqlParameter { Value = sampleJson });
                await insert.ExecuteNonQueryAsync();
            });
            var appended = await MeasureAsync(writers, seconds, async () =>
            {
                var referral = NewReferral();
                // As the API appends a give: a new stream, with the inline views, in one transaction.
                await using var session = store.LightweightSession(referral.ChapterId);
                session.CorrelationId = "bench";
                session.CausationId = "bench";
                session.LastModifiedBy = $"member:{referral.GiverId}";
                session.Events.StartStream($"referral-{referral.ReferralId}", referral);
                await session.SaveChangesAsync();
            });
            Console.WriteLine($"| {writers,7} | {raw,19:N0} | {appended,29:N0} | {appended / raw,15:P0} |");
        }
    }

    // Sealed once: sealing is the API's work, this measures the store. The text has the real length.
    private static readonly string SealedProspect = ProspectSeal.Seal(ProspectSeal.NewKey(), Guid.NewGuid(),
        new ProspectContact("Sara Lind", "sara.lind@example.se", "+46 70 123 45 67", "Lind Bygg AB"));

    private static ReferralGiven NewReferral() => new(
        Guid.NewGuid(), "bench-chapter", Guid.NewGuid(), Guid.NewGuid(), true, SealedProspect,
        "Looking for a new office lease in Södermalm, 200 m², from March", Temperature.Warm, "sv", DateTimeOffset.UtcNow);

    // Runs the operation on `writers` concurrent loops for a warm-up second, then counts completions for `seconds`.
    private static async Task<double> MeasureAsync(int writers, int seconds, Func<Task> operation)
    {
        await RunAsync(writers, TimeSpan.FromSeconds(1), operation);
        var stopwatch = Stopwatch.StartNew();
        var count = await RunAsync(writers, TimeSpan.FromSeconds(seconds), operation);
        return count / stopwatch.Elapsed.TotalSeconds;
    }

    private static async Task<long> RunAsync(int writers, TimeSpan duration, Func<Task> operation)
    {
        long count = 0;
        var deadline = Stopwatch.GetTimestamp() + (long)(duration.TotalSeconds * Stopwatch.Frequency);
        await Task.WhenAll(Enumerable.Range(0, writers).Select(_ => Task.Run(async () =>
        {
            while (Stopwatch.GetTimestamp() < deadline)
            {
                await operation();
                Interlocked.Increment(ref count);
            }
        })));
        return count;
    }

    internal static async Task<string> ScalarAsync(NpgsqlDataSource dataSource, string sql)
    {
        await using var command = dataSource.CreateCommand(sql);
        return (await command.ExecuteScalarAsync())?.ToString() ?? "";
    }
}
