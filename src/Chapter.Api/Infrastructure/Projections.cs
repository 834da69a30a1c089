using System.Text.Json;
using Chapter.EventStore.Daemon;
using Chapter.Projections;
using Chapter.Projections.Activity;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Npgsql;

namespace Chapter.Api.Infrastructure;

public static class Projections
{
    /// <summary>The async projection daemon runs in every API process; each projection is applied by one of them.</summary>
    public static void AddChapterProjections(this WebApplicationBuilder builder)
    {
        var section = builder.Configuration.GetSection("Chapter:Daemon");
        var options = new DaemonOptions
        {
            PollInterval = TimeSpan.FromMilliseconds(section.GetValue("PollIntervalMs", 250)),
            StandbyPollInterval = TimeSpan.FromMilliseconds(section.GetValue("StandbyPollIntervalMs", 2000)),
            BatchSize = section.GetValue("BatchSize", new DaemonOptions().BatchSize),
        };
        builder.Services.AddSingleton(services => new ProjectionDaemon(
            services.GetRequiredService<NpgsqlDataSource>(),
            ChapterEventTypes.Create(),
            [new ActivityProjection()],
            options,
            services.GetRequiredService<ILogger<ProjectionDaemon>>()));
        if (section.GetValue("Enabled", true))
            builder.Services.AddHostedService<DaemonService>();
        builder.Services.AddHealthChecks().AddCheck<ProjectionsHealthCheck>("projections");
    }

    private sealed class DaemonService(ProjectionDaemon daemon) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken) => daemon.StartAsync(cancellationToken);
        public Task StopAsync(CancellationToken cancellationToken) => daemon.StopAsync();
    }

    /// <summary>A projection stopped at a poison event makes the service degraded, naming the event.</summary>
    private sealed class ProjectionsHealthCheck(ProjectionDaemon daemon) : IHealthCheck
    {
        public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
        {
            try
            {
                var statuses = await daemon.GetStatusAsync(cancellationToken);
                var failed = statuses.Where(s => s.State == "failed").ToList();
                return failed.Count == 0
                    ? HealthCheckResult.Healthy($"{statuses.Count} projection(s) running; largest lag {statuses.Select(s => s.LagEvents).DefaultIfEmpty().Max()} events.")
                    : HealthCheckResult.Degraded(string.Join("; ", failed.Select(s => $"projection '{s.Name}' stopped at event {s.ErrorSequence}: {s.Error}")));
            }
            catch (Exception e) when (e is NpgsqlException or TimeoutException)
            {
                return HealthCheckResult.Unhealthy("Projection status unavailable: PostgreSQL does not answer.");
            }
        }
    }

    /// <summary>Health as JSON: the overall status and what each check found.</summary>
    public static Task WriteHealthAsync(HttpContext context, HealthReport report)
    {
        context.Response.ContentType = "application/json";
        return JsonSerializer.SerializeAsync(context.Response.Body, new
        {
            status = report.Status.ToString(),
            checks = report.Entries.Select(e => new { name = e.Key, status = e.Value.Status.ToString(), description = e.Value.Description }),
        }, JsonSerializerOptions.Web);
    }
}
