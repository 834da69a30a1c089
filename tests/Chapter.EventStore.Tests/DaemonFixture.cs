using Chapter.EventStore.Daemon;
using Chapter.Testing;
using Npgsql;

namespace Chapter.EventStore.Tests;

/// <summary>
/// A projection that records every event it applies, so that a double application or a skipped event
/// shows as a wrong row count. Hooks let a test make it fail, slow or crash at a given event.
/// </summary>
public sealed class RecordingProjection(string name) : IAsyncProjection
{
    public string Name { get; } = name;

    public string SchemaSql =>
        """
        CREATE TABLE applied (seq_id bigint NOT NULL, stream_id text NOT NULL, type text NOT NULL);
        CREATE TABLE stream_counts (stream_id text PRIMARY KEY, events int NOT NULL);
        """ + ExtraSchemaSql;

    /// <summary>More DDL, as a newer version of the projection would bring.</summary>
    public string ExtraSchemaSql { get; init; } = "";

    public bool ReadsMetadata { get; init; }

    /// <summary>Runs before each batch is applied, inside the daemon's transaction.</summary>
    public Func<NpgsqlConnection, IReadOnlyList<RecordedEvent>, Task>? BeforeBatch { get; set; }

    public async Task ApplyAsync(NpgsqlConnection connection, IReadOnlyList<RecordedEvent> events, CancellationToken cancellationToken)
    {
        if (BeforeBatch is { } hook)
            await hook(connection, events);
        await using var batch = new NpgsqlBatch(connection);
        foreach (var e in events)
        {
            if (e.Data is Noted { Text: "poison" })
                throw new InvalidOperationException("This event cannot be applied.");
            var applied = new NpgsqlBatchCommand("INSERT INTO applied (seq_id, stream_id, type) VALUES ($1, $2, $3)");
            applied.Parameters.Add(new NpgsqlParameter { Value = e.Sequence });
            applied.Parameters.Add(new NpgsqlParameter { Value = e.StreamId });
            applied.Parameters.Add(new NpgsqlParameter { Value = e.TypeName });
            batch.BatchCommands.Add(applied);
            var count = new NpgsqlBatchCommand(
                "INSERT INTO stream_counts VALUES ($1, 1) ON CONFLICT (stream_id) DO UPDATE SET events = stream_counts.events + 1");
            count.Parameters.Add(new NpgsqlParameter { Value = e.StreamId });
            batch.BatchCommands.Add(count);
        }
        await batch.ExecuteNonQueryAsync(cancellationToken);
    }
}

/// <summary>A fresh database per test, a store, and helpers to run daemons over it.</summary>
public sealed class DaemonFixture : IAsyncDisposable
{
    public static readonly DaemonOptions FastOptions = new()
    {
        BatchSize = 100,
        PollInterval = TimeSpan.FromMilliseconds(20),
        StandbyPollInterval = TimeSpan.FromMilliseconds(100),
        KeepAliveInterval = TimeSpan.FromMilliseconds(200),
        MinRetryDelay = TimeSpan.FromMilliseconds(50),
        MaxRetryDelay = TimeSpan.FromMilliseconds(500),
        LongTransactionWarning = TimeSpan.FromMilliseconds(300),
    };

    private readonly List<NpgsqlDataSource> _dataSources = [];
    private readonly List<ProjectionDaemon> _daemons = [];

    public string ConnectionString { get; private set; } = "";
    public NpgsqlDataSource DataSource { get; private set; } = null!;
    public EventStore Store { get; private set; } = null!;
    public EventTypeMap Types { get; } = new StoreFixture().Types;

    public static async Task<DaemonFixture> CreateAsync(string? connectionString = null)
    {
        var fixture = new DaemonFixture { ConnectionString = connectionString ?? await TestPostgres.CreateDatabaseAsync() };
        fixture.DataSource = fixture.NewDataSource("test");
        fixture.Store = new EventStore(fixture.DataSource, fixture.Types, []);
        await SchemaMigrator.MigrateAsync(fixture.DataSource, SchemaMigrator.EventStoreMigrations);
        return fixture;
    }

    /// <summary>A data source of its own, named, so a test can kill exactly that node's connections.</summary>
    public NpgsqlDataSource NewDataSource(string applicationName)
    {
        var dataSource = NpgsqlDataSource.Create(new NpgsqlConnectionStringBuilder(ConnectionString) { ApplicationName = applicationName }.ConnectionString);
        _dataSources.Add(dataSource);
        return dataSource;
    }

    public async Task<ProjectionDaemon> StartDaemonAsync(string node, params IAsyncProjection[] projections)
    {
        var daemon = new ProjectionDaemon(NewDataSource(node), Types, projections, FastOptions with { NodeId = node });
        _daemons.Add(daemon);
        await daemon.StartAsync();
        return daemon;
    }

    public async Task<long> AppendAsync(int events, string text = "note")
    {
        long last = 0;
        for (var i = 0; i < events; i++)
        {
            var result = await Store.AppendAsync(
                new StreamAppend($"s-{i % 7}", "thing", "t", ExpectedVersion.Any, [new Noted($"{text} {i}")]), EventMetadata.None);
            last = result.LastSequence;
        }
        return last;
    }

    public async Task<long> ScalarAsync(string sql, params object[] parameters)
    {
        await using var command = DataSource.CreateCommand(sql);
        foreach (var parameter in parameters)
            command.Parameters.Add(new NpgsqlParameter { Value = parameter });
        return Convert.ToInt64(await command.ExecuteScalarAsync());
    }

    /// <summary>
    /// The read model must equal a fresh fold of the log: every known event applied exactly once, and
    /// per-stream counts that match.
    /// </summary>
    private static readonly object KnownTypes = new[] { "test.opened.v1", "test.noted.v1" };

    public async Task ShouldMatchTheLogAsync(string projection)
    {
        (await ScalarAsync($"SELECT count(*) FROM proj_{projection}.applied")).ShouldBe(
            await ScalarAsync("SELECT count(*) FROM events WHERE type = ANY($1)", KnownTypes));
        (await ScalarAsync($"SELECT count(*) FROM (SELECT seq_id FROM proj_{projection}.applied GROUP BY seq_id HAVING count(*) > 1) twice"))
            .ShouldBe(0, "no event may be applied twice");
        (await ScalarAsync(
            $"""
            SELECT count(*) FROM (
                SELECT stream_id, count(*)::int FROM events WHERE type = ANY($1) GROUP BY stream_id
                EXCEPT SELECT stream_id, events FROM proj_{projection}.stream_counts) differences
            """, KnownTypes)).ShouldBe(0);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var daemon in _daemons)
            await daemon.StopAsync();
        foreach (var dataSource in _dataSources)
            await dataSource.DisposeAsync();
    }
}
