using Chapter.Projections;
using Chapter.Projections.Activity;
using Chapter.Testing;
using JasperFx.Events;
using JasperFx.Events.Daemon;
using JasperFx.Events.Projections;
using Marten;
using Marten.Events.Projections;
using Npgsql;

namespace Chapter.MartenConfiguration.Tests;

/// <summary>Counts every event it applies, so that a skipped or doubled event shows as a wrong count.</summary>
public sealed class CountingProjection : IProjection
{
    public const string Name = "counting";

    public Task ApplyAsync(IDocumentOperations operations, IReadOnlyList<IEvent> events, CancellationToken cancellation)
    {
        operations.QueueSqlCommand("INSERT INTO public.counted (seq_id) SELECT unnest(?::bigint[])", (object)events.Select(e => e.Sequence).ToArray());
        return Task.CompletedTask;
    }
}

public sealed class ProbeFold : Marten.Events.Aggregation.SingleStreamProjection<EventStoreConfigurationTests.Probe, string>
{
    public override EventStoreConfigurationTests.Probe? Evolve(EventStoreConfigurationTests.Probe? snapshot, string id, IEvent e) => new(id);
}

/// <summary>
/// A database of its own with Chapter's Marten configuration (the API's, not a copy), plus a counting projection beside
/// the activity projection, and a daemon to run over it.
/// </summary>
public sealed class MartenFixture : IAsyncDisposable
{
    private MartenFixture(string connectionString, NpgsqlDataSource db, DocumentStore store)
    {
        ConnectionString = connectionString;
        Db = db;
        Store = store;
    }

    public string ConnectionString { get; }
    public NpgsqlDataSource Db { get; }
    public DocumentStore Store { get; }
    public IProjectionDaemon? Daemon { get; private set; }

    public static async Task<MartenFixture> CreateAsync()
    {
        var connectionString = await TestPostgres.CreateDatabaseAsync();
        var db = NpgsqlDataSource.Create(connectionString);
        var store = DocumentStore.For(options =>
        {
            ChapterEventStore.Configure(options, connectionString, new ActivityProjection(), activityBatchSize: 100);
            options.Projections.Add(new CountingProjection(), ProjectionLifecycle.Async, CountingProjection.Name);
            options.Projections.Add(new ProbeFold(), ProjectionLifecycle.Live);
        });
        await store.Storage.ApplyAllConfiguredChangesToDatabaseAsync();
        await ActivityProjection.EnsureSchemaAsync(db);
        await using (var counted = db.CreateCommand("CREATE TABLE counted (seq_id bigint NOT NULL)"))
            await counted.ExecuteNonQueryAsync();
        return new MartenFixture(connectionString, db, store);
    }

    public async Task<IProjectionDaemon> StartDaemonAsync()
    {
        Daemon = await Store.BuildProjectionDaemonAsync();
        await Daemon.StartAllAsync();
        return Daemon;
    }

    public async Task<long> AppendAsync(string chapter, string stream, params object[] events)
    {
        await using var session = Store.LightweightSession(chapter);
        session.Events.Append(stream, events);
        await session.SaveChangesAsync();
        return await ScalarAsync("SELECT max(seq_id) FROM mt_events");
    }

    /// <summary>Members joining chapter "north", one new stream each; returns the last event's sequence number.</summary>
    public async Task<long> JoinMembersAsync(int count)
    {
        var last = 0L;
        for (var i = 0; i < count; i++)
        {
            var id = Guid.NewGuid();
            last = await AppendAsync("north", Chapter.Domain.Members.MemberDecider.StreamId(id),
                new Chapter.Domain.Members.MemberJoined(id, "north", $"Member {i}", "Trade", ["sv"], DateTimeOffset.UtcNow));
        }
        return last;
    }

    public async Task<long> ScalarAsync(string sql, params object[] parameters)
    {
        await using var command = Db.CreateCommand(sql);
        foreach (var parameter in parameters)
            command.Parameters.Add(new NpgsqlParameter { Value = parameter });
        return Convert.ToInt64(await command.ExecuteScalarAsync() ?? 0L);
    }

    public Task<long> ProgressAsync(string projection) =>
        ScalarAsync("SELECT coalesce((SELECT last_seq_id FROM mt_event_progression WHERE name = $1), 0)", projection + ":All");

    /// <summary>Waits, boundedly, until the projection's checkpoint reaches <paramref name="sequence"/>; false when the time ran out.</summary>
    public Task<bool> ReachesAsync(string projection, long sequence, TimeSpan within) =>
        EventuallyAsync(async () => await ProgressAsync(projection) >= sequence, within);

    /// <summary>Waits, boundedly, until <paramref name="condition"/> holds; false when the time ran out.</summary>
    public static async Task<bool> EventuallyAsync(Func<Task<bool>> condition, TimeSpan within)
    {
        var until = DateTime.UtcNow + within;
        while (DateTime.UtcNow < until)
        {
            if (await condition())
                return true;
            await Task.Delay(50);
        }
        return await condition();
    }

    public async ValueTask DisposeAsync()
    {
        if (Daemon is not null)
        {
            await Daemon.StopAllAsync();
            Daemon.Dispose();
        }
        await Store.DisposeAsync();
        await Db.DisposeAsync();
    }
}
