using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using Npgsql;

namespace Chapter.Bench;

/// <summary>
/// The write path over HTTP: the service as its own process on Kestrel (loopback) over a database of its own, and
/// concurrent clients giving referrals with the tokens of 20 members, then running whole lifecycles (give, accept, close,
/// thank). Beside it, in the same run on the same server: raw single-row INSERTs of the same JSON size, at the same
/// concurrency; and two floors, as a process of their own over a database of their own (Chapter.Bench.Baseline), given the
/// same body by the same clients: the stack Chapter is built on with nothing of ours (a WolverineFx.Http endpoint starting a
/// Marten stream with an inline snapshot) and HTTP with one INSERT (an ASP.NET Core minimal API and Npgsql). Prints
/// requests/s, p50/p99 latency, Chapter's give as a share of each floor, and the service's peak RSS.
/// </summary>
internal static class HttpBenchmark
{
    private const int Members = 20;

    public static async Task RunAsync(string serverConnectionString, int seconds, int warmUpSeconds = 10)
    {
        await using var admin = NpgsqlDataSource.Create(serverConnectionString);
        await using (var create = admin.CreateCommand("DROP DATABASE IF EXISTS bench_http WITH (FORCE); CREATE DATABASE bench_http"))
            await create.ExecuteNonQueryAsync();
        var connectionString = new NpgsqlConnectionStringBuilder(serverConnectionString) { Database = "bench_http" }.ConnectionString;
        await using (var create = admin.CreateCommand("DROP DATABASE IF EXISTS bench_bare WITH (FORCE); CREATE DATABASE bench_bare"))
            await create.ExecuteNonQueryAsync();
        var bareConnectionString = new NpgsqlConnectionStringBuilder(serverConnectionString) { Database = "bench_bare" }.ConnectionString;

        using var service = StartService(connectionString, out var address);
        using var bare = StartProcess("Chapter.Bench.Baseline.dll", new() { ["ConnectionStrings__Baseline"] = bareConnectionString }, out var bareAddress);
        try
        {
            await WaitUntilListeningAsync(service, address);
            await WaitUntilListeningAsync(bare, bareAddress);
            var chapter = await SetUpChapterAsync(address);
            await using var db = new NpgsqlDataSourceBuilder(connectionString) { ConnectionStringBuilder = { MaxPoolSize = 64 } }.Build();
            var giveJson = GiveBody(Guid.NewGuid(), chapter.Members[0].Id, chapter.Members[1].Id).ToJsonString();
            await using (var table = db.CreateCommand("CREATE TABLE raw_gives (id bigserial PRIMARY KEY, stream_id text NOT NULL, data jsonb NOT NULL)"))
                await table.ExecuteNonQueryAsync();

            Console.WriteLine($"PostgreSQL {await ScalarAsync(db, "SHOW server_version")}, fsync={await ScalarAsync(db, "SHOW fsync")}, " +
                              $"{Environment.ProcessorCount} cores, {seconds} s per measurement, give body {giveJson.Length} bytes, {Members} members' tokens");
            Console.WriteLine();
            var postmaster = PostmasterOf(int.Parse(await ScalarAsync(db, "SELECT pg_backend_pid()")));
            var cpu = new CpuMeter(service.Id, postmaster);
            var bareCpu = new CpuMeter(bare.Id, postmaster);
            Console.WriteLine("| clients | what | requests/s | p50 ms | p99 ms | raw INSERT rows/s | give ÷ raw | give ÷ stack floor | give ÷ HTTP floor | CPU ms per request: service / PostgreSQL / load | daemon caught up, s after |");
            Console.WriteLine("|--------:|------|-----------:|-------:|-------:|------------------:|------:|------:|------:|------:|------:|");

            using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 64, PooledConnectionLifetime = Timeout.InfiniteTimeSpan })
            {
                BaseAddress = address,
            };
            using var bareHttp = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 64, PooledConnectionLifetime = Timeout.InfiniteTimeSpan })
            {
                BaseAddress = bareAddress,
            };
            Func<Random, Task<int>> BareGive(string stack) => async random =>
            {
                var (giver, receiver) = chapter.Pair(random);
                await SendAsync(bareHttp, HttpMethod.Post, $"/bare/{stack}/chapters/{chapter.Id}/referrals", giver.Token,
                    GiveBody(Guid.CreateVersion7(), giver.Id, receiver.Id), HttpStatusCode.Created);
                return 1;
            };
            // Their first requests compile Wolverine's handler code (Roslyn) and warm the JIT, as the service's warm-up does.
            await RunAsync(8, TimeSpan.FromSeconds(5), BareGive("wolverine"), []);
            await RunAsync(8, TimeSpan.FromSeconds(5), BareGive("npgsql"), []);
            async Task<int> LifecycleAsync(Random random)
            {
                var (giver, receiver) = chapter.Pair(random);
                var referral = Guid.CreateVersion7();
                var path = $"/api/chapters/{chapter.Id}/referrals";
                await SendAsync(http, HttpMethod.Post, path, giver.Token, GiveBody(referral, giver.Id, receiver.Id), HttpStatusCode.Created);
                await SendAsync(http, HttpMethod.Post, $"{path}/{referral}/accept", receiver.Token, new JsonObject(), HttpStatusCode.OK);
                await SendAsync(http, HttpMethod.Post, $"{path}/{referral}/close", receiver.Token,
                    new JsonObject { ["outcome"] = "won", ["value"] = new JsonObject { ["amount"] = 12000, ["currency"] = "SEK" } }, HttpStatusCode.OK);
                await SendAsync(http, HttpMethod.Post, $"{path}/{referral}/thank", receiver.Token, new JsonObject { ["note"] = "Signed, thank you!" }, HttpStatusCode.OK);
                return 4;
            }

            // The service's JIT recompiles its hot code in its first tens of seconds (tiered compilation); a service that has run
            // for a while has done so. Warm up on whole lifecycles first, so the first measurement does not pay for it.
            await RunAsync(8, TimeSpan.FromSeconds(warmUpSeconds), LifecycleAsync, []);
            await CaughtUpAsync(http);

            foreach (var clients in new[] { 8, 32 })
            {
                var raw = await MeasureAsync(cpu, clients, seconds, async _ =>
                {
                    await using var insert = db.CreateCommand("INSERT INTO raw_gives (stream_id, data) VALUES ($1, $2::jsonb)");
                    insert.Parameters.Add(new NpgsqlParameter { Value = $"referral-{Guid.NewGuid()}" });
                    insert.Parameters.Add(new NpgsqlParameter { Value = giveJson });
                    await insert.ExecuteNonQueryAsync();
                    return 1;
                });
                var gives = await MeasureAsync(cpu, clients, seconds, async random =>
                {
                    var (giver, receiver) = chapter.Pair(random);
                    await SendAsync(http, HttpMethod.Post, $"/api/chapters/{chapter.Id}/referrals", giver.Token,
                        GiveBody(Guid.CreateVersion7(), giver.Id, receiver.Id), HttpStatusCode.Created);
                    return 1;
                });
                var givesCaughtUp = await CaughtUpAsync(http);
                var stackFloor = await MeasureAsync(bareCpu, clients, seconds, BareGive("wolverine"));
                var httpFloor = await MeasureAsync(bareCpu, clients, seconds, BareGive("npgsql"));
                Console.WriteLine($"| {clients,7} | give | {gives.PerSecond,10:N0} | {gives.P50,6:N1} | {gives.P99,6:N1} | {raw.PerSecond,17:N0} | {gives.PerSecond / raw.PerSecond,5:P0} | {gives.PerSecond / stackFloor.PerSecond:N2} | {gives.PerSecond / httpFloor.PerSecond:N2} | {gives.Cpu} | {givesCaughtUp,5:N1} |");
                Console.WriteLine($"| {clients,7} | stack floor: bare WolverineFx.Http + Marten stream start | {stackFloor.PerSecond,10:N0} | {stackFloor.P50,6:N1} | {stackFloor.P99,6:N1} | | | | | {stackFloor.Cpu} | |");
                Console.WriteLine($"| {clients,7} | HTTP floor: bare ASP.NET Core + one Npgsql INSERT | {httpFloor.PerSecond,10:N0} | {httpFloor.P50,6:N1} | {httpFloor.P99,6:N1} | | | | | {httpFloor.Cpu} | |");
                var lifecycles = await MeasureAsync(cpu, clients, seconds, LifecycleAsync);
                var lifecyclesCaughtUp = await CaughtUpAsync(http);
                Console.WriteLine($"| {clients,7} | lifecycle (4 requests, latency per lifecycle) | {lifecycles.PerSecond,10:N0} | {lifecycles.P50,6:N1} | {lifecycles.P99,6:N1} | | | | | {lifecycles.Cpu} | {lifecyclesCaughtUp,5:N1} |");
            }
            Console.WriteLine();
            Console.WriteLine("The floors answer 201 as the give does, with no token check and no rule: what Chapter adds on top of each is the gap.");
            Console.WriteLine("CPU ms per request: user + system time from /proc over the measured seconds, divided by the requests made: the service's process");
            Console.WriteLine("(the floors' process for theirs),");
            Console.WriteLine("every process of the PostgreSQL cluster, and this load generator. Steadier than requests/s on a machine shared with other work.");
            Console.WriteLine("The async daemon projects the events as they come, on the same cores: each measurement starts once it has caught up with");
            Console.WriteLine("the one before, and the last column says how long after the measurement that took.");
            Console.WriteLine($"Service peak RSS (VmHWM): {PeakRssMegabytes(service):N0} MB");
        }
        finally
        {
            service.Kill(entireProcessTree: true);
            bare.Kill(entireProcessTree: true);
            await service.WaitForExitAsync();
            await bare.WaitForExitAsync();
        }
    }

    internal sealed record Member(Guid Id, string Token);

    internal sealed record Chapter(string Id, Member[] Members)
    {
        public (Member Giver, Member Receiver) Pair(Random random)
        {
            var giver = random.Next(Members.Length);
            var receiver = (giver + 1 + random.Next(Members.Length - 1)) % Members.Length;
            return (Members[giver], Members[receiver]);
        }
    }

    internal static JsonObject GiveBody(Guid referralId, Guid giver, Guid receiver) => new()
    {
        ["referralId"] = referralId,
        ["giverId"] = giver,
        ["receiverId"] = receiver,
        ["prospect"] = new JsonObject { ["name"] = "Sara Lind", ["email"] = "sara.lind@example.se", ["phone"] = "+46 70 123 45 67", ["company"] = "Lind Bygg AB", ["consent"] = true },
        ["need"] = "Looking for a new office lease in Södermalm, 200 m², from March",
        ["temperature"] = "warm",
        ["language"] = "sv",
    };

    internal static async Task SendAsync(HttpClient http, HttpMethod method, string path, string token, JsonNode body, HttpStatusCode expected)
    {
        using var request = new HttpRequestMessage(method, path) { Content = JsonContent.Create(body) };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var response = await http.SendAsync(request);
        if (response.StatusCode != expected)
            throw new InvalidOperationException($"{method} {path}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
    }

    internal static async Task<Chapter> SetUpChapterAsync(Uri address)
    {
        using var http = new HttpClient { BaseAddress = address };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", OperatorToken);
        const string id = "bench-http";
        (await http.PostAsJsonAsync("/api/chapters", new { id, name = "Bench", timeZone = "Europe/Stockholm", currency = "SEK" })).EnsureSuccessStatusCode();
        var members = new List<Member>();
        for (var i = 0; i < Members; i++)
        {
            var added = await http.PostAsJsonAsync($"/api/chapters/{id}/members", new { name = $"Member {i}", profession = $"Trade {i}", languages = new[] { "sv" } });
            var memberId = JsonNode.Parse(await added.EnsureSuccessStatusCode().Content.ReadAsStringAsync())!["id"]!.GetValue<Guid>();
            var issued = await http.PostAsJsonAsync($"/api/chapters/{id}/members/{memberId}/tokens", new { label = "bench" });
            members.Add(new Member(memberId, JsonNode.Parse(await issued.EnsureSuccessStatusCode().Content.ReadAsStringAsync())!["token"]!.GetValue<string>()));
        }
        return new Chapter(id, [.. members]);
    }

    // Seconds until the async projections have applied every committed event, so the next measurement does not pay for this one's.
    internal static async Task<double> CaughtUpAsync(HttpClient http)
    {
        var stopwatch = Stopwatch.StartNew();
        while (stopwatch.Elapsed < TimeSpan.FromMinutes(5))
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "/api/admin/projections");
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", OperatorToken);
            using var response = await http.SendAsync(request);
            var projections = JsonNode.Parse(await response.EnsureSuccessStatusCode().Content.ReadAsStringAsync())!["items"]!.AsArray();
            if (projections.All(p => p!["lagEvents"]!.GetValue<long>() == 0))
                return stopwatch.Elapsed.TotalSeconds;
            await Task.Delay(100);
        }
        throw new TimeoutException("The async projections did not catch up within 5 minutes.");
    }

    internal sealed record Measured(double PerSecond, double P50, double P99, string Cpu);

    // `clients` concurrent loops: a warm-up second, then `seconds` counted. The operation returns how many requests it made.
    private static async Task<Measured> MeasureAsync(CpuMeter cpu, int clients, int seconds, Func<Random, Task<int>> operation)
    {
        await RunAsync(clients, TimeSpan.FromSeconds(1), operation, []);
        var latencies = new List<double>[clients];
        var before = cpu.Read();
        var stopwatch = Stopwatch.StartNew();
        var requests = await RunAsync(clients, TimeSpan.FromSeconds(seconds), operation, latencies);
        var elapsed = stopwatch.Elapsed.TotalSeconds;
        var spent = cpu.Read() - before;
        var sorted = latencies.SelectMany(l => l).Order().ToArray();
        return new Measured(requests / elapsed, sorted[sorted.Length / 2], sorted[(int)(sorted.Length * 0.99)], spent.PerRequest(requests));
    }

    private static async Task<long> RunAsync(int clients, TimeSpan duration, Func<Random, Task<int>> operation, List<double>[] latencies)
    {
        long requests = 0;
        var deadline = Stopwatch.GetTimestamp() + (long)(duration.TotalSeconds * Stopwatch.Frequency);
        await Task.WhenAll(Enumerable.Range(0, clients).Select(client => Task.Run(async () =>
        {
            var random = new Random(client);
            var mine = new List<double>();
            while (Stopwatch.GetTimestamp() < deadline)
            {
                var started = Stopwatch.GetTimestamp();
                var made = await operation(random);
                mine.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                Interlocked.Add(ref requests, made);
            }
            if (latencies.Length > 0)
                latencies[client] = mine;
        })));
        return requests;
    }

    internal const string OperatorToken = "bench-operator-token-0123456789abcdef0123456789";

    internal static Process StartService(string connectionString, out Uri address, IReadOnlyDictionary<string, string>? settings = null)
    {
        var environment = new Dictionary<string, string>
        {
            ["ConnectionStrings__Chapter"] = connectionString + Environment.GetEnvironmentVariable("CHAPTER_BENCH_SERVICE_CONNECTION_EXTRA"),
            ["Chapter__AdminToken"] = OperatorToken,
            ["Chapter__Webhooks__SecretKey"] = Convert.ToBase64String(new byte[32]),
            ["Chapter__RateLimit__WritesPerMinute"] = "100000000",
        };
        foreach (var (name, value) in settings ?? new Dictionary<string, string>())
            environment[name] = value;
        return StartProcess("Chapter.Api.dll", environment, out address);
    }

    private static Process StartProcess(string dll, Dictionary<string, string> environment, out Uri address)
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        var port = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        address = new Uri($"http://127.0.0.1:{port}");
        var start = new ProcessStartInfo("dotnet", [Path.Combine(AppContext.BaseDirectory, dll), "--urls", address.ToString()])
        {
            WorkingDirectory = AppContext.BaseDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var (name, value) in environment)
            start.Environment[name] = value;
        start.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
        start.Environment["Logging__LogLevel__Default"] = "Warning";
        var process = Process.Start(start)!;
        // Warnings and worse only (Logging__LogLevel__Default): a node that fails says why.
        var failing = false;
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null)
                return;
            // A console log entry is its "fail: Category[id]" line and the indented lines that follow it.
            failing = e.Data.StartsWith("fail") || e.Data.StartsWith("crit") || (failing && e.Data.StartsWith(' '));
            if (failing)
                Console.Error.WriteLine($"{Path.GetFileNameWithoutExtension(dll)}: {e.Data}");
        };
        process.Exited += (_, _) => Console.Error.WriteLine($"{Path.GetFileNameWithoutExtension(dll)} exited with {process.ExitCode}");
        process.EnableRaisingEvents = true;
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) Console.Error.WriteLine($"{Path.GetFileNameWithoutExtension(dll)}: {e.Data}"); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    internal static async Task WaitUntilListeningAsync(Process service, Uri address)
    {
        using var http = new HttpClient { BaseAddress = address };
        var until = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            if (service.HasExited)
                throw new InvalidOperationException($"The service exited with {service.ExitCode} while starting.");
            try
            {
                (await http.GetAsync("/health")).EnsureSuccessStatusCode();
                return;
            }
            catch (HttpRequestException) when (DateTime.UtcNow < until) { }
            await Task.Delay(200);
        }
    }

    // The kernel's high-water mark of the process's resident memory.
    internal static double PeakRssMegabytes(Process process) =>
        File.ReadLines($"/proc/{process.Id}/status").Where(l => l.StartsWith("VmHWM:", StringComparison.Ordinal))
            .Select(l => long.Parse(l.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) / 1024.0).Single();

    private static Task<string> ScalarAsync(NpgsqlDataSource db, string sql) => AppendBenchmark.ScalarAsync(db, sql);

    internal static int PostmasterOf(int backendPid) => CpuMeter.ParentOf(backendPid);

    /// <summary>CPU seconds (user + system) of the service, of the PostgreSQL cluster (the postmaster and its children), and of this process.</summary>
    internal sealed class CpuMeter(int servicePid, int postmasterPid)
    {
        // USER_HZ: the unit of /proc/<pid>/stat's times; 100 on every Linux this runs on.
        private const double TicksPerSecond = 100;

        public readonly record struct Spent(double Service, double Postgres, double Load)
        {
            public static Spent operator -(Spent a, Spent b) => new(a.Service - b.Service, a.Postgres - b.Postgres, a.Load - b.Load);

            public string PerRequest(long requests) =>
                $"{1000 * Service / requests:N2} / {1000 * Postgres / requests:N2} / {1000 * Load / requests:N2}";
        }

        public Spent Read()
        {
            double postgres = 0;
            foreach (var dir in Directory.EnumerateDirectories("/proc"))
                if (int.TryParse(Path.GetFileName(dir), out var pid) && Stat(pid) is { } stat && (pid == postmasterPid || stat.Parent == postmasterPid))
                    postgres += stat.Seconds;
            return new Spent(Stat(servicePid)?.Seconds ?? 0, postgres, Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds);
        }

        public static int ParentOf(int pid) => Stat(pid)?.Parent ?? throw new InvalidOperationException($"No process {pid}.");

        private static (int Parent, double Seconds)? Stat(int pid)
        {
            string text;
            try { text = File.ReadAllText($"/proc/{pid}/stat"); }
            catch (IOException) { return null; }
            // The command name may hold spaces and parentheses: the fields start after the last ')'.
            var fields = text[(text.LastIndexOf(')') + 2)..].Split(' ');
            return (int.Parse(fields[1]), (long.Parse(fields[11]) + long.Parse(fields[12])) / TicksPerSecond);
        }
    }
}
