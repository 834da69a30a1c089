using Chapter.Projections.Prospects;
using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Serialization;
using Chapter.Domain.Chapters;
using Chapter.Domain.Members;
using Chapter.Domain.OneToOnes;
using Chapter.Domain.Referrals;
using Chapter.Domain.Shared;
using Chapter.Projections;
using Chapter.Projections.Activity;
using Chapter.Projections.Reciprocity;
using Npgsql;
using NpgsqlTypes;

namespace Chapter.Bench;

/// <summary>
/// Catch-up of every async projection over a generated history (chapters × members, a realistic mix of
/// referral lifecycles and one-to-ones over a year), beside a raw sequential read of the same rows in the
/// same run; then the latency of the reciprocity and weekly report reads at that size.
/// </summary>
internal static class CatchUpBenchmark
{
    // Sealed once: sealing is the API's work, this measures projections. The text has the real length.
    private static readonly string SealedProspect = ProspectSeal.Seal(ProspectSeal.NewKey(), Guid.NewGuid(),
        new ProspectContact("Prospect Name", "prospect@example.com", null, "Company AB"));

    internal sealed record Generated(DateTimeOffset At, string StreamId, string StreamType, string Tenant, object Data);

    public static async Task RunAsync(string connectionString, int totalEvents, int chapters, int membersPerChapter, int samples, int batchSize)
    {
        await using var dataSource = new NpgsqlDataSourceBuilder(connectionString) { ConnectionStringBuilder = { MaxAutoPrepare = 50, AutoPrepareMinUsages = 2 } }.Build();
        (await BenchStore.CreateSchemaAsync(connectionString, dataSource)).Dispose();

        var stopwatch = Stopwatch.StartNew();
        var history = Generate(totalEvents, chapters, membersPerChapter, DateTimeOffset.UtcNow);
        Console.WriteLine($"Generated {history.Count:N0} events in {stopwatch.Elapsed.TotalSeconds:N1} s: " +
                          string.Join(", ", history.GroupBy(e => BenchStore.NameOf(e.Data)).OrderBy(g => g.Key).Select(g => $"{g.Key} {g.Count():N0}")));
        stopwatch.Restart();
        await LoadAsync(dataSource, history);
        Console.WriteLine($"Loaded with COPY in {stopwatch.Elapsed.TotalSeconds:N1} s");
        history = null;
        GC.Collect();

        // A live store's events table has been vacuumed by the time anyone reads it; here autovacuum would
        // otherwise be working through the fresh million rows during the timed reads below, on one of two cores.
        // Both sides then start from a checkpoint, so neither is timed while the load is still being written out.
        await using (var vacuum = dataSource.CreateCommand("VACUUM ANALYZE mt_events, mt_streams"))
            await vacuum.ExecuteNonQueryAsync();
        await CheckpointAsync(dataSource);

        // Baseline: one sequential read of the same rows and columns the daemon reads, timed on a warm
        // cache (an untimed read first), as the daemon's reads of freshly appended events are.
        await using (var warm = dataSource.CreateCommand("SELECT count(*), sum(length(data::text)) FROM mt_events"))
            await warm.ExecuteScalarAsync();
        long rows = 0;
        var rawSeconds = new List<double>();
        for (var run = 0; run < Runs; run++)
        {
            stopwatch.Restart();
            rows = 0;
            await using var read = dataSource.CreateCommand(
                "SELECT seq_id, id, stream_id, version, type, data::text, tenant_id, timestamp, mt_dotnet_type FROM mt_events ORDER BY seq_id");
            await using var reader = await read.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                _ = reader.GetInt64(0); _ = reader.GetGuid(1); _ = reader.GetString(2); _ = reader.GetInt64(3);
                _ = reader.GetString(4); _ = reader.GetString(5); _ = reader.GetString(6); _ = reader.GetFieldValue<DateTimeOffset>(7);
                _ = reader.GetString(8);
                rows++;
            }
            rawSeconds.Add(stopwatch.Elapsed.TotalSeconds);
        }
        var rawRate = rows / Median(rawSeconds);

        // The same read, turning each payload into its event object as the daemon must.
        stopwatch.Restart();
        await using (var read = dataSource.CreateCommand("SELECT type, data::text FROM mt_events ORDER BY seq_id"))
        await using (var reader = await read.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
                _ = BenchStore.Deserialize(reader.GetString(0), reader.GetString(1));
        }
        var deserializeRate = rows / stopwatch.Elapsed.TotalSeconds;

        var last = long.Parse(await AppendBenchmark.ScalarAsync(dataSource, "SELECT max(seq_id) FROM mt_events"));
        var catchUpSeconds = new List<double>();
        for (var run = 0; run < Runs; run++)
        {
            // From scratch each time: no projection tables, no checkpoint.
            await ActivityProjection.DropSchemaAsync(dataSource, ActivityProjection.Schema);
            await using (var reset = dataSource.CreateCommand($"DELETE FROM mt_event_progression WHERE name = '{ChapterEventStore.ActivityShard}'"))
                await reset.ExecuteNonQueryAsync();
            await ActivityProjection.EnsureSchemaAsync(dataSource);
            await CheckpointAsync(dataSource); // each run starts alike, not in the checkpoint the one before forced
            await using var store = BenchStore.Create(connectionString, batchSize);
            stopwatch.Restart();
            // Marten's daemon as the API runs it, timed from its start until it has applied the last event.
            using var daemon = await store.BuildProjectionDaemonAsync();
            await daemon.StartAllAsync();
            var until = DateTime.UtcNow.AddMinutes(30);
            while (long.Parse(await AppendBenchmark.ScalarAsync(dataSource,
                       $"SELECT coalesce((SELECT last_seq_id FROM mt_event_progression WHERE name = '{ChapterEventStore.ActivityShard}'), 0)")) < last)
            {
                if (DateTime.UtcNow > until)
                    throw new TimeoutException("The catch-up did not finish within 30 minutes.");
                await Task.Delay(20);
            }
            catchUpSeconds.Add(stopwatch.Elapsed.TotalSeconds);
            await daemon.StopAllAsync();
        }
        var catchUpRate = rows / Median(catchUpSeconds);
        Console.WriteLine($"raw read runs (s): {string.Join(", ", rawSeconds.Select(x => x.ToString("N2")))}; catch-up runs (s): {string.Join(", ", catchUpSeconds.Select(x => x.ToString("N1")))}");

        Console.WriteLine();
        Console.WriteLine("| measure | rows or events | seconds | per second |");
        Console.WriteLine("|---|---:|---:|---:|");
        Console.WriteLine($"| raw sequential read (baseline, median of {Runs}) | {rows:N0} | {rows / rawRate:N1} | {rawRate:N0} |");
        Console.WriteLine($"| read type and data only, deserialize each | {rows:N0} | {rows / deserializeRate:N1} | {deserializeRate:N0} |");
        Console.WriteLine($"| catch-up of all async projections (median of {Runs}) | {rows:N0} | {rows / catchUpRate:N1} | {catchUpRate:N0} |");
        Console.WriteLine($"| catch-up / raw read | | | {catchUpRate / rawRate:P0} |");

        // A live system has vacuumed and analysed its tables by the time leaders read reports. The checkpoint
        // writes out what three catch-ups just dirtied (the server's log shows checkpoints forced by WAL volume
        // during them), so the reads below are timed on a server at rest rather than during that burst of writing.
        await using (var vacuum = dataSource.CreateCommand("VACUUM ANALYZE proj_activity.referrals, proj_activity.referral_steps, proj_activity.members, proj_activity.one_to_ones"))
            await vacuum.ExecuteNonQueryAsync();
        await CheckpointAsync(dataSource);
        var chapterIds = Enumerable.Range(0, chapters).Select(ChapterId).ToList();
        var random = new Random(7);
        var now = DateTimeOffset.UtcNow;
        // Two rounds of the same reads. The first runs right after the catch-ups, whose reads of a million events
        // may have left little of the projection in shared buffers; the second, when the reads have had a round to
        // bring in what they use, as a service's have once it has served them for a while. The blocks each round
        // read from outside shared buffers tell which case it was.
        for (var round = 1; round <= 2; round++)
        {
            var blocksReadBefore = long.Parse(await AppendBenchmark.ScalarAsync(dataSource, "SELECT blks_read FROM pg_stat_database WHERE datname = current_database()"));
            // What the endpoints do, short of HTTP and the token check: the freshness (asOf), the facts, the
            // figures, and the answer serialized as the API serializes it.
            var loadOnly = await LatenciesAsync(samples, async () =>
                _ = await ActivityProjection.LoadAsync(dataSource, chapterIds[random.Next(chapterIds.Count)], CancellationToken.None));
            var reciprocity = await LatenciesAsync(samples, async () =>
            {
                var asOf = await AsOf.OfAsync(dataSource, CancellationToken.None);
                var facts = (await ActivityProjection.LoadAsync(dataSource, chapterIds[random.Next(chapterIds.Count)], CancellationToken.None, now.AddDays(-84)))!;
                _ = JsonSerializer.SerializeToUtf8Bytes(Circulation.Compute(facts, now.AddDays(-84), now) with { AsOf = asOf }, ApiJson);
            });
            var weekly = await LatenciesAsync(samples, async () =>
            {
                var asOf = await AsOf.OfAsync(dataSource, CancellationToken.None);
                var facts = (await ActivityProjection.LoadAsync(dataSource, chapterIds[random.Next(chapterIds.Count)], CancellationToken.None))!;
                _ = JsonSerializer.SerializeToUtf8Bytes(WeeklyReport.Compute(facts, MemberViews.WeekStart(facts.DateOf(now)).AddDays(-7)) with { AsOf = asOf }, ApiJson);
            });
            Console.WriteLine();
            await Task.Delay(TimeSpan.FromSeconds(11)); // idle backends report their statistics within 10 s
            var blocksRead = long.Parse(await AppendBenchmark.ScalarAsync(dataSource, "SELECT blks_read FROM pg_stat_database WHERE datname = current_database()")) - blocksReadBefore;
            Console.WriteLine($"| read, round {round} ({samples} samples after a {WarmUp.TotalSeconds:N0} s warm-up, random chapters: asOf + load + compute + JSON; {blocksRead:N0} blocks read from outside shared buffers) | p50 ms | p95 ms |");
            Console.WriteLine("|---|---:|---:|");
            Console.WriteLine($"| (loading a chapter's facts alone) | {loadOnly.P50:N1} | {loadOnly.P95:N1} |");
            Console.WriteLine($"| reciprocity, 12 weeks | {reciprocity.P50:N1} | {reciprocity.P95:N1} |");
            Console.WriteLine($"| weekly report, last full week | {weekly.P50:N1} | {weekly.P95:N1} |");
        }
    }

    private static async Task CheckpointAsync(NpgsqlDataSource dataSource)
    {
        await using var checkpoint = dataSource.CreateCommand("CHECKPOINT");
        await checkpoint.ExecuteNonQueryAsync();
    }

    private const int Runs = 3;
    private static readonly TimeSpan WarmUp = TimeSpan.FromSeconds(5);

    private static double Median(List<double> values) => values.Order().ElementAt(values.Count / 2);

    internal static string ChapterId(int index) => $"bench-{index:000}";

    private static readonly JsonSerializerOptions ApiJson = new(JsonSerializerDefaults.Web)
    {
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.CamelCase) },
    };

    /// <summary>
    /// Latencies in a warmed-up process: reads run for a few seconds first, so that tiered compilation has
    /// replaced the first, quickly compiled code of the read path, as in a service that has been running.
    /// (Twenty warm-up reads were used before 2026-11-22's last runs; samples then mixed both kinds of code.)
    /// </summary>
    private static async Task<(double P50, double P95)> LatenciesAsync(int samples, Func<Task> read)
    {
        var warming = Stopwatch.StartNew();
        for (var i = 0; i < 20 || warming.Elapsed < WarmUp; i++)
            await read();
        var times = new List<double>(samples);
        for (var i = 0; i < samples; i++)
        {
            var started = Stopwatch.GetTimestamp();
            await read();
            times.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        }
        times.Sort();
        return (times[(int)(samples * 0.5)], times[Math.Min(samples - 1, (int)(samples * 0.95))]);
    }

    /// <summary>A year of chapter life: every referral's steps follow each other in time, as members would take them.</summary>
    internal static List<Generated> Generate(int totalEvents, int chapters, int membersPerChapter, DateTimeOffset end, int firstChapter = 0)
    {
        var random = new Random(42);
        var start = end.AddDays(-365);
        var events = new List<Generated>(totalEvents + chapters * 8);
        var perChapter = totalEvents / chapters;
        string[] currencies = ["SEK", "EUR", "VND", "USD"];

        for (var c = firstChapter; c < firstChapter + chapters; c++)
        {
            var chapterId = ChapterId(c);
            var currency = currencies[c % currencies.Length];
            var count = 0;
            void Add(DateTimeOffset at, string stream, string type, object data)
            {
                if (at > end)
                    return;
                events.Add(new Generated(at, stream, type, chapterId, data));
                count++;
            }

            Add(start, ChapterDecider.StreamId(chapterId), "chapter", new ChapterCreated(chapterId, $"Bench chapter {c}", "Europe/Stockholm", currency, start));
            var members = Enumerable.Range(0, membersPerChapter).Select(_ => Guid.NewGuid()).ToArray();
            for (var m = 0; m < members.Length; m++)
                Add(start.AddMinutes(m + 1), MemberDecider.StreamId(members[m]), "member",
                    new MemberJoined(members[m], chapterId, $"Member {c}-{m}", "Profession", ["sv", "en"], start.AddMinutes(m + 1)));

            while (count < perChapter)
            {
                var at = start.AddMinutes(60 + random.NextDouble() * (365 * 24 * 60 - 120));
                var a = members[random.Next(members.Length)];
                var b = members[random.Next(members.Length)];
                if (a == b)
                    continue;
                if (random.NextDouble() < 0.05)
                {
                    var id = Guid.NewGuid();
                    Add(at, OneToOneDecider.StreamId(id), "one-to-one", new OneToOneHeld(id, chapterId, a, b, DateOnly.FromDateTime(at.UtcDateTime), null, at));
                    continue;
                }

                var referralId = Guid.NewGuid();
                var stream = ReferralDecider.StreamId(referralId);
                Add(at, stream, "referral", new ReferralGiven(referralId, chapterId, a, b, true, SealedProspect, "Needs a new accountant for a growing company", Temperature.Warm, "sv", at));
                var roll = random.NextDouble();
                if (roll < 0.1)
                    continue;
                if (roll < 0.2)
                {
                    var declined = at.AddHours(1 + random.NextDouble() * 47);
                    Add(declined, stream, "referral", new ReferralDeclined(referralId, b, "Outside my area", declined));
                    continue;
                }
                var accepted = at.AddHours(1 + random.NextDouble() * 71);
                Add(accepted, stream, "referral", new ReferralAccepted(referralId, b, accepted));
                var closed = (DateTimeOffset?)null;
                var won = false;
                if (random.NextDouble() < 0.7)
                {
                    closed = accepted.AddDays(1 + random.NextDouble() * 29);
                    won = random.NextDouble() < 0.6;
                    Add(closed.Value, stream, "referral", new ReferralClosed(referralId, b, won ? Outcome.Won : Outcome.Lost,
                        won ? new Money(Math.Round((decimal)(500 + random.NextDouble() * 49500), 2), currency) : null, closed.Value));
                }
                if (random.NextDouble() < (won ? 0.75 : closed is null ? 0.2 : 0.3))
                {
                    var thanked = (closed ?? accepted).AddDays(1 + random.NextDouble() * 19);
                    Add(thanked, stream, "referral", new ReferralThanked(referralId, b, "Thank you, here is what happened", thanked));
                }
            }
        }
        return events.OrderBy(e => e.At).ToList();
    }

    internal static async Task LoadAsync(NpgsqlDataSource dataSource, List<Generated> history)
    {
        await using var connection = await dataSource.OpenConnectionAsync();

        // Streams first (events reference them), with the version and times their events give them.
        var streams = new Dictionary<string, (string Type, string Tenant, long Version, DateTimeOffset Created, DateTimeOffset Updated)>();
        foreach (var e in history)
            streams[e.StreamId] = streams.TryGetValue(e.StreamId, out var known)
                ? known with { Version = known.Version + 1, Updated = e.At }
                : (e.StreamType, e.Tenant, 1, e.At, e.At);
        await using (var writer = await connection.BeginBinaryImportAsync(
            "COPY mt_streams (id, type, version, tenant_id, created, timestamp) FROM STDIN (FORMAT BINARY)"))
        {
            foreach (var (id, stream) in streams)
            {
                await writer.StartRowAsync();
                await writer.WriteAsync(id, NpgsqlDbType.Text);
                await writer.WriteAsync(stream.Type, NpgsqlDbType.Text);
                await writer.WriteAsync(stream.Version, NpgsqlDbType.Bigint);
                await writer.WriteAsync(stream.Tenant, NpgsqlDbType.Text);
                await writer.WriteAsync(stream.Created, NpgsqlDbType.TimestampTz);
                await writer.WriteAsync(stream.Updated, NpgsqlDbType.TimestampTz);
            }
            await writer.CompleteAsync();
        }

        var versions = new Dictionary<string, long>();
        const int chunk = 10_000;
        for (var offset = 0; offset < history.Count; offset += chunk)
        {
            // One transaction per chunk, as many appenders would have committed them.
            await using var transaction = await connection.BeginTransactionAsync();
            await using (var writer = await connection.BeginBinaryImportAsync(
                "COPY mt_events (seq_id, id, stream_id, version, type, data, correlation_id, tenant_id, timestamp, mt_dotnet_type) FROM STDIN (FORMAT BINARY)"))
            {
                for (var i = offset; i < Math.Min(offset + chunk, history.Count); i++)
                {
                    var e = history[i];
                    var version = versions[e.StreamId] = versions.GetValueOrDefault(e.StreamId) + 1;
                    await writer.StartRowAsync();
                    await writer.WriteAsync((long)i + 1, NpgsqlDbType.Bigint);
                    await writer.WriteAsync(Guid.NewGuid(), NpgsqlDbType.Uuid);
                    await writer.WriteAsync(e.StreamId, NpgsqlDbType.Text);
                    await writer.WriteAsync(version, NpgsqlDbType.Bigint);
                    await writer.WriteAsync(BenchStore.NameOf(e.Data), NpgsqlDbType.Text);
                    await writer.WriteAsync(BenchStore.Serialize(e.Data), NpgsqlDbType.Jsonb);
                    await writer.WriteAsync("bench", NpgsqlDbType.Text);
                    await writer.WriteAsync(e.Tenant, NpgsqlDbType.Text);
                    await writer.WriteAsync(e.At, NpgsqlDbType.TimestampTz);
                    await writer.WriteAsync($"{e.Data.GetType().FullName}, Chapter.Domain", NpgsqlDbType.Varchar);
                }
                await writer.CompleteAsync();
            }
            await transaction.CommitAsync();
        }

        await using var finish = new NpgsqlCommand($"SELECT setval('mt_events_sequence', {history.Count}); ANALYZE mt_events;", connection);
        await finish.ExecuteNonQueryAsync();
    }
}
