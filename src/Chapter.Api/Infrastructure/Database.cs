using Chapter.Api.Access;
using Chapter.LocalPostgres;
using Chapter.Projections;
using Chapter.Projections.Activity;
using JasperFx.Events.Daemon;
using Marten;
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

        var connectionString = builder.Configuration.GetConnectionString(ConnectionStringName)!;
        builder.Services.AddSingleton(_ =>
        {
            var dataSource = new NpgsqlDataSourceBuilder(connectionString);
            // The same statements repeat on every request: preparing them saves parse and plan time
            // unless the connection string says otherwise.
            if (!connectionString.Contains("Auto Prepare", StringComparison.OrdinalIgnoreCase))
                dataSource.ConnectionStringBuilder.MaxAutoPrepare = 50;
            return dataSource.Build();
        });

        var daemon = builder.Configuration.GetSection("Chapter:Daemon");
        var activity = new ActivityProjection();
        builder.Services.AddSingleton(activity);
        builder.Services.AddMarten(options =>
                ChapterEventStore.Configure(options, connectionString, activity, daemon.GetValue("BatchSize", ChapterEventStore.DefaultActivityBatchSize)))
            // One pool for Marten and our own reads.
            .UseNpgsqlDataSource()
            .UseLightweightSessions()
            .AddAsyncDaemon(daemon.GetValue("Enabled", true) ? DaemonMode.HotCold : DaemonMode.Disabled);

        builder.Services.AddSingleton<WritePath>();
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddHealthChecks().AddCheck<PostgresHealthCheck>("postgres");
    }

    /// <summary>
    /// Brings the schema up to date before the first request: Marten's tables by Marten, ours by our scripts;
    /// safe when several instances start at once.
    /// </summary>
    public static async Task MigrateChapterDatabaseAsync(this WebApplication app)
    {
        var db = app.Services.GetRequiredService<NpgsqlDataSource>();
        await RefuseUnimportedEventsAsync(db);
        await app.Services.GetRequiredService<IDocumentStore>().Storage.ApplyAllConfiguredChangesToDatabaseAsync();
        await SchemaMigrator.MigrateAsync(db, ReadModelSchema.Migrations.Concat(AccessTokens.Migrations));
        await ActivityProjection.EnsureSchemaAsync(db);
        if (app.Services.GetService<LocalPostgresCluster>() is { } cluster)
            app.Lifetime.ApplicationStopped.Register(() => cluster.StopAsync().GetAwaiter().GetResult());
    }

    /// <summary>
    /// The first version kept its events in tables of its own (events, streams). Their import into Marten's is not
    /// built yet, and starting without it would show every chapter empty while new events piled up beside the old:
    /// such a database is refused, loudly, before anything is written to it.
    /// </summary>
    private static async Task RefuseUnimportedEventsAsync(NpgsqlDataSource db)
    {
        // Two statements: a query naming a table that does not exist fails when planned, whatever guards it.
        await using var exists = db.CreateCommand("SELECT to_regclass('public.events') IS NOT NULL");
        if (await exists.ExecuteScalarAsync() is not true)
            return;
        await using var holdsEvents = db.CreateCommand("SELECT EXISTS (SELECT 1 FROM public.events)");
        if (await holdsEvents.ExecuteScalarAsync() is true)
            throw new InvalidOperationException(
                "This database holds events in the previous event store's tables (events, streams). This version keeps events in " +
                "Marten's tables and cannot import those yet: run it on a new database, or keep the previous version on this one.");
    }

    private sealed class PostgresHealthCheck(NpgsqlDataSource db) : IHealthCheck
    {
        public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
        {
            try
            {
                await using var command = db.CreateCommand("SELECT 1");
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
