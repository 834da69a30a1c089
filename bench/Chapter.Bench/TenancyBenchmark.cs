using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Serialization;
using Chapter.Domain;
using Chapter.Domain.Chapters;
using Chapter.Domain.Members;
using Chapter.Domain.Referrals;
using JasperFx;
using JasperFx.Events;
using Marten;
using Npgsql;
using Weasel.Core;

namespace Chapter.Bench;

/// <summary>
/// Which of Marten's tenancies over several databases fits chapters (issue 24): the sharded pool
/// (<c>MultiTenantedWithShardedDatabases</c>: a registry in a master database, LIST partitions per tenant in each database)
/// against the static map (<c>MultiTenantedDatabases</c> with <c>ForTenants</c>: conjoined tenancy, no partitions), both at
/// the same number of chapters over the same databases, on PostgreSQL's default settings. Per model: the time to place every
/// chapter, the partitions each database ends with, appends of a give to random chapters (p50/p95), a daemon-like read of a
/// range of sequence numbers in each database (p50/p95), and any failure on the way. A third model adds Marten's per-tenant
/// event partitions (<c>Events.UseTenantPartitionedEvents</c>) to the pool: a LIST partition of the events and streams per chapter. The event store only, with the
/// service's event types and serialisation; the views are the same in either model. First, the server's floor in the same run:
/// raw single-row INSERTs of a give's size and range reads by key in one database.
/// </summary>
internal static class TenancyBenchmark
{
    private const int Samples = 400;

    public static async Task RunAsync(string serverConnectionString, int chapters, int databases)
    {
        Console.WriteLine($"{chapters:N0} chapters over {databases} databases, {Environment.ProcessorCount} cores");
        Console.WriteLine();
        Console.WriteLine("| model | placing every chapter, s | chapters per database | partitions per database | give p50 / p95, ms | range read of 1,000 events p50 / p95, ms | failures |");
        Console.WriteLine("|-------|-------------------------:|----------------------:|------------------------:|-------------------:|-----------------------------------------:|----------|");
        await RawBaselineAsync(serverConnectionString);
        foreach (var model in new[] { "static", "sharded", "sharded_partitioned" })
        {
            try
            {
                await MeasureAsync(serverConnectionString, model, chapters, databases);
            }
            catch (Exception e)
            {
                Console.WriteLine($"| {model} | | | | | | {e.GetType().Name}: {e.Message.ReplaceLineEndings(" ")[..Math.Min(200, e.Message.Length)]} |");
            }
        }
    }

    private static async Task MeasureAsync(string serverConnectionString, string model, int chapters, int databases)
    {
        await using var admin = NpgsqlDataSource.Create(serverConnectionString);
        var names = Enumerable.Range(0, databases + 1).Select(i => i == 0 ? $"tenancy_{model}_master" : $"tenancy_{model}_{i}").ToArray();
        foreach (var name in names)
            await using (var create = admin.CreateCommand($"DROP DATABASE IF EXISTS {name} WITH (FORCE); CREATE DATABASE {name}"))
                await create.ExecuteNonQueryAsync();
        string Of(string name) => new NpgsqlConnectionStringBuilder(serverConnectionString) { Database = name, MaxPoolSize = 20 }.ConnectionString;
        var chapterIds = Enumerable.Range(0, chapters).Select(i => $"chapter-{i:00000}").ToArray();
        var shards = names.Skip(1).ToArray();

        var failures = new List<string>();
        var placing = Stopwatch.StartNew();
        await using var store = DocumentStore.For(options =>
        {
            Configure(options);
            if (model == "static")
                options.MultiTenantedDatabases(x =>
                {
                    for (var s = 0; s < shards.Length; s++)
                        x.AddMultipleTenantDatabase(Of(shards[s]), shards[s]).ForTenants(chapterIds.Where((_, i) => i % shards.Length == s).ToArray());
                });
            else
            {
                // Marten's per-tenant event partitions (and sequences, and daemon agents) on top of the pool.
                options.Events.UseTenantPartitionedEvents = model == "sharded_partitioned";
                options.MultiTenantedWithShardedDatabases(x =>
                {
                    x.ConnectionString = Of(names[0]);
                    foreach (var shard in shards)
                        x.AddDatabase(shard, Of(shard));
                    x.UseSmallestDatabaseAssignment();
                });
            }
        });
        await store.Storage.ApplyAllConfiguredChangesToDatabaseAsync();
        if (model != "static")
            foreach (var chapter in chapterIds)
                await store.Advanced.AddTenantToShardAsync(chapter, CancellationToken.None);

        // Each chapter starts as the service starts it: created, with a first member.
        await Parallel.ForEachAsync(chapterIds, new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (chapter, ct) =>
        {
            await using var session = store.LightweightSession(chapter);
            var now = DateTimeOffset.UtcNow;
            var member = Guid.NewGuid();
            session.Events.StartStream(ChapterDecider.StreamId(chapter), new ChapterCreated(chapter, chapter, "Europe/Stockholm", "SEK", now));
            session.Events.StartStream(MemberDecider.StreamId(member), new MemberJoined(member, chapter, "Member", "Trade", ["sv"], now));
            await session.SaveChangesAsync(ct);
        });
        var placed = placing.Elapsed.TotalSeconds;

        var (partitions, placedChapters) = (new List<long>(), new List<long>());
        foreach (var shard in shards)
        {
            await using var db = NpgsqlDataSource.Create(Of(shard));
            partitions.Add(long.Parse(await AppendBenchmark.ScalarAsync(db, "SELECT count(*) FROM pg_inherits")));
            placedChapters.Add(long.Parse(await AppendBenchmark.ScalarAsync(db, "SELECT count(DISTINCT tenant_id) FROM mt_events")));
        }

        var random = new Random(11);
        var gives = await TimedAsync(Samples, 8, async () =>
        {
            var chapter = chapterIds[random.Next(chapterIds.Length)];
            await using var session = store.LightweightSession(chapter);
            var id = Guid.NewGuid();
            session.Events.StartStream(ReferralDecider.StreamId(id),
                new ReferralGiven(id, chapter, Guid.NewGuid(), Guid.NewGuid(), true, "sealed", "A need", Temperature.Warm, "sv", DateTimeOffset.UtcNow));
            await session.SaveChangesAsync();
        }, failures);

        // What the daemon's loader asks of each database: the events in a range of sequence numbers, whichever chapter.
        var reads = new List<double>();
        foreach (var shard in shards)
        {
            await using var db = NpgsqlDataSource.Create(Of(shard));
            var max = long.Parse(await AppendBenchmark.ScalarAsync(db, "SELECT coalesce(max(seq_id), 0) FROM mt_events"));
            reads.AddRange(await TimedAsync(Samples / shards.Length, 1, async () =>
            {
                var from = random.NextInt64(Math.Max(1, max - 1000));
                await using var command = db.CreateCommand("SELECT seq_id, tenant_id, type, data FROM mt_events WHERE seq_id > $1 AND seq_id <= $2 ORDER BY seq_id");
                command.Parameters.Add(new NpgsqlParameter { Value = from });
                command.Parameters.Add(new NpgsqlParameter { Value = from + 1000 });
                await using var reader = await command.ExecuteReaderAsync();
                while (await reader.ReadAsync()) { }
            }, failures));
        }

        Console.WriteLine($"| {model} | {placed:N1} | {string.Join(" / ", placedChapters)} | {string.Join(" / ", partitions)} | {Percentile(gives, 0.5):N1} / {Percentile(gives, 0.95):N1} | " +
                          $"{Percentile(reads, 0.5):N1} / {Percentile(reads, 0.95):N1} | {(failures.Count == 0 ? "none" : $"{failures.Count}: {failures[0]}")} |");
    }

    /// <summary>
    /// The server's floor, in the same run: a single-row INSERT of a give's size, 8 at a time, as the gives are; and a read of
    /// 1,000 consecutive rows by key, as the range reads are.
    /// </summary>
    private static async Task RawBaselineAsync(string serverConnectionString)
    {
        await using var admin = NpgsqlDataSource.Create(serverConnectionString);
        await using (var create = admin.CreateCommand("DROP DATABASE IF EXISTS tenancy_raw WITH (FORCE); CREATE DATABASE tenancy_raw"))
            await create.ExecuteNonQueryAsync();
        await using var db = NpgsqlDataSource.Create(new NpgsqlConnectionStringBuilder(serverConnectionString) { Database = "tenancy_raw", MaxPoolSize = 20 }.ConnectionString);
        await using (var table = db.CreateCommand("CREATE TABLE raw_gives (id bigserial PRIMARY KEY, stream_id text NOT NULL, data jsonb NOT NULL)"))
            await table.ExecuteNonQueryAsync();
        var data = JsonSerializer.Serialize(new { referralId = Guid.NewGuid(), need = "A need", temperature = "warm", language = "sv", sealedProspect = new string('x', 200) });
        var failures = new List<string>();
        var inserts = await TimedAsync(Samples, 8, async () =>
        {
            await using var insert = db.CreateCommand("INSERT INTO raw_gives (stream_id, data) VALUES ($1, $2::jsonb)");
            insert.Parameters.Add(new NpgsqlParameter { Value = $"referral-{Guid.NewGuid()}" });
            insert.Parameters.Add(new NpgsqlParameter { Value = data });
            await insert.ExecuteNonQueryAsync();
        }, failures);
        // As many rows as the event store's databases hold events, for the range reads.
        await using (var fill = db.CreateCommand("INSERT INTO raw_gives (stream_id, data) SELECT 'referral-' || g, $1::jsonb FROM generate_series(1, 20000) g"))
        {
            fill.Parameters.Add(new NpgsqlParameter { Value = data });
            await fill.ExecuteNonQueryAsync();
        }
        var random = new Random(11);
        var reads = await TimedAsync(Samples / 3, 1, async () =>
        {
            var from = random.NextInt64(19_000);
            await using var command = db.CreateCommand("SELECT id, stream_id, data FROM raw_gives WHERE id > $1 AND id <= $2 ORDER BY id");
            command.Parameters.Add(new NpgsqlParameter { Value = from });
            command.Parameters.Add(new NpgsqlParameter { Value = from + 1000 });
            await using var reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync()) { }
        }, failures);
        Console.WriteLine($"| raw baseline: single-row INSERT / range read by key, one database | | | | {Percentile(inserts, 0.5):N1} / {Percentile(inserts, 0.95):N1} | " +
                          $"{Percentile(reads, 0.5):N1} / {Percentile(reads, 0.95):N1} | {(failures.Count == 0 ? "none" : failures[0])} |");
    }

    /// <summary>The service's event types and JSON; the views are left out, as they are the same in either model.</summary>
    private static void Configure(StoreOptions options)
    {
        options.DatabaseSchemaName = "public";
        options.AutoCreateSchemaObjects = AutoCreate.CreateOrUpdate;
        options.UseSystemTextJsonForSerialization(new JsonSerializerOptions(JsonSerializerDefaults.Web), EnumStorage.AsInteger, Casing.CamelCase,
            json => json.Converters.Add(new JsonStringEnumConverter(JsonNamingPolicy.CamelCase)));
        options.Events.StreamIdentity = StreamIdentity.AsString;
        options.Events.TenancyStyle = JasperFx.MultiTenancy.TenancyStyle.Conjoined;
        options.Events.AppendMode = EventAppendMode.Quick;
        foreach (var (type, name) in EventNames.All)
            options.Events.MapEventType(type, name);
    }

    private static async Task<List<double>> TimedAsync(int samples, int concurrency, Func<Task> operation, List<string> failures)
    {
        var times = new List<double>();
        var remaining = samples;
        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(_ => Task.Run(async () =>
        {
            while (Interlocked.Decrement(ref remaining) >= 0)
            {
                var started = Stopwatch.GetTimestamp();
                try
                {
                    await operation();
                    lock (times) times.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                }
                catch (Exception e)
                {
                    lock (failures) failures.Add($"{e.GetType().Name}: {e.Message.ReplaceLineEndings(" ")}");
                }
            }
        })));
        return times;
    }

    private static double Percentile(List<double> values, double p)
    {
        if (values.Count == 0)
            return double.NaN;
        var sorted = values.Order().ToList();
        return sorted[Math.Min(sorted.Count - 1, (int)(sorted.Count * p))];
    }
}
