using Chapter.Api.Access;
using Chapter.LocalPostgres;
using Chapter.Projections;
using Chapter.Projections.Activity;
using Marten;
using Wolverine.Marten;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Npgsql;

namespace Chapter.Api.Infrastructure;

public static class Database
{
    public const string ConnectionStringName = "Chapter";

    /// <summary>
    /// Registers the data source, Marten (event store, inline views, the async daemon) and the write path.
    /// With no connection string configured, starts (or reuses) a local PostgreSQL cluster first.
    /// </summary>
    public static async Task AddChapterDatabaseAsync(this WebApplicationBuilder builder)
    {
        if (string.IsNullOrWhiteSpace(builder.Configuration.GetConnectionString(ConnectionStringName)))
        {
            var embedded = await EmbeddedPostgres.StartAsync(builder.Configuration, builder.Environment);
            builder.Configuration[$"ConnectionStrings:{ConnectionStringName}"] = embedded.ConnectionString;
            builder.Services.AddSingleton(embedded);
            if (embedded.Cluster is { } cluster)
                builder.Services.AddSingleton(cluster);
        }

        var connectionString = WithServiceDefaults(builder.Configuration.GetConnectionString(ConnectionStringName)!);
        var layout = DatabaseLayout.From(builder.Configuration, connectionString);
        // One pool for Marten, Wolverine's Marten sessions and our own reads (per database, with several).
        var dataSource = WithServiceSettings(new NpgsqlDataSourceBuilder(connectionString)).Build();
        var main = new ChapterDatabase(ChapterDatabases.MainName, dataSource);
        builder.Services.AddSingleton(layout);
        var standbys = layout.Databases.Where(d => d.Standby is not null)
            .ToDictionary(d => d.Name, d => StandbyPreferring(WithServiceDefaults(d.ConnectionString), d.Standby!));
        builder.Services.AddSingleton(services => new ChapterDatabases(layout, main, standbys, services));

        var daemon = builder.Configuration.GetSection("Chapter:Daemon");
        // Chapter:Daemon:Enabled=false: a node that serves requests and runs no projection agent (it does not know the projection).
        var activity = daemon.GetValue("Enabled", true) ? new ActivityProjection() : null;
        builder.Services.AddMarten(options =>
            {
                var batchSize = daemon.GetValue("BatchSize", ChapterEventStore.DefaultActivityBatchSize);
                if (layout.AreSeveral)
                {
                    // Each database's pool gets the same settings as the main one's.
                    options.ConfigureNpgsqlDataSourceBuilder(each => WithServiceSettings(each));
                    ChapterEventStore.ConfigureSharded(options, dataSource,
                        layout.Databases.Select(d => (d.Name, WithServiceDefaults(d.ConnectionString))), activity, batchSize);
                }
                else
                    ChapterEventStore.Configure(options, dataSource, activity, batchSize);
                Commands.AddDeciderProjections(options);
                // The service's own tables, beside the views': Marten creates and migrates them (with several databases, in each
                // chapter database those of chapters; the main one's are migrated below).
                foreach (var table in layout.AreSeveral ? ChapterTables() : OwnTables())
                    options.Storage.ExtendedSchemaObjects.Add(table);
            })
            .UseLightweightSessions()
            // Wolverine's envelope storage and outbox in the same database, committed with the events; and Marten's daemon run
            // as Wolverine's agents: each projection on one node of those that know it, moved when that node dies. With several
            // databases, Wolverine keeps its node and agent tables in the main one and an inbox and outbox in each.
            .IntegrateWithWolverine(wolverine =>
            {
                wolverine.UseWolverineManagedEventSubscriptionDistribution = true;
                if (layout.AreSeveral)
                    wolverine.MasterDataSource = dataSource;
            });

        builder.Services.AddSingleton(TimeProvider.System);
        // One check per database, named after it, so /health says which database does not answer.
        var health = builder.Services.AddHealthChecks().AddTypeActivatedCheck<PostgresHealthCheck>("postgres", ChapterDatabases.MainName);
        foreach (var database in layout.Databases)
            health.AddTypeActivatedCheck<PostgresHealthCheck>($"postgres:{database.Name}", database.Name);
    }

    /// <summary>The tables of the service's own features (tokens, notification settings, webhooks), registered with Marten.</summary>
    public static IEnumerable<Weasel.Postgresql.Tables.Table> OwnTables() => [.. MainDatabaseTables(), .. ChapterTables()];

    /// <summary>What belongs to no chapter, in the main database when there are several.</summary>
    public static IEnumerable<Weasel.Postgresql.Tables.Table> MainDatabaseTables() => [AccessTokens.Table(), SignInCodes.Table()];

    /// <summary>What belongs to a chapter, in its database.</summary>
    public static IEnumerable<Weasel.Postgresql.Tables.Table> ChapterTables() =>
        [.. Notifications.NotificationSettings.Tables(), .. Webhooks.WebhookStore.Tables()];

    /// <summary>
    /// The primary and its standby as one Npgsql multi-host data source, handing out standby connections (the primary's when the
    /// standby does not answer): what <see cref="ChapterDatabase.ForReadsThatMayLag"/> reads from.
    /// </summary>
    private static NpgsqlDataSource StandbyPreferring(string primaryConnectionString, string standbyConnectionString)
    {
        var hosts = new NpgsqlConnectionStringBuilder(primaryConnectionString);
        var standby = new NpgsqlConnectionStringBuilder(standbyConnectionString);
        hosts.Host = $"{hosts.Host}:{hosts.Port},{standby.Host}:{standby.Port}";
        return WithServiceSettings(new NpgsqlDataSourceBuilder(hosts.ConnectionString)).BuildMultiHost()
            .WithTargetSession(TargetSessionAttributes.PreferStandby);
    }

    /// <summary>Auto-prepared statements and traces only of statements that are part of something.</summary>
    private static NpgsqlDataSourceBuilder WithServiceSettings(NpgsqlDataSourceBuilder builder)
    {
        // The same statements repeat on every request: preparing them saves parse and plan time
        // unless the connection string says otherwise.
        if (!builder.ConnectionString.Contains("Auto Prepare", StringComparison.OrdinalIgnoreCase) && builder.ConnectionStringBuilder.MaxAutoPrepare == 0)
            builder.ConnectionStringBuilder.MaxAutoPrepare = 50;
        // Statements are traced as part of something (a request, a command, a daemon batch): the daemon's own polling,
        // several statements a second on every node, would otherwise be most of the traces.
        builder.ConfigureTracing(tracing => tracing
            .ConfigureCommandFilter(_ => System.Diagnostics.Activity.Current is not null)
            .ConfigureBatchFilter(_ => System.Diagnostics.Activity.Current is not null)
            .EnablePhysicalOpenTracing(false));
        return builder;
    }

    /// <summary>
    /// Settings every connection gets unless the connection string says otherwise.
    /// The daemon's leader holds its advisory lock on a connection that waits in a long <c>pg_sleep</c> (that is how
    /// Marten's distributed lock keeps it alive). When the leading process dies (kill -9, a lost VM), PostgreSQL notices the
    /// client is gone, and frees the lock for another node, only when that query ends, unless it checks while it runs.
    /// A database that does not answer fails a request in 5 s (Npgsql waits 15 by default), which then gets a 503.
    /// </summary>
    internal static string WithServiceDefaults(string connectionString)
    {
        var builder = new NpgsqlConnectionStringBuilder(connectionString);
        if (builder.Options?.Contains("client_connection_check_interval", StringComparison.OrdinalIgnoreCase) != true)
            builder.Options = $"{builder.Options} -c client_connection_check_interval=1000".Trim();
        if (!System.Text.RegularExpressions.Regex.IsMatch(connectionString, @"(^|;)\s*Timeout\s*=", System.Text.RegularExpressions.RegexOptions.IgnoreCase))
            builder.Timeout = 5;
        // A connection taken from the pool again is not reset (Npgsql's reset, DISCARD ALL's equivalent, ran five times and more
        // per give): nothing here leaves state on a session; settings are SET LOCAL, and Marten's and Wolverine's advisory locks
        // are released by their holders. (bench/RESULTS.md, session 13.)
        if (!connectionString.Contains("No Reset On Close", StringComparison.OrdinalIgnoreCase))
            builder.NoResetOnClose = true;
        return builder.ConnectionString;
    }

    /// <summary>
    /// Brings the schema up to date before the first request: Marten's tables, Wolverine's and ours, all by Marten (Weasel);
    /// safe when several instances start at once.
    /// </summary>
    public static async Task MigrateChapterDatabaseAsync(this WebApplication app)
    {
        var db = await ApplySchemaAsync(app);
        if (await PreviousStoreImport.IsPendingAsync(db))
            throw new InvalidOperationException(
                "This database holds the events of Chapter's first version (tables 'events' and 'streams'), not imported into " +
                $"Marten's yet. Stop every instance, run '{PreviousStoreImport.Command}' once (./chapter {PreviousStoreImport.Command}, " +
                $"or dotnet Chapter.Api.dll {PreviousStoreImport.Command}), then start the service.");
        if (app.Services.GetService<LocalPostgresCluster>() is { } cluster)
            app.Lifetime.ApplicationStopped.Register(() => cluster.StopAsync().GetAwaiter().GetResult());
    }

    /// <summary><c>import-previous-store</c>: the first version's events into Marten's tables, once (<see cref="PreviousStoreImport"/>).</summary>
    public static async Task<int> ImportPreviousStoreAsync(this WebApplication app)
    {
        if (app.Services.GetRequiredService<ChapterDatabases>().AreSeveral)
        {
            Console.Error.WriteLine($"{PreviousStoreImport.Command} imports into one database: run it with ConnectionStrings:Chapter alone (no Chapter:Databases).");
            return 1;
        }
        var db = await ApplySchemaAsync(app);
        var imported = await PreviousStoreImport.ImportAsync(db, app.Logger);
        Console.WriteLine(imported == 0 ? "Nothing to import: this database holds no events of the previous store." : $"Imported {imported} events.");
        return 0;
    }

    private static async Task<NpgsqlDataSource> ApplySchemaAsync(WebApplication app)
    {
        var databases = app.Services.GetRequiredService<ChapterDatabases>();
        await app.Services.GetRequiredService<IDocumentStore>().Storage.ApplyAllConfiguredChangesToDatabaseAsync();
        if (databases.AreSeveral)
            await MigrateMainDatabaseAsync(databases.Main);
        return databases.Main.DataSource;
    }

    /// <summary>An advisory lock key of the service's own, apart from Marten's and Wolverine's.</summary>
    private const long MainMigrationLock = 4_242_020;

    /// <summary>Marten migrates the chapters' databases and its registry in the main one; the main one's own tables are ours to migrate, as Marten would, by Weasel.</summary>
    private static async Task MigrateMainDatabaseAsync(ChapterDatabase main)
    {
        await using var connection = await main.OpenConnectionAsync();
        // Instances that start together migrate one after the other.
        await using (var lockCommand = new NpgsqlCommand($"SELECT pg_advisory_lock({MainMigrationLock})", connection))
            await lockCommand.ExecuteNonQueryAsync();
        try
        {
            await Weasel.Postgresql.SchemaObjectsExtensions.MigrateAsync(MainDatabaseTables().Cast<Weasel.Core.ISchemaObject>().ToArray(), connection);
        }
        finally
        {
            await using var unlock = new NpgsqlCommand($"SELECT pg_advisory_unlock({MainMigrationLock})", connection);
            await unlock.ExecuteNonQueryAsync();
        }
    }

    private sealed class PostgresHealthCheck(ChapterDatabases databases, string name) : IHealthCheck
    {
        public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
        {
            try
            {
                var database = name == ChapterDatabases.MainName ? databases.Main : (await databases.AllAsync()).Single(d => d.Name == name);
                await using var command = database.CreateCommand("SELECT 1");
                await command.ExecuteScalarAsync(cancellationToken);
                return HealthCheckResult.Healthy("PostgreSQL answers.");
            }
            catch (Exception e) when (e is NpgsqlException or TimeoutException or InvalidOperationException)
            {
                return HealthCheckResult.Unhealthy("PostgreSQL does not answer.");
            }
        }
    }
}
