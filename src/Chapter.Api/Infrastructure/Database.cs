using Chapter.Api.Access;
using Chapter.EventStore;
using Chapter.LocalPostgres;
using Chapter.Projections;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Npgsql;

namespace Chapter.Api.Infrastructure;

public static class Database
{
    public const string ConnectionStringName = "Chapter";

    /// <summary>
    /// Registers the data source, the event store with its inline projections, and the write path.
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
            // The append and read statements repeat on every request: preparing them saves parse and plan
            // time (about a quarter of an append, see bench/RESULTS.md) unless the connection string says otherwise.
            if (!connectionString.Contains("Auto Prepare", StringComparison.OrdinalIgnoreCase))
                dataSource.ConnectionStringBuilder.MaxAutoPrepare = 50;
            return dataSource.Build();
        });
        builder.Services.AddSingleton(services => new EventStore.EventStore(
            services.GetRequiredService<NpgsqlDataSource>(), ChapterEventTypes.Create(), ReadModelSchema.InlineProjections()));
        builder.Services.AddSingleton<WritePath>();
        builder.Services.AddSingleton(services => new EventStore.Daemon.TenantFeed(services.GetRequiredService<NpgsqlDataSource>()));
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddHealthChecks().AddCheck<PostgresHealthCheck>("postgres");
    }

    /// <summary>Brings the schema up to date before the first request; safe when several instances start at once.</summary>
    public static async Task MigrateChapterDatabaseAsync(this WebApplication app)
    {
        await SchemaMigrator.MigrateAsync(app.Services.GetRequiredService<NpgsqlDataSource>(), ReadModelSchema.All.Concat(AccessTokens.Migrations));
        if (app.Services.GetService<LocalPostgresCluster>() is { } cluster)
            app.Lifetime.ApplicationStopped.Register(() => cluster.StopAsync().GetAwaiter().GetResult());
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
