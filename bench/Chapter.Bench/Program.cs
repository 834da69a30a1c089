using Chapter.Projections;
using Chapter.Bench;
using Chapter.LocalPostgres;

// ./chapter bench appends [--seconds 10]
// ./chapter bench catchup [--events 1000000] [--chapters 100] [--members 40] [--samples 300] [--batch N (default: the daemon's)]
// ./chapter bench rebuild [--times 30] [--events 100000]   (rebuilds of the activity projection under writes; counts stalls)
// ./chapter bench views [--seconds 10] [--referrals 20000]   (the referral view as our SQL table and as a Marten document)
// ./chapter bench export [--events 100000]   (a chapter's export, a tenth of that and that many events: time, size, the service's memory)
// ./chapter bench tenancy [--chapters 10000] [--databases 3]   (Marten's static and sharded tenancies over several databases)
// ./chapter bench scale [--databases 3] [--nodes 2] [--chapters 10000] [--seconds 20] [--clients 16]   (chapters over several databases, several nodes)
// ./chapter bench http [--seconds 10] [--warmup 10]    (CHAPTER_BENCH_SERVICE_CONNECTION_EXTRA=";Key=Value" adds to the service's connection string)
// CHAPTER_BENCH_POSTGRES=<connection string> runs against another server instead of a throwaway local cluster.

int Option(string name, int fallback) =>
    args.SkipWhile(a => a != name).Skip(1).Select(int.Parse).DefaultIfEmpty(fallback).First();

// The benchmark's name comes first when given; options (and their values) follow.
var benchmark = args.Length > 0 && !args[0].StartsWith("--", StringComparison.Ordinal) ? args[0] : "appends";
if (benchmark is not ("appends" or "catchup" or "export" or "http" or "rebuild" or "tenancy" or "views" or "scale"))
{
    Console.Error.WriteLine("usage: bench [appends] [--seconds N] | bench catchup [--events N] [--chapters N] [--members N] [--samples N] [--batch N] | bench http [--seconds N] [--warmup N] | bench rebuild [--times N] [--events N] | bench views [--seconds N] [--referrals N] | bench export [--events N] | bench tenancy [--chapters N] [--databases N] | bench scale [--databases N] [--nodes N] [--chapters N] [--seconds N] [--clients N]");
    return 2;
}

LocalPostgresCluster? cluster = null;
var connectionString = Environment.GetEnvironmentVariable("CHAPTER_BENCH_POSTGRES");
if (string.IsNullOrWhiteSpace(connectionString))
{
    // Durable settings (fsync on): the baselines pay for them too, so the ratios stay honest. The HTTP benchmark runs with
    // fsync off, as the load was first measured: there the service's own cost is the question, not the disk's.
    // The scale benchmark runs on PostgreSQL's defaults (fsync on), as an operator's server would, with room for several nodes' pools.
    cluster = await LocalPostgresCluster.StartAsync(new LocalPostgresOptions { MaxConnections = benchmark == "scale" ? 400 : 200, Throwaway = benchmark is "http" or "rebuild" or "views" or "export" });
    connectionString = cluster.ConnectionString();
}

try
{
    if (benchmark == "appends")
        await AppendBenchmark.RunAsync(connectionString, Option("--seconds", 5));
    else if (benchmark == "rebuild")
        await RebuildBenchmark.RunAsync(connectionString, Option("--times", 30), Option("--events", 100_000));
    else if (benchmark == "views")
        await ViewBenchmark.RunAsync(connectionString, Option("--seconds", 10), Option("--referrals", 20_000));
    else if (benchmark == "tenancy")
        await TenancyBenchmark.RunAsync(connectionString, Option("--chapters", 10_000), Option("--databases", 3));
    else if (benchmark == "scale")
        await ScaleBenchmark.RunAsync(connectionString, Option("--databases", 3), Option("--nodes", 2), Option("--chapters", 10_000), Option("--seconds", 20), Option("--clients", 16));
    else if (benchmark == "export")
        await ExportBenchmark.RunAsync(connectionString, Option("--events", 100_000));
    else if (benchmark == "http")
        await HttpBenchmark.RunAsync(connectionString, Option("--seconds", 10), Option("--warmup", 10));
    else
        await CatchUpBenchmark.RunAsync(connectionString, Option("--events", 1_000_000), Option("--chapters", 100), Option("--members", 40), Option("--samples", 300), Option("--batch", ChapterEventStore.DefaultActivityBatchSize));
    return 0;
}
finally
{
    if (cluster is not null)
        await cluster.DisposeAsync();
}
