using System.Diagnostics;
using Chapter.Testing;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace Chapter.Api.Tests;

/// <summary>Traces follow a request from ASP.NET Core into Npgsql; the service's meter reports the daemon's lag and the outbox.</summary>
public sealed class TelemetryApiTests
{
    [Fact]
    public async Task A_give_is_traced_from_the_request_to_its_sql_and_the_meter_reports_projection_lag_and_outbox_depth()
    {
        var spans = new List<Activity>();
        var metrics = new List<Metric>();
        await using var api = new ApiFixture
        {
            ExtraServices = services => services.AddOpenTelemetry()
                .WithTracing(tracing => tracing.AddInMemoryExporter(spans))
                .WithMetrics(m => m.AddInMemoryExporter(metrics)),
        };
        await api.StartOnAsync(await TestPostgres.CreateDatabaseAsync());
        var scenario = await new Scenario(api).WithChapterAsync();
        var (anna, bram) = (await scenario.AddMemberAsync("Anna"), await scenario.AddMemberAsync("Bram"));
        await scenario.GiveAsync(anna, bram);
        await api.WaitForProjectionsAsync();

        api.Services.GetRequiredService<TracerProvider>().ForceFlush();
        List<Activity> seen;
        lock (spans)
            seen = [.. spans];
        // (Other tests' hosts run in this process too: theirs are told apart by the chapter in the path.)
        var give = seen.Single(s => s.Kind == ActivityKind.Server && s.GetTagItem("http.route") as string == "/api/chapters/{chapterId}/referrals/"
                                    && s.GetTagItem("http.request.method") as string == "POST"
                                    && (s.GetTagItem("url.path") as string)?.Contains(scenario.ChapterId) == true);
        seen.Where(s => s.TraceId == give.TraceId && s.Source.Name == "Npgsql").ShouldNotBeEmpty("the give's SQL is part of its trace");
        seen.ShouldContain(s => s.TraceId == give.TraceId && s.Source.Name.StartsWith("Wolverine"), "the command's handling is part of its trace");

        // The service measures every 5 s; wait for a measurement, then read the gauges.
        await Task.Delay(TimeSpan.FromSeconds(6));
        api.Services.GetRequiredService<MeterProvider>().ForceFlush();
        List<string> names;
        lock (metrics)
            names = metrics.Select(m => m.Name).Distinct().ToList();
        names.ShouldContain("chapter.projection.lag");
        names.ShouldContain("chapter.outbox.depth");
        names.ShouldContain("http.server.request.duration");
        // Per projection; other tests' hosts in this process report theirs too, so only the shape is this test's to check.
        var lag = metrics.Last(m => m.Name == "chapter.projection.lag");
        var projections = new List<string?>();
        foreach (ref readonly var point in lag.GetMetricPoints())
        {
            point.GetGaugeLastValueLong().ShouldBeGreaterThanOrEqualTo(0);
            foreach (var tag in point.Tags)
                if (tag.Key == "projection")
                    projections.Add(tag.Value as string);
        }
        projections.ShouldContain("activity");
    }
}
