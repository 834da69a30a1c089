using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using Chapter.Api.Infrastructure;
using Chapter.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Chapter.Api.Tests;

/// <summary>The API in memory over a PostgreSQL database of its own.</summary>
public sealed class ApiFixture : WebApplicationFactory<Program>, IAsyncLifetime
{
    public const string OperatorToken = "operator-token-for-the-tests-0123456789abcdef";
    /// <summary>The base64 of 32 bytes: the key webhook secrets are sealed with in the tests.</summary>
    public const string WebhookSecretKey = "dGVzdHMtd2ViaG9vay1zZWNyZXQta2V5LTMyLWJ5dGU=";
    private string _connectionString = "";

    public string ConnectionString => _connectionString;

    /// <summary>Every log line the service wrote, at Debug and above, whatever the configured levels.</summary>
    public CapturedLogs Logs { get; } = new();

    /// <summary>Settings a test class changes, e.g. a small write budget; applied before the host starts.</summary>
    public Dictionary<string, string> Settings { get; } = new()
    {
        ["Chapter:RateLimit:WritesPerMinute"] = "1000000",
        // Without SMTP the service writes e-mails as files: into a folder of the test's own, not the repository's .data/mail.
        ["Chapter:Mail:PickupDirectory"] = Path.Combine(Path.GetTempPath(), $"chapter-test-mail-{Guid.NewGuid():N}"),
    };

    public async Task InitializeAsync() => await StartOnAsync(await TestPostgres.CreateDatabaseAsync());

    /// <summary>
    /// A service over a PostgreSQL cluster of the test's own, for tests that stop or restart it; null unless tests run on
    /// local clusters (a configured server or a container is not the test's to stop). Dispose the service, then the cluster.
    /// </summary>
    public static async Task<(Chapter.LocalPostgres.LocalPostgresCluster Cluster, ApiFixture Api)?> OnOwnClusterAsync()
    {
        if (await Chapter.Testing.TestPostgres.StartOwnClusterAsync() is not { } cluster)
            return null;
        var api = new ApiFixture();
        await api.StartOnAsync(cluster.ConnectionString("chapter"));
        return (cluster, api);
    }

    /// <summary>Starts the host over this database, which migrates the schema.</summary>
    public Task StartOnAsync(string connectionString)
    {
        _connectionString = connectionString;
        _ = Server;
        return Task.CompletedTask;
    }

    /// <summary>Services a test class adds or replaces; applied before the host starts.</summary>
    public Action<IServiceCollection>? ExtraServices { get; init; }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        if (ExtraServices is { } extra)
            builder.ConfigureServices(extra);
        builder.UseSetting("ConnectionStrings:Chapter", _connectionString);
        builder.UseSetting("Chapter:AdminToken", OperatorToken);
        builder.UseSetting("Chapter:Webhooks:SecretKey", WebhookSecretKey);
        foreach (var (key, value) in Settings)
            builder.UseSetting(key, value);
        builder.UseEnvironment("Production");
        builder.ConfigureLogging(logging => logging.AddProvider(Logs).AddFilter<CapturedLogs>(null, LogLevel.Debug));
    }

    /// <summary>A client that sends this bearer token (none: anonymous).</summary>
    public HttpClient ClientWith(string? token)
    {
        var client = CreateClient();
        if (token is not null)
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return client;
    }

    public HttpClient Operator() => ClientWith(OperatorToken);

    /// <summary>Waits (boundedly) until the async projections have applied every event appended so far.</summary>
    public async Task WaitForProjectionsAsync()
    {
        var last = await ScalarAsync("SELECT coalesce(max(seq_id), 0) FROM mt_events");
        await Services.GetRequiredService<AsyncProjections>().WaitForAsync(last, TimeSpan.FromSeconds(20));
    }

    public async Task<long> ScalarAsync(string sql, params object[] parameters) =>
        Convert.ToInt64(await QueryScalarAsync(sql, parameters));

    public async Task<string> ScalarTextAsync(string sql, params object[] parameters) =>
        Convert.ToString(await QueryScalarAsync(sql, parameters)) ?? "";

    public async Task<JsonObject> ScalarJsonAsync(string sql, params object[] parameters) =>
        JsonNode.Parse((string)(await QueryScalarAsync(sql, parameters))!)!.AsObject();

    /// <summary>
    /// Every table of the database (the event store's, Wolverine's, the views', the service's own) whose rows, as text, hold
    /// <paramref name="text"/> anywhere, with how many: what a search of a stolen copy would find.
    /// </summary>
    public async Task<IReadOnlyList<string>> TablesHoldingAsync(string text)
    {
        await using var connection = new NpgsqlConnection(_connectionString);
        await connection.OpenAsync();
        var tables = new List<string>();
        await using (var list = new NpgsqlCommand(
                         "SELECT format('%I.%I', table_schema, table_name) FROM information_schema.tables " +
                         "WHERE table_type = 'BASE TABLE' AND table_schema NOT IN ('pg_catalog', 'information_schema')", connection))
        await using (var reader = await list.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
                tables.Add(reader.GetString(0));
        }
        var holding = new List<string>();
        foreach (var table in tables)
        {
            await using var search = new NpgsqlCommand($"SELECT count(*) FROM {table} t WHERE strpos(t::text, $1) > 0", connection);
            search.Parameters.Add(new NpgsqlParameter { Value = text });
            if ((long)(await search.ExecuteScalarAsync())! is var count and > 0)
                holding.Add($"{table} ({count})");
        }
        return holding;
    }

    private async Task<object?> QueryScalarAsync(string sql, object[] parameters)
    {
        await using var connection = new NpgsqlConnection(_connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        foreach (var parameter in parameters)
            command.Parameters.Add(new NpgsqlParameter { Value = parameter });
        return await command.ExecuteScalarAsync();
    }

    /// <summary>
    /// Blocks every append (reads go on) until <paramref name="race"/>'s requests are all waiting on the
    /// lock, then lets them go at once: a real race, not requests that happen to run one after another.
    /// </summary>
    public async Task<T[]> RaceAsync<T>(int racers, Func<int, Task<T>> race)
    {
        await using var blocker = new NpgsqlConnection(_connectionString);
        await blocker.OpenAsync();
        await using var transaction = await blocker.BeginTransactionAsync();
        await using (var lockEvents = new NpgsqlCommand("LOCK TABLE mt_events IN EXCLUSIVE MODE", blocker, transaction))
            await lockEvents.ExecuteNonQueryAsync();

        var running = Enumerable.Range(0, racers).Select(race).ToArray();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (await ScalarAsync("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'") < racers)
            await Task.Delay(10, timeout.Token);
        await transaction.CommitAsync();
        return await Task.WhenAll(running);
    }

    async Task IAsyncLifetime.DisposeAsync() => await base.DisposeAsync();
}

[ProviderAlias("Captured")]
public sealed class CapturedLogs : ILoggerProvider
{
    private readonly System.Collections.Concurrent.ConcurrentQueue<string> _lines = new();

    public IReadOnlyCollection<string> Lines => _lines;

    public ILogger CreateLogger(string categoryName) => new Logger(categoryName, _lines);

    public void Dispose() { }

    private sealed class Logger(string category, System.Collections.Concurrent.ConcurrentQueue<string> lines) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            // The message, every structured value, and the exception: whatever a log sink could store.
            var values = state is IEnumerable<KeyValuePair<string, object?>> pairs ? string.Join(" ", pairs.Select(p => $"{p.Key}={p.Value}")) : "";
            lines.Enqueue($"{logLevel} {category}: {formatter(state, exception)} {values} {exception}");
        }
    }
}

/// <summary>
/// Builds chapters, members and referrals through the public HTTP API, as a client would: the operator
/// creates the chapter and its members, and each member acts with a token of their own.
/// </summary>
public sealed class Scenario(ApiFixture api)
{
    private readonly Dictionary<Guid, HttpClient> _members = [];
    private HttpClient? _integration;

    public ApiFixture Api { get; } = api;
    public HttpClient Operator { get; } = api.Operator();
    public string ChapterId { get; } = $"chapter-{Guid.NewGuid():N}"[..20];

    /// <param name="database">With several databases, the one to place the chapter in (else the service chooses).</param>
    public async Task<Scenario> WithChapterAsync(string? database = null)
    {
        var created = await Operator.PostAsJsonAsync("/api/chapters",
            new { id = ChapterId, name = "Stockholm City", timeZone = "Europe/Stockholm", currency = "SEK", database });
        created.StatusCode.ShouldBe(HttpStatusCode.Created, await created.Content.ReadAsStringAsync());
        return this;
    }

    /// <summary>Adds a member and signs them in: <see cref="As"/> gives their client.</summary>
    public async Task<Guid> AddMemberAsync(string name, string profession = "Accountant", string chapterId = "", string role = "member",
        string[]? languages = null)
    {
        var chapter = chapterId == "" ? ChapterId : chapterId;
        var response = await Operator.PostAsJsonAsync($"/api/chapters/{chapter}/members",
            new { name, profession, languages = languages ?? ["sv", "en"], role });
        response.StatusCode.ShouldBe(HttpStatusCode.Created);
        var id = (await response.ReadJsonAsync())["id"]!.GetValue<Guid>();
        _members[id] = Api.ClientWith(await IssueTokenAsync(chapter, id));
        return id;
    }

    public Task<Guid> AddLeaderAsync(string name) => AddMemberAsync(name, "Chapter leader", role: "leader");

    public async Task<string> IssueTokenAsync(string chapterId, Guid memberId)
    {
        var issued = await Operator.PostAsJsonAsync($"/api/chapters/{chapterId}/members/{memberId}/tokens", new { label = "tests" });
        issued.StatusCode.ShouldBe(HttpStatusCode.Created);
        return (await issued.ReadJsonAsync())["token"]!.GetValue<string>();
    }

    /// <summary>The client of a member added by this scenario.</summary>
    public HttpClient As(Guid memberId) => _members[memberId];

    /// <summary>A read-only integration of this chapter (created on first use): reads without being a member.</summary>
    public async Task<HttpClient> IntegrationAsync()
    {
        if (_integration is null)
        {
            var issued = await Operator.PostAsJsonAsync($"/api/chapters/{ChapterId}/integrations", new { label = "tests" });
            issued.StatusCode.ShouldBe(HttpStatusCode.Created);
            _integration = Api.ClientWith((await issued.ReadJsonAsync())["token"]!.GetValue<string>());
        }
        return _integration;
    }

    public object ReferralBody(Guid giverId, Guid receiverId, Guid? referralId = null, bool consent = true, string need = "New office lease") => new
    {
        referralId,
        giverId,
        receiverId,
        prospect = new { name = "Sara Lind", email = "sara@example.se", phone = "+46 70 123 45 67", company = "Lind Bygg AB", consent },
        need,
        temperature = "warm",
        language = "sv",
    };

    public string Referrals => $"/api/chapters/{ChapterId}/referrals";

    public async Task<Guid> GiveAsync(Guid giverId, Guid receiverId)
    {
        var response = await As(giverId).PostAsJsonAsync(Referrals, ReferralBody(giverId, receiverId));
        if (response.StatusCode != HttpStatusCode.Created)
            // What the service said and logged, so a failure seen once in CI can be understood from its output.
            response.StatusCode.ShouldBe(HttpStatusCode.Created, $"{await response.Content.ReadAsStringAsync()}\nThe service logged:\n  " +
                string.Join("\n  ", Api.Logs.Lines.Where(l => l.StartsWith("Error") || l.StartsWith("Critical")).TakeLast(5)));
        return (await response.ReadJsonAsync())["id"]!.GetValue<Guid>();
    }

    /// <summary>How many events of this type the referral's stream holds.</summary>
    public Task<long> ScalarEventsAsync(Guid referralId, string type) =>
        Api.ScalarAsync("SELECT count(*) FROM mt_events WHERE stream_id = $1 AND type = $2", $"referral-{referralId}", type);

    /// <summary>A receiver's step (accept, decline, close, thank), taken by <paramref name="memberId"/>.</summary>
    public Task<HttpResponseMessage> ActAsync(Guid memberId, Guid referralId, string action, object body) =>
        As(memberId).PostAsJsonAsync($"{Referrals}/{referralId}/{action}", body);
}

public static class HttpAssertions
{
    public static async Task<JsonObject> ReadJsonAsync(this HttpResponseMessage response) =>
        JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsObject();

    /// <summary>Asserts an RFC 9457 problem with this status, and returns it.</summary>
    public static async Task<JsonObject> ShouldBeProblemAsync(this HttpResponseMessage response, HttpStatusCode status)
    {
        var text = await response.Content.ReadAsStringAsync();
        response.StatusCode.ShouldBe(status, text);
        response.Content.Headers.ContentType?.MediaType.ShouldBe("application/problem+json");
        var problem = JsonNode.Parse(text)!.AsObject();
        problem["status"]!.GetValue<int>().ShouldBe((int)status);
        problem["title"]!.GetValue<string>().ShouldNotBeNullOrWhiteSpace();
        text.ShouldNotContain("   at ", customMessage: "no stack traces to clients");
        return problem;
    }

    /// <summary>Asserts a problem whose <c>errors</c> name each of these fields.</summary>
    public static async Task<JsonObject> ShouldBeProblemNamingAsync(this HttpResponseMessage response, HttpStatusCode status, params string[] fields)
    {
        var problem = await response.ShouldBeProblemAsync(status);
        var errors = problem["errors"]?.AsObject() ?? throw new ShouldAssertException($"No errors in {problem.ToJsonString()}");
        foreach (var field in fields)
            errors.ContainsKey(field).ShouldBeTrue($"'{field}' not named in {errors.ToJsonString()}");
        return problem;
    }

    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);
}
