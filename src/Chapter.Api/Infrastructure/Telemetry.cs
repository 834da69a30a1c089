using Npgsql;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Chapter.Api.Infrastructure;

/// <summary>
/// OpenTelemetry traces and metrics: ASP.NET Core, HttpClient, Npgsql, and Marten's and Wolverine's own sources, plus the
/// service's meter (daemon lag, outbox depth). Exported over OTLP when <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set (the
/// exporter reads the other <c>OTEL_*</c> settings itself); without it nothing leaves the process.
/// </summary>
public static class Telemetry
{
    public const string MeterName = "Chapter";

    public static void AddChapterTelemetry(this WebApplicationBuilder builder)
    {
        var telemetry = builder.Services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService("chapter"))
            .WithTracing(tracing => tracing
                .AddAspNetCoreInstrumentation()
                .AddHttpClientInstrumentation()
                .AddNpgsql()
                .AddSource("Marten", "Wolverine"))
            .WithMetrics(metrics => metrics
                .AddAspNetCoreInstrumentation()
                .AddHttpClientInstrumentation()
                .AddMeter(MeterName, "Npgsql", "Marten", "Wolverine"));
        if (!string.IsNullOrWhiteSpace(builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]))
            telemetry.UseOtlpExporter();
    }
}
