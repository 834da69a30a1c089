using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Chapter.LocalPostgres;
using Chapter.Testing;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace Chapter.Api.Tests;

/// <summary>
/// A service over a main database and three chapter databases (<c>Chapter:Databases:{name}</c>), each on a PostgreSQL
/// cluster of its own when tests run on local clusters (else three databases of the test server, and nothing is stopped).
/// </summary>
public sealed class ManyDatabases : IAsyncLifetime
{
    public static readonly string[] Names = ["east", "west", "north"];

    private readonly List<LocalPostgresCluster> _clusters = [];

    public ApiFixture Api { get; init; } = new();

    public Dictionary<string, string> ConnectionStrings { get; } = [];

    public Dictionary<string, LocalPostgresCluster> Clusters { get; } = [];

    /// <summary>Each database on a cluster of its own (when tests run on local clusters), or all on the test server.</summary>
    public bool OwnClusters { get; init; } = true;

    /// <summary>Settings for the service, beyond the databases; applied before it starts.</summary>
    public Dictionary<string, string> Settings { get; } = [];

    public async Task InitializeAsync()
    {
        var starts = Names.Select(async name => (name, cluster: OwnClusters ? await TestPostgres.StartOwnClusterAsync() : null)).ToList();
        foreach (var (name, cluster) in await Task.WhenAll(starts))
        {
            if (cluster is not null)
            {
                _clusters.Add(cluster);
                Clusters[name] = cluster;
            }
            // Marten and Wolverine tell databases apart by host and name, not port: each cluster's database is named apart.
            ConnectionStrings[name] = cluster is null ? await TestPostgres.CreateDatabaseAsync() : await CreateDatabaseAsync(cluster, $"chapter_{name}");
            Api.Settings[$"Chapter:Databases:{name}:ConnectionString"] = ConnectionStrings[name];
        }
        foreach (var (key, value) in Settings)
            Api.Settings[key] = value;
        await Api.StartOnAsync(await TestPostgres.CreateDatabaseAsync());
    }

    private static async Task<string> CreateDatabaseAsync(LocalPostgresCluster cluster, string database)
    {
        await using var connection = new NpgsqlConnection(cluster.ConnectionString());
        await connection.OpenAsync();
        await using var create = new NpgsqlCommand($"CREATE DATABASE {database}", connection);
        await create.ExecuteNonQueryAsync();
        return cluster.ConnectionString(database);
    }

    public async Task DisposeAsync()
    {
        await ((IAsyncLifetime)Api).DisposeAsync();
        foreach (var cluster in _clusters)
            await cluster.DisposeAsync();
    }

    public async Task<object?> ScalarAsync(string database, string sql, params object[] parameters)
    {
        await using var connection = new NpgsqlConnection(ConnectionStrings[database]);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        foreach (var parameter in parameters)
            command.Parameters.Add(new NpgsqlParameter { Value = parameter });
        return await command.ExecuteScalarAsync();
    }

    /// <summary>The database whose chapter_view holds this chapter (by asking each one, not the service).</summary>
    public async Task<string?> HoldingAsync(string chapterId, params string[] among)
    {
        foreach (var name in among.Length == 0 ? Names : among)
            if (Convert.ToInt64(await ScalarAsync(name, "SELECT count(*) FROM chapter_view WHERE id = $1", chapterId)) == 1)
                return name;
        return null;
    }

    /// <summary>Waits (boundedly: a minute) until <paramref name="done"/> says so, or fails saying <paramref name="what"/> did not happen.</summary>
    public static async Task UntilAsync(Func<Task<bool>> done, string what)
    {
        var until = DateTime.UtcNow.AddSeconds(60);
        while (!await done())
        {
            DateTime.UtcNow.ShouldBeLessThan(until, what);
            await Task.Delay(100);
        }
    }

    /// <summary>Waits until the activity projection of the chapter's database has every event of it, read from that database.</summary>
    public async Task WaitForProjectionAsync(string database)
    {
        var last = Convert.ToInt64(await ScalarAsync(database, "SELECT coalesce(max(seq_id), 0) FROM mt_events"));
        var until = DateTime.UtcNow.AddSeconds(30);
        while (Convert.ToInt64(await ScalarAsync(database, "SELECT position FROM proj_activity.applied")) < last)
        {
            DateTime.UtcNow.ShouldBeLessThan(until, $"the activity projection of {database} reaches event {last}; the service logged:\n  " +
                string.Join("\n  ", Api.Logs.Lines.Where(l => l.StartsWith("Warning") || l.StartsWith("Error") || l.Contains("event-subscriptions")).TakeLast(12).Select(l => l[..Math.Min(l.Length, 600)])));
            await Task.Delay(100);
        }
    }
}

public sealed class ManyDatabasesApiTests(ManyDatabasesApiTests.Fixture fixture) : IClassFixture<ManyDatabasesApiTests.Fixture>
{
    public sealed class Fixture : IAsyncLifetime
    {
        public ManyDatabases Databases { get; } = new()
        {
            Settings =
            {
                ["Chapter:Webhooks:AllowInsecureTargets"] = "true",
                ["Chapter:Webhooks:PollEvery"] = "00:00:00.100",
            },
        };

        public Task InitializeAsync() => Databases.InitializeAsync();
        public Task DisposeAsync() => Databases.DisposeAsync();
    }

    private ManyDatabases Databases => fixture.Databases;
    private ApiFixture Api => fixture.Databases.Api;

    [Fact]
    public async Task A_chapter_id_no_database_has_is_404_and_places_nothing()
    {
        var assignments = await MainScalarAsync("SELECT count(*) FROM mt_tenant_assignments");
        var missing = $"missing-{Guid.NewGuid():N}"[..20];

        foreach (var path in new[] { $"/api/chapters/{missing}", $"/api/chapters/{missing}/members" })
            await (await Api.Operator().GetAsync(path)).ShouldBeProblemAsync(HttpStatusCode.NotFound);
        await (await Api.Operator().PostAsJsonAsync($"/api/chapters/{missing}/members", new { name = "Anna", profession = "Baker", languages = new[] { "sv" } }))
            .ShouldBeProblemAsync(HttpStatusCode.NotFound);

        (await MainScalarAsync("SELECT count(*) FROM mt_tenant_assignments")).ShouldBe(assignments);
    }

    [Fact]
    public async Task Each_chapter_lives_whole_in_its_own_database_its_lifecycle_feed_report_and_webhook_included()
    {
        await using var receiver = await TestWebhookReceiver.StartAsync();
        var chapters = new Dictionary<string, (Scenario Scenario, Guid Referral)>();
        foreach (var name in ManyDatabases.Names.Take(2))
        {
            var scenario = await new Scenario(Api).WithChapterAsync(database: name);
            var leader = scenario.As(await scenario.AddLeaderAsync("Lea"));
            (await leader.PostAsJsonAsync($"/api/chapters/{scenario.ChapterId}/webhooks", new { url = receiver.Url, events = new[] { "*" }, label = name }))
                .StatusCode.ShouldBe(HttpStatusCode.Created);
            var (anna, bram) = (await scenario.AddMemberAsync("Anna"), await scenario.AddMemberAsync("Bram"));
            var referral = await scenario.GiveAsync(anna, bram);
            (await scenario.ActAsync(bram, referral, "accept", new { })).StatusCode.ShouldBe(HttpStatusCode.OK);
            (await scenario.ActAsync(bram, referral, "close", new { memberId = bram, outcome = "won", value = new { amount = 12000m, currency = "SEK" } })).StatusCode.ShouldBe(HttpStatusCode.OK);
            (await scenario.ActAsync(bram, referral, "thank", new { note = "Tack, Anna!" })).StatusCode.ShouldBe(HttpStatusCode.OK);
            chapters[name] = (scenario, referral);
        }

        foreach (var (name, (scenario, referral)) in chapters)
        {
            // Its events, views and webhook are in its database and in no other.
            var events = Convert.ToInt64(await Databases.ScalarAsync(name, "SELECT count(*) FROM mt_events WHERE tenant_id = $1", scenario.ChapterId));
            events.ShouldBe(8); // created, a leader and two members, given, accepted, closed, thanked
            foreach (var other in ManyDatabases.Names.Where(n => n != name))
            {
                Convert.ToInt64(await Databases.ScalarAsync(other, "SELECT count(*) FROM mt_events WHERE tenant_id = $1", scenario.ChapterId)).ShouldBe(0);
                Convert.ToInt64(await Databases.ScalarAsync(other, "SELECT count(*) FROM webhooks WHERE chapter_id = $1", scenario.ChapterId)).ShouldBe(0);
            }
            Convert.ToInt64(await Databases.ScalarAsync(name, "SELECT count(*) FROM webhooks WHERE chapter_id = $1", scenario.ChapterId)).ShouldBe(1);

            // Its feed gives its database's sequence numbers, every event of the chapter once.
            var integration = await scenario.IntegrationAsync();
            var positions = new List<long>();
            var until = DateTime.UtcNow.AddSeconds(20);
            string? after = null;
            while (positions.Count < events && DateTime.UtcNow < until)
            {
                var page = JsonNode.Parse(await integration.GetStringAsync(
                    $"/api/chapters/{scenario.ChapterId}/events?limit=100{(after is null ? "" : $"&after={after}")}"))!;
                positions.AddRange(page["items"]!.AsArray().Select(i => i!["position"]!.GetValue<long>()));
                after = page["next"]!.GetValue<string>();
                if (page["items"]!.AsArray().Count == 0)
                    await Task.Delay(50);
            }
            positions.Count.ShouldBe((int)events);
            foreach (var position in positions)
                (await Databases.ScalarAsync(name, "SELECT tenant_id FROM mt_events WHERE seq_id = $1", position)).ShouldBe(scenario.ChapterId);

            // The referral as its members read it, and the projection and weekly report of its database.
            (await integration.GetAsync($"{scenario.Referrals}/{referral}")).StatusCode.ShouldBe(HttpStatusCode.OK);
            await Databases.WaitForProjectionAsync(name);
            var today = DateTime.UtcNow;
            var week = $"{System.Globalization.ISOWeek.GetYear(today)}-W{System.Globalization.ISOWeek.GetWeekOfYear(today):00}";
            var report = await (await scenario.IntegrationAsync()).GetAsync($"/api/chapters/{scenario.ChapterId}/reports/weekly/{week}");
            report.StatusCode.ShouldBe(HttpStatusCode.OK, await report.Content.ReadAsStringAsync());
            // Its export, read from its database: every event of it in events.jsonl, a line each.
            var export = await scenario.Operator.GetAsync($"/api/chapters/{scenario.ChapterId}/export");
            export.StatusCode.ShouldBe(HttpStatusCode.OK);
            using var zip = new System.IO.Compression.ZipArchive(await export.Content.ReadAsStreamAsync());
            var eventsEntry = zip.GetEntry("events.jsonl")!;
            using var eventsCsv = new StreamReader(eventsEntry.Open());
            (await eventsCsv.ReadToEndAsync()).Split('\n', StringSplitOptions.RemoveEmptyEntries).Length.ShouldBe((int)events);
            Convert.ToInt64(await Databases.ScalarAsync(name, "SELECT count(*) FROM proj_activity.members WHERE chapter_id = $1", scenario.ChapterId))
                .ShouldBe(3);
        }

        // Each webhook got its own chapter's events, signed, from its own database's feed.
        await receiver.WaitUntilAsync(calls => chapters.Values.All(c =>
            calls.Count(call => call.Answered == 200 && call.Json["chapterId"]!.GetValue<string>() == c.Scenario.ChapterId
                && call.Json["type"]!.GetValue<string>() == "referral.thanked.v1") == 1), "each chapter's thanks");
    }

    [Fact]
    public async Task In_a_chapter_of_another_database_a_notice_is_mailed_and_a_former_member_forgotten_in_the_databases_that_held_them()
    {
        var scenario = await new Scenario(Api).WithChapterAsync(database: "west");
        var c = $"/api/chapters/{scenario.ChapterId}";
        var leader = scenario.As(await scenario.AddLeaderAsync("Lena"));
        var (anna, bram) = (await scenario.AddMemberAsync("Anna"), await scenario.AddMemberAsync("Bram"));
        var name = $"Zelda {Guid.NewGuid():N}"[..20];
        var zelda = await scenario.AddMemberAsync(name);
        var bramAddress = $"bram-{Guid.NewGuid():N}@example.se";
        (await scenario.As(bram).PutAsJsonAsync($"{c}/members/{bram}/notifications",
            new { email = bramAddress, referralReceived = true, referralUpdates = true, weeklyDigest = false })).StatusCode.ShouldBe(HttpStatusCode.OK);
        (await scenario.As(zelda).PutAsJsonAsync($"{c}/members/{zelda}/notifications",
            new { email = "zelda@example.se", referralReceived = false, referralUpdates = false, weeklyDigest = false })).StatusCode.ShouldBe(HttpStatusCode.OK);

        // The notice goes through Wolverine's outbox in the chapter's database, and is mailed.
        await scenario.GiveAsync(anna, bram);
        var pickup = Api.Settings["Chapter:Mail:PickupDirectory"];
        // A message is written as .eml.partial and renamed when whole: only whole ones are read.
        var until = DateTime.UtcNow.AddSeconds(30);
        while (!(Directory.Exists(pickup) && Directory.EnumerateFiles(pickup, "*.eml").Any(f => File.ReadAllText(f).Contains(bramAddress))))
        {
            DateTime.UtcNow.ShouldBeLessThan(until, "Bram's notice is mailed");
            await Task.Delay(100);
        }

        (await MainScalarAsync($"SELECT count(*) FROM access_tokens WHERE member_id = '{zelda}'")).ShouldBe(1, "tokens live in the main database");
        Convert.ToInt64(await Databases.ScalarAsync("west", "SELECT count(*) FROM notification_settings WHERE member_id = $1", zelda)).ShouldBe(1);
        (await leader.PostAsync($"{c}/members/{zelda}/leave", null)).StatusCode.ShouldBe(HttpStatusCode.OK);
        (await leader.DeleteAsync($"{c}/members/{zelda}/personal-data")).StatusCode.ShouldBe(HttpStatusCode.Accepted);
        until = DateTime.UtcNow.AddSeconds(30);
        while (Convert.ToInt64(await Databases.ScalarAsync("west", "SELECT count(*) FROM mt_events WHERE data::text LIKE '%' || $1 || '%'", name)) > 0
               || Convert.ToInt64(await Databases.ScalarAsync("west", "SELECT count(*) FROM notification_settings WHERE member_id = $1", zelda)) > 0)
        {
            DateTime.UtcNow.ShouldBeLessThan(until, "the former member's events are masked and their address deleted, in their chapter's database");
            await Task.Delay(100);
        }
        (await MainScalarAsync($"SELECT count(*) FROM access_tokens WHERE member_id = '{zelda}'")).ShouldBe(0, "their tokens, in the main database, are gone");
        (await (await leader.GetAsync($"{c}/members/{zelda}")).ReadJsonAsync())["name"]!.GetValue<string>().ShouldBe("Former member");
    }

    [Fact]
    public async Task A_member_of_a_chapter_in_another_database_signs_in_by_email_and_their_token_works()
    {
        var scenario = await new Scenario(Api).WithChapterAsync(database: "north");
        var cleo = await scenario.AddMemberAsync("Cleo");
        var address = $"cleo-{Guid.NewGuid():N}@example.se";
        (await scenario.As(cleo).PutAsJsonAsync($"/api/chapters/{scenario.ChapterId}/members/{cleo}/notifications",
            new { email = address, referralReceived = false, referralUpdates = false, weeklyDigest = false })).StatusCode.ShouldBe(HttpStatusCode.OK);

        // The address is found in the chapter's database, the code kept in the main one.
        var anonymous = Api.ClientWith(null);
        (await anonymous.PostAsJsonAsync("/api/signin/email", new { email = address })).StatusCode.ShouldBe(HttpStatusCode.Accepted);
        var pickup = Api.Settings["Chapter:Mail:PickupDirectory"];
        string? file;
        var until = DateTime.UtcNow.AddSeconds(30);
        while ((file = Directory.Exists(pickup) ? Directory.EnumerateFiles(pickup, "*.eml").FirstOrDefault(f => File.ReadAllText(f).Contains(address)) : null) is null)
        {
            DateTime.UtcNow.ShouldBeLessThan(until, "the sign-in link is mailed");
            await Task.Delay(100);
        }
        var text = MimeKit.MimeMessage.Load(file).TextBody!;
        var code = System.Text.RegularExpressions.Regex.Match(text, @"signin#code=([A-Za-z0-9_-]+)").Groups[1].Value;
        code.ShouldNotBeEmpty();
        var exchanged = await anonymous.PostAsJsonAsync("/api/signin/exchange", new { code });
        exchanged.StatusCode.ShouldBe(HttpStatusCode.OK, await exchanged.Content.ReadAsStringAsync());
        var me = await (await Api.ClientWith((await exchanged.ReadJsonAsync())["token"]!.GetValue<string>()).GetAsync("/api/me")).ReadJsonAsync();
        me["chapterId"]!.GetValue<string>().ShouldBe(scenario.ChapterId);
        me["name"]!.GetValue<string>().ShouldBe("Cleo");
    }

    [Fact]
    public async Task The_operator_sees_every_database_its_chapters_events_projection_and_outbox()
    {
        foreach (var name in ManyDatabases.Names)
        {
            var scenario = await new Scenario(Api).WithChapterAsync(database: name);
            await scenario.AddMemberAsync("Anna");
        }
        foreach (var name in ManyDatabases.Names)
            await Databases.WaitForProjectionAsync(name);

        var listed = await ListAsync();
        listed.Select(d => d!["name"]!.GetValue<string>()).Order().ShouldBe(ManyDatabases.Names.Order());
        foreach (var database in listed.Select(d => d!))
        {
            var name = database["name"]!.GetValue<string>();
            database["answers"]!.GetValue<bool>().ShouldBeTrue();
            database["chapters"]!.GetValue<long>().ShouldBe(Convert.ToInt64(await Databases.ScalarAsync(name, "SELECT count(*) FROM chapter_view")));
            database["lastSequence"]!.GetValue<long>().ShouldBe(Convert.ToInt64(await Databases.ScalarAsync(name, "SELECT max(seq_id) FROM mt_events")));
        }

        var projections = (await Api.Operator().GetFromJsonAsync<JsonObject>("/api/admin/projections"))!["items"]!.AsArray();
        projections.Select(p => p!["database"]!.GetValue<string>()).Order().ShouldBe(ManyDatabases.Names.Order());
        projections.ShouldAllBe(p => p!["state"]!.GetValue<string>() == "running");
        (await Api.Operator().GetAsync("/api/admin/outbox")).StatusCode.ShouldBe(HttpStatusCode.OK);
        var health = JsonNode.Parse(await Api.CreateClient().GetStringAsync("/health"))!["checks"]!.AsArray();
        foreach (var check in new[] { "postgres", "postgres:east", "postgres:west", "postgres:north" })
            health.Select(c => c!["name"]!.GetValue<string>()).ShouldContain(check);
    }

    private async Task<JsonArray> ListAsync() =>
        (await Api.Operator().GetFromJsonAsync<JsonObject>("/api/admin/databases"))!["items"]!.AsArray();

    private async Task<long> MainScalarAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(Api.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return Convert.ToInt64(await command.ExecuteScalarAsync());
    }
}

/// <summary>Placing chapters, and marking a database full (which stays so: a class of its own, with databases of its own).</summary>
public sealed class PlacingChaptersApiTests(PlacingChaptersApiTests.Fixture fixture) : IClassFixture<PlacingChaptersApiTests.Fixture>
{
    public sealed class Fixture : IAsyncLifetime
    {
        public ManyDatabases Databases { get; } = new() { OwnClusters = false };

        public Task InitializeAsync() => Databases.InitializeAsync();
        public Task DisposeAsync() => Databases.DisposeAsync();
    }

    private ManyDatabases Databases => fixture.Databases;
    private ApiFixture Api => fixture.Databases.Api;

    [Fact]
    public async Task Chapters_go_where_the_operator_says_or_to_the_database_with_fewest_and_never_to_one_marked_full()
    {
        var named = new Dictionary<string, Scenario>();
        foreach (var name in ManyDatabases.Names)
            named[name] = await new Scenario(Api).WithChapterAsync(database: name);
        foreach (var (name, scenario) in named)
            (await Databases.HoldingAsync(scenario.ChapterId)).ShouldBe(name);

        var listed = await ListAsync();
        var counts = ManyDatabases.Names.ToDictionary(n => n, n => listed.Single(d => d!["name"]!.GetValue<string>() == n)!["chapters"]!.GetValue<long>());
        // Left to the service, a chapter goes to the database with the fewest: after three of them, the three are level again.
        var placed = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            var fewest = counts.Min(c => c.Value);
            var scenario = await new Scenario(Api).WithChapterAsync();
            var holding = (await Databases.HoldingAsync(scenario.ChapterId))!;
            counts[holding].ShouldBe(fewest, $"chapter {i} went to {holding}, which had {counts[holding]} chapters; the fewest was {fewest}");
            counts[holding]++;
            placed.Add(holding);
        }
        placed.Distinct().Count().ShouldBe(3, string.Join(", ", placed));

        var operatorClient = Api.Operator();
        (await operatorClient.PostAsync("/api/admin/databases/north/full", null)).StatusCode.ShouldBe(HttpStatusCode.NoContent);
        for (var i = 0; i < 3; i++)
            (await Databases.HoldingAsync((await new Scenario(Api).WithChapterAsync()).ChapterId)).ShouldNotBe("north");
        var refused = await operatorClient.PostAsJsonAsync("/api/chapters",
            new { id = $"full-{Guid.NewGuid():N}"[..20], name = "Full", timeZone = "Europe/Stockholm", currency = "SEK", database = "north" });
        await refused.ShouldBeProblemNamingAsync(HttpStatusCode.UnprocessableEntity, "database");
        var unknown = await operatorClient.PostAsJsonAsync("/api/chapters",
            new { id = $"none-{Guid.NewGuid():N}"[..20], name = "Nowhere", timeZone = "Europe/Stockholm", currency = "SEK", database = "south" });
        await unknown.ShouldBeProblemNamingAsync(HttpStatusCode.BadRequest, "database");
        (await ListAsync()).Single(d => d!["name"]!.GetValue<string>() == "north")!["full"]!.GetValue<bool>().ShouldBeTrue();
        (await operatorClient.PostAsync("/api/admin/databases/south/full", null)).StatusCode.ShouldBe(HttpStatusCode.NotFound);

        // North's chapters keep working.
        var anna = await named["north"].AddMemberAsync("Anna");
        var bram = await named["north"].AddMemberAsync("Bram");
        await named["north"].GiveAsync(anna, bram);
    }

    private async Task<JsonArray> ListAsync() =>
        (await Api.Operator().GetFromJsonAsync<JsonObject>("/api/admin/databases"))!["items"]!.AsArray();
}

/// <summary>One chapter database stopped under the running service: its chapters get 503 with Retry-After, the others go on.</summary>
public sealed class OneDatabaseDownApiTests
{
    [Fact]
    public async Task While_one_database_is_down_its_chapters_get_503_the_others_work_health_names_it_and_it_comes_back_by_itself()
    {
        if (TestPostgres.Source != TestPostgresSource.LocalCluster)
            return; // a configured server or a container is not the test's to stop
        await using var databases = new ManyDatabasesOwner();
        await databases.Value.InitializeAsync();
        var api = databases.Value.Api;
        var west = await new Scenario(api).WithChapterAsync(database: "west");
        var east = await new Scenario(api).WithChapterAsync(database: "east");
        await new Scenario(api).WithChapterAsync(database: "east"); // west has the fewest chapters now
        var (westAnna, westBram) = (await west.AddMemberAsync("Anna"), await west.AddMemberAsync("Bram"));
        var (eastAnna, eastBram) = (await east.AddMemberAsync("Anna"), await east.AddMemberAsync("Bram"));

        await databases.Value.Clusters["west"].StopAsync();

        foreach (var (what, send) in new (string, Func<Task<HttpResponseMessage>>)[]
                 {
                     ("give", () => west.As(westAnna).PostAsJsonAsync(west.Referrals, west.ReferralBody(westAnna, westBram))),
                     ("read the members", () => west.Operator.GetAsync($"/api/chapters/{west.ChapterId}/members")),
                     ("the member's own page", () => west.As(westAnna).GetAsync("/api/me")),
                 })
        {
            var took = Stopwatch.StartNew();
            var response = await send();
            took.Elapsed.ShouldBeLessThan(TimeSpan.FromSeconds(10), what);
            await response.ShouldBeProblemAsync(HttpStatusCode.ServiceUnavailable);
            response.Headers.RetryAfter.ShouldNotBeNull(what);
        }
        // The other chapters do not notice.
        await east.GiveAsync(eastAnna, eastBram);
        (await east.Operator.GetAsync($"/api/chapters/{east.ChapterId}/members")).StatusCode.ShouldBe(HttpStatusCode.OK);
        // A new chapter goes to a database that answers, west having fewest chapters or not.
        (await databases.Value.Api.Operator().PostAsync("/api/admin/databases/north/full", null)).StatusCode.ShouldBe(HttpStatusCode.NoContent);
        var created = await new Scenario(api).WithChapterAsync();
        (await databases.Value.HoldingAsync(created.ChapterId, "east")).ShouldBe("east");

        var health = await api.CreateClient().GetAsync("/health");
        health.StatusCode.ShouldBe(HttpStatusCode.ServiceUnavailable);
        var checks = JsonNode.Parse(await health.Content.ReadAsStringAsync())!["checks"]!.AsArray();
        checks.Single(c => c!["name"]!.GetValue<string>() == "postgres:west")!["status"]!.GetValue<string>().ShouldBe("Unhealthy");
        checks.Single(c => c!["name"]!.GetValue<string>() == "postgres:east")!["status"]!.GetValue<string>().ShouldBe("Healthy");
        var listed = (await api.Operator().GetFromJsonAsync<JsonObject>("/api/admin/databases"))!["items"]!.AsArray();
        listed.Single(d => d!["name"]!.GetValue<string>() == "west")!["answers"]!.GetValue<bool>().ShouldBeFalse();

        await databases.Value.Clusters["west"].StartAgainAsync();

        var until = DateTime.UtcNow.AddSeconds(30);
        HttpResponseMessage given;
        do
        {
            given = await west.As(westAnna).PostAsJsonAsync(west.Referrals, west.ReferralBody(westAnna, westBram));
            if (given.StatusCode != HttpStatusCode.Created)
                await Task.Delay(200);
        } while (given.StatusCode != HttpStatusCode.Created && DateTime.UtcNow < until);
        given.StatusCode.ShouldBe(HttpStatusCode.Created);
        await databases.Value.WaitForProjectionAsync("west");
        (await api.CreateClient().GetAsync("/health")).StatusCode.ShouldBe(HttpStatusCode.OK);
    }

    private sealed class ManyDatabasesOwner : IAsyncDisposable
    {
        public ManyDatabases Value { get; } = new();
        public ValueTask DisposeAsync() => new(Value.DisposeAsync());
    }
}

/// <summary>
/// A chapter database with a streaming standby (<c>pg_basebackup -R</c>): reports are read from the standby, writes and the
/// pages' reads from the primary, and the projection, which reads the primary, applies every event while the standby lags.
/// </summary>
public sealed class StandbyApiTests
{
    [Fact]
    public async Task A_lagging_standby_serves_stale_reports_while_writes_pages_and_the_projection_go_on_on_the_primary()
    {
        if (await TestPostgres.StartOwnClusterAsync() is not { } primary)
            return; // a standby needs a cluster of the test's own
        await using var primaryOwned = primary;
        await using (var create = new NpgsqlConnection(primary.ConnectionString()))
        {
            await create.OpenAsync();
            await new NpgsqlCommand("CREATE DATABASE chapter_east", create).ExecuteNonQueryAsync();
        }
        await using var standby = await primary.StartStandbyAsync();
        await using var api = new ApiFixture();
        api.Settings["Chapter:Databases:east:ConnectionString"] = primary.ConnectionString("chapter_east");
        api.Settings["Chapter:Databases:east:Standby"] = standby.ConnectionString("chapter_east");
        await api.StartOnAsync(await TestPostgres.CreateDatabaseAsync());

        var scenario = await new Scenario(api).WithChapterAsync(database: "east");
        var (anna, bram) = (await scenario.AddMemberAsync("Anna"), await scenario.AddMemberAsync("Bram"));
        await scenario.GiveAsync(anna, bram);
        var integration = await scenario.IntegrationAsync();
        var reciprocity = $"/api/chapters/{scenario.ChapterId}/reciprocity";
        await ManyDatabases.UntilAsync(async () => await ReportPositionAsync() == await LastEventAsync(primary), "the standby's report reaches the last event");

        await Scalar(standby, "SELECT pg_wal_replay_pause()");
        var paused = await ReportPositionAsync();
        var more = new[] { await scenario.GiveAsync(bram, anna), await scenario.GiveAsync(anna, bram) };

        // The writes' own answers and the pages' reads are the primary's: the new referrals are there at once.
        foreach (var referral in more)
            (await scenario.As(anna).GetAsync($"{scenario.Referrals}/{referral}")).StatusCode.ShouldBe(HttpStatusCode.OK);
        // The projection reads the primary: it applies every event, the standby's lag notwithstanding.
        var last = await LastEventAsync(primary);
        await ManyDatabases.UntilAsync(async () => Convert.ToInt64(await Scalar(primary, "SELECT position FROM proj_activity.applied")) == last, "the projection applies every event");
        Convert.ToInt64(await Scalar(primary, "SELECT count(*) FROM proj_activity.referrals")).ShouldBe(3);
        // The report is the standby's: still where the standby stopped.
        (await ReportPositionAsync()).ShouldBe(paused);

        await Scalar(standby, "SELECT pg_wal_replay_resume()");
        await ManyDatabases.UntilAsync(async () => await ReportPositionAsync() == last, "the standby catches up, and its report with it");

        // -1 while the chapter is not in the projection's facts (that the standby has) yet: a report of it is 404 until then.
        async Task<long> ReportPositionAsync()
        {
            var response = await integration.GetAsync(reciprocity);
            return response.StatusCode == HttpStatusCode.NotFound ? -1
                : JsonNode.Parse(await response.Content.ReadAsStringAsync())!["asOf"]!["position"]!.GetValue<long>();
        }
    }

    private static async Task<long> LastEventAsync(LocalPostgresCluster primary) =>
        Convert.ToInt64(await Scalar(primary, "SELECT max(seq_id) FROM mt_events"));

    private static async Task<object?> Scalar(LocalPostgresCluster cluster, string sql)
    {
        await using var connection = new NpgsqlConnection(cluster.ConnectionString("chapter_east"));
        await connection.OpenAsync();
        return await new NpgsqlCommand(sql, connection).ExecuteScalarAsync();
    }
}

/// <summary>
/// Two service processes over a main database and three chapter databases: Wolverine spreads the databases' projection agents
/// over both; one is killed (SIGKILL) while it runs some, the other takes them over, and every database's projection holds each
/// event once.
/// </summary>
public sealed class NodesOverManyDatabasesApiTests
{
    [Fact]
    public async Task A_node_killed_while_it_runs_agents_leaves_them_to_the_other_and_no_database_loses_or_doubles_an_event()
    {
        var names = ManyDatabases.Names;
        var connectionStrings = new Dictionary<string, string>();
        var settings = new Dictionary<string, string>();
        foreach (var name in names)
        {
            connectionStrings[name] = await TestPostgres.CreateDatabaseAsync();
            settings[$"Chapter__Databases__{name}__ConnectionString"] = connectionStrings[name];
        }
        var main = await TestPostgres.CreateDatabaseAsync();
        using var first = ServiceProcess.Start(main, out var firstAddress, settings);
        await ServiceProcess.WaitUntilListeningAsync(first, firstAddress);
        using var second = ServiceProcess.Start(main, out var secondAddress, settings);
        await ServiceProcess.WaitUntilListeningAsync(second, secondAddress);
        try
        {
            using var viaSecond = ServiceProcess.Client(secondAddress, ApiFixture.OperatorToken);
            using var viaFirst = ServiceProcess.Client(firstAddress, ApiFixture.OperatorToken);
            var chapters = names.ToDictionary(n => n, n => $"{n}-{Guid.NewGuid():N}"[..20]);
            foreach (var (database, chapter) in chapters)
                (await viaSecond.PostAsJsonAsync("/api/chapters", new { id = chapter, name = database, timeZone = "Europe/Stockholm", currency = "SEK", database }))
                    .StatusCode.ShouldBe(HttpStatusCode.Created);

            // Each node leads some of the databases' projections: wait until both do (Wolverine spreads them as nodes join).
            await ManyDatabases.UntilAsync(async () => (await LedAsync(viaFirst)).Count > 0 && (await LedAsync(viaSecond)).Count > 0
                                         && (await LedAsync(viaFirst)).Count + (await LedAsync(viaSecond)).Count == names.Length,
                "both nodes lead some of the three databases' projections");
            var firstLed = await LedAsync(viaFirst);

            // Members join in every database while the first node dies.
            var joining = Task.Run(async () =>
            {
                for (var i = 0; i < 10; i++)
                    foreach (var (_, chapter) in chapters)
                        (await viaSecond.PostAsJsonAsync($"/api/chapters/{chapter}/members", new { name = $"M{i}", profession = "Baker", languages = new[] { "sv" } }))
                            .StatusCode.ShouldBe(HttpStatusCode.Created);
            });
            await Task.Delay(300);
            first.Kill(entireProcessTree: true);
            await first.WaitForExitAsync();
            await joining;

            await ManyDatabases.UntilAsync(async () => (await LedAsync(viaSecond)).Count == names.Length,
                $"the second node takes over what the first led ({string.Join(", ", firstLed)})");
            foreach (var (database, chapter) in chapters)
            {
                var joined = await CountAsync(connectionStrings[database], "SELECT count(*) FROM mt_events WHERE type = 'member.joined.v1' AND tenant_id = $1", chapter);
                joined.ShouldBe(10);
                await ManyDatabases.UntilAsync(async () =>
                        await CountAsync(connectionStrings[database], "SELECT position FROM proj_activity.applied")
                        == await CountAsync(connectionStrings[database], "SELECT max(seq_id) FROM mt_events"),
                    $"{database}'s projection reaches its last event");
                (await CountAsync(connectionStrings[database], "SELECT count(*) FROM proj_activity.members WHERE chapter_id = $1", chapter))
                    .ShouldBe(joined, $"{database}: every member once");
            }
        }
        finally
        {
            if (!first.HasExited)
                first.Kill(entireProcessTree: true);
            ServiceProcess.Terminate(second);
            await second.WaitForExitAsync();
        }
    }

    /// <summary>The databases whose activity projection this node runs, as its status says.</summary>
    private static async Task<List<string>> LedAsync(HttpClient node) =>
        (await node.GetFromJsonAsync<JsonObject>("/api/admin/projections"))!["items"]!.AsArray()
        .Where(p => p!["leader"] is not null).Select(p => p!["database"]!.GetValue<string>()).ToList();

    private static async Task<long> CountAsync(string connectionString, string sql, params object[] parameters)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        foreach (var parameter in parameters)
            command.Parameters.Add(new NpgsqlParameter { Value = parameter });
        return Convert.ToInt64(await command.ExecuteScalarAsync());
    }
}

/// <summary>Each database's projection is rebuilt on its own, on the node that runs it, the others untouched.</summary>
public sealed class RebuildOverManyDatabasesApiTests
{
    [Fact]
    public async Task A_rebuild_names_its_database_and_leaves_the_others_alone()
    {
        var databases = new ManyDatabases { OwnClusters = false };
        await databases.InitializeAsync();
        try
        {
            var api = databases.Api;
            var east = await new Scenario(api).WithChapterAsync(database: "east");
            var west = await new Scenario(api).WithChapterAsync(database: "west");
            await east.AddMemberAsync("Anna");
            await east.AddMemberAsync("Bram");
            await west.AddMemberAsync("Cleo");
            await databases.WaitForProjectionAsync("east");
            await databases.WaitForProjectionAsync("west");
            var westApplied = await databases.ScalarAsync("west", "SELECT position FROM proj_activity.applied");
            // The rebuilt copy takes the live tables' place: other tables under the same names.
            const string membersTable = "SELECT 'proj_activity.members'::regclass::oid::bigint";
            var (eastTable, westTable) = (await databases.ScalarAsync("east", membersTable), await databases.ScalarAsync("west", membersTable));
            var rebuild = "/api/admin/projections/activity/rebuild";

            await (await api.Operator().PostAsync(rebuild, null)).ShouldBeProblemNamingAsync(HttpStatusCode.BadRequest, "database");
            await (await api.Operator().PostAsync($"{rebuild}?database=south", null)).ShouldBeProblemAsync(HttpStatusCode.NotFound);
            var started = await api.Operator().PostAsync($"{rebuild}?database=east", null);
            started.StatusCode.ShouldBe(HttpStatusCode.Accepted, await started.Content.ReadAsStringAsync());
            (await started.ReadJsonAsync())["database"]!.GetValue<string>().ShouldBe("east");

            var until = DateTime.UtcNow.AddSeconds(30);
            JsonObject? eastStatus;
            do
            {
                await Task.Delay(200);
                var items = (await api.Operator().GetFromJsonAsync<JsonObject>("/api/admin/projections"))!["items"]!.AsArray();
                eastStatus = items.Single(p => p!["database"]!.GetValue<string>() == "east")!.AsObject();
            } while ((eastStatus["state"]!.GetValue<string>() != "running" || eastStatus["rebuildRequested"]!.GetValue<bool>()) && DateTime.UtcNow < until);
            eastStatus["state"]!.GetValue<string>().ShouldBe("running");
            eastStatus["rebuildRequested"]!.GetValue<bool>().ShouldBeFalse("the copy took the live tables' place");
            Convert.ToInt64(await databases.ScalarAsync("east", "SELECT count(*) FROM proj_activity.members WHERE chapter_id = $1", east.ChapterId)).ShouldBe(2);
            (await databases.ScalarAsync("east", membersTable)).ShouldNotBe(eastTable, "east's projection was rebuilt");
            (await databases.ScalarAsync("west", membersTable)).ShouldBe(westTable, "west's was not");
            (await databases.ScalarAsync("west", "SELECT position FROM proj_activity.applied")).ShouldBe(westApplied);
            Convert.ToInt64(await databases.ScalarAsync("west", "SELECT count(*) FROM proj_activity.members WHERE chapter_id = $1", west.ChapterId)).ShouldBe(1);
        }
        finally
        {
            await databases.DisposeAsync();
        }
    }
}

/// <summary>README's "Adding a database": the service restarted with one more takes new chapters there, and the others' go on.</summary>
public sealed class AddingADatabaseApiTests
{
    [Fact]
    public async Task A_database_added_to_the_settings_gets_the_new_chapters_and_the_chapters_before_keep_working()
    {
        var main = await TestPostgres.CreateDatabaseAsync();
        var (east, west) = (await TestPostgres.CreateDatabaseAsync(), await TestPostgres.CreateDatabaseAsync());
        var before = new List<(Scenario Scenario, Guid Anna, Guid Bram, string AnnasToken)>();
        await using (var api = new ApiFixture())
        {
            api.Settings["Chapter:Databases:east:ConnectionString"] = east;
            await api.StartOnAsync(main);
            for (var i = 0; i < 2; i++)
            {
                var scenario = await new Scenario(api).WithChapterAsync();
                var (anna, bram) = (await scenario.AddMemberAsync("Anna"), await scenario.AddMemberAsync("Bram"));
                before.Add((scenario, anna, bram, await scenario.IssueTokenAsync(scenario.ChapterId, anna)));
            }
        }

        await using var restarted = new ApiFixture();
        restarted.Settings["Chapter:Databases:east:ConnectionString"] = east;
        restarted.Settings["Chapter:Databases:west:ConnectionString"] = west;
        await restarted.StartOnAsync(main);
        var operatorClient = restarted.Operator();
        var listed = (await operatorClient.GetFromJsonAsync<JsonObject>("/api/admin/databases"))!["items"]!.AsArray();
        listed.Select(d => d!["name"]!.GetValue<string>()).Order().ShouldBe(["east", "west"]);

        // West, empty, is the smallest: the next two chapters go there.
        for (var i = 0; i < 2; i++)
        {
            var id = $"new-{Guid.NewGuid():N}"[..20];
            (await operatorClient.PostAsJsonAsync("/api/chapters", new { id, name = "New", timeZone = "Europe/Stockholm", currency = "SEK" }))
                .StatusCode.ShouldBe(HttpStatusCode.Created);
            (await Sql.CountAsync(west, $"SELECT count(*) FROM chapter_view WHERE id = '{id}'")).ShouldBe(1);
        }
        // The chapters from before are where they were, and work: their members' tokens too (they are in the main database).
        foreach (var (scenario, anna, bram, annasToken) in before)
        {
            (await Sql.CountAsync(east, $"SELECT count(*) FROM chapter_view WHERE id = '{scenario.ChapterId}'")).ShouldBe(1);
            var given = await restarted.ClientWith(annasToken).PostAsJsonAsync(scenario.Referrals, scenario.ReferralBody(anna, bram));
            given.StatusCode.ShouldBe(HttpStatusCode.Created, await given.Content.ReadAsStringAsync());
        }
    }
}


/// <summary>Weekly digests over several databases: each database's closed weeks are found there, and each leader hears once.</summary>
public sealed class DigestsOverManyDatabasesApiTests
{
    [Fact]
    public async Task When_the_week_closes_each_chapters_leader_gets_its_digest_once_whatever_database_it_is_in()
    {
        await using var smtp = new TestSmtpServer();
        var clock = new WeeklyDigestApiTests.MovableTime();
        var databases = new ManyDatabases
        {
            OwnClusters = false,
            Api = new ApiFixture { ExtraServices = services => services.AddSingleton<TimeProvider>(clock) },
            Settings =
            {
                ["Chapter:Smtp:Host"] = "127.0.0.1",
                ["Chapter:Smtp:Port"] = smtp.Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["Chapter:Smtp:UseTls"] = "false",
                ["Chapter:Notifications:DigestCheckEvery"] = "00:00:00.200",
            },
        };
        await databases.InitializeAsync();
        try
        {
            var leaders = new Dictionary<string, string>();
            foreach (var name in new[] { "east", "west" })
            {
                var scenario = await new Scenario(databases.Api).WithChapterAsync(database: name);
                var leader = await scenario.AddLeaderAsync("Lea");
                var (anna, bram) = (await scenario.AddMemberAsync("Anna"), await scenario.AddMemberAsync("Bram"));
                leaders[name] = $"lea-{name}-{Guid.NewGuid():N}@example.se";
                (await scenario.As(leader).PutAsJsonAsync($"/api/chapters/{scenario.ChapterId}/members/{leader}/notifications",
                    new { email = leaders[name], referralReceived = false, referralUpdates = false, weeklyDigest = true })).StatusCode.ShouldBe(HttpStatusCode.OK);
                await scenario.GiveAsync(anna, bram);
                await databases.WaitForProjectionAsync(name);
            }
            await Task.Delay(TimeSpan.FromSeconds(0.5));
            leaders.Values.ShouldAllBe(address => smtp.To(address).Count == 0, "no week has closed yet");

            // An hour into next Monday in Stockholm: this week has closed, in both databases' chapters.
            var stockholm = TimeZoneInfo.FindSystemTimeZoneById("Europe/Stockholm");
            var (_, thisWeekEnds) = Notifications.WeeklyDigestSchedule.LastClosedWeek(stockholm, DateTimeOffset.UtcNow.AddDays(7));
            clock.Ahead = thisWeekEnds.AddHours(1) - DateTimeOffset.UtcNow;

            var until = DateTime.UtcNow.AddSeconds(30);
            while (leaders.Values.Any(address => smtp.To(address).Count == 0))
            {
                DateTime.UtcNow.ShouldBeLessThan(until, "each leader's digest is mailed; the service logged:\n  " + string.Join("\n  ",
                    databases.Api.Logs.Lines.Where(l => l.Contains("igest") || l.StartsWith("Warning") || l.StartsWith("Error")).TakeLast(8).Select(l => l[..Math.Min(l.Length, 700)])));
                await Task.Delay(100);
            }
            await Task.Delay(TimeSpan.FromSeconds(1)); // several more looks for closed weeks, on every database
            foreach (var (name, address) in leaders)
            {
                smtp.To(address).Count.ShouldBe(1, $"{name}'s leader hears once");
                Convert.ToInt64(await databases.ScalarAsync(name, "SELECT count(*) FROM weekly_digests")).ShouldBe(1, $"{name} records its chapter's week");
            }
        }
        finally
        {
            await databases.DisposeAsync();
        }
    }
}
