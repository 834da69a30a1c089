using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;

namespace Chapter.Api.Tests;

/// <summary>Signed webhooks over the chapter's feed: every event once, in feed order, through 500s, a restart and a dead receiver.</summary>
public sealed class WebhookApiTests(WebhookApiTests.Fixture fixture) : IClassFixture<WebhookApiTests.Fixture>
{
    public sealed class Fixture : IAsyncLifetime
    {
        public ApiFixture Api { get; } = Configure(new ApiFixture());

        public static ApiFixture Configure(ApiFixture api)
        {
            api.Settings["Chapter:Webhooks:AllowInsecureTargets"] = "true";
            api.Settings["Chapter:Webhooks:PollEvery"] = "00:00:00.100";
            api.Settings["Chapter:Webhooks:FirstRetryAfter"] = "00:00:00.200";
            api.Settings["Chapter:Webhooks:GiveUpAfter"] = "00:00:03";
            return api;
        }

        public Task InitializeAsync() => Api.InitializeAsync();
        public Task DisposeAsync() => ((IAsyncLifetime)Api).DisposeAsync();
    }

    private static async Task<(Guid Id, string Secret)> RegisterAsync(HttpClient leader, string chapterId, string url, params string[] events)
    {
        var response = await leader.PostAsJsonAsync($"/api/chapters/{chapterId}/webhooks",
            new { url, events = events.Length == 0 ? ["*"] : events, label = "CRM" });
        response.StatusCode.ShouldBe(HttpStatusCode.Created);
        var body = await response.ReadJsonAsync();
        return (body["id"]!.GetValue<Guid>(), body["secret"]!.GetValue<string>());
    }

    /// <summary>The feed's event ids after a position, in order: what a webhook that started there must deliver.</summary>
    private static async Task<List<Guid>> FeedIdsAsync(ApiFixture api, string chapterId, long after, string? type = null)
    {
        var types = type is null ? "" : " AND type = $3";
        var ids = new List<Guid>();
        await using var connection = new Npgsql.NpgsqlConnection(api.ConnectionString);
        await connection.OpenAsync();
        await using var command = new Npgsql.NpgsqlCommand($"SELECT id FROM mt_events WHERE tenant_id = $1 AND seq_id > $2{types} ORDER BY seq_id", connection);
        command.Parameters.Add(new Npgsql.NpgsqlParameter { Value = chapterId });
        command.Parameters.Add(new Npgsql.NpgsqlParameter { Value = after });
        if (type is not null)
            command.Parameters.Add(new Npgsql.NpgsqlParameter { Value = type });
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
            ids.Add(reader.GetGuid(0));
        return ids;
    }

    private static Guid EventId(WebhookCall call) => call.Json["id"]!.GetValue<Guid>();

    [Fact]
    public async Task A_receiver_gets_every_event_once_in_feed_order_signed_and_never_the_prospects_details()
    {
        await using var receiver = await TestWebhookReceiver.StartAsync();
        await using var givesOnly = await TestWebhookReceiver.StartAsync();
        var scenario = await new Scenario(fixture.Api).WithChapterAsync();
        var leader = scenario.As(await scenario.AddLeaderAsync("Lea"));
        var (hook, secret) = await RegisterAsync(leader, scenario.ChapterId, receiver.Url);
        await RegisterAsync(leader, scenario.ChapterId, givesOnly.Url, "referral.given.v2");
        secret.ShouldStartWith("whsec_");
        var start = (await (await leader.GetAsync($"/api/chapters/{scenario.ChapterId}/webhooks/{hook}")).ReadJsonAsync())["position"]!.GetValue<long>();
        (await leader.GetStringAsync($"/api/chapters/{scenario.ChapterId}/webhooks")).ShouldNotContain("whsec_");

        var (anna, bram) = (await scenario.AddMemberAsync("Anna"), await scenario.AddMemberAsync("Bram"));
        var referral = await scenario.GiveAsync(anna, bram);
        (await scenario.ActAsync(bram, referral, "accept", new { })).StatusCode.ShouldBe(HttpStatusCode.OK);
        (await scenario.ActAsync(bram, referral, "thank", new { note = "Thank you, Anna!" })).StatusCode.ShouldBe(HttpStatusCode.OK);

        await receiver.WaitUntilAsync(calls => calls.Any(c => c.Json["type"]!.GetValue<string>() == "referral.thanked.v1"), "the thanks");
        var expected = await FeedIdsAsync(fixture.Api, scenario.ChapterId, start);
        receiver.Accepted.Select(EventId).ShouldBe(expected, "every event after the webhook's start, once, in feed order");
        receiver.Accepted.ShouldAllBe(call => call.SignedWith(secret));
        receiver.Accepted.Select(c => c.Id).Distinct().Count().ShouldBe(expected.Count);
        receiver.Accepted.ShouldAllBe(call => long.Parse(call.Timestamp) > DateTimeOffset.UtcNow.AddMinutes(-5).ToUnixTimeSeconds());
        var given = receiver.Accepted.Single(c => c.Json["type"]!.GetValue<string>() == "referral.given.v2").Json;
        given["chapterId"]!.GetValue<string>().ShouldBe(scenario.ChapterId);
        given["data"]!["need"]!.GetValue<string>().ShouldBe("New office lease");
        foreach (var secretDetail in new[] { "sealedProspect", "Sara", "sara@example.se" })
            given.ToJsonString().ShouldNotContain(secretDetail);
        receiver.Accepted[0].SignedWith(secret.Replace(secret[6], secret[6] == 'A' ? 'B' : 'A')).ShouldBeFalse("a signature with another secret fails");

        await givesOnly.WaitUntilAsync(calls => calls.Count == 1, "the give");
        await Task.Delay(TimeSpan.FromSeconds(0.5));
        givesOnly.Accepted.Select(EventId).ShouldBe(await FeedIdsAsync(fixture.Api, scenario.ChapterId, start, "referral.given.v2"));
    }

    [Fact]
    public async Task A_secret_is_kept_sealed_and_a_rotated_one_signs_beside_the_new_one_until_its_day_is_over()
    {
        await using var receiver = await TestWebhookReceiver.StartAsync();
        var scenario = await new Scenario(fixture.Api).WithChapterAsync();
        var leader = scenario.As(await scenario.AddLeaderAsync("Lea"));
        var (hook, first) = await RegisterAsync(leader, scenario.ChapterId, receiver.Url);
        var webhook = $"/api/chapters/{scenario.ChapterId}/webhooks/{hook}";
        (await fixture.Api.TablesHoldingAsync(first["whsec_".Length..])).ShouldBeEmpty("the secret is kept sealed, nowhere as issued");

        var rotating = await leader.PostAsync($"{webhook}/rotate-secret", null);
        rotating.StatusCode.ShouldBe(HttpStatusCode.OK);
        rotating.Headers.CacheControl!.NoStore.ShouldBeTrue();
        var rotated = await rotating.ReadJsonAsync();
        var second = rotated["secret"]!.GetValue<string>();
        second.ShouldStartWith("whsec_");
        second.ShouldNotBe(first);
        rotated["previousSecretSignsUntil"]!.GetValue<DateTimeOffset>().ShouldBeInRange(DateTimeOffset.UtcNow.AddHours(23.9), DateTimeOffset.UtcNow.AddHours(24.1));
        (await (await leader.GetAsync(webhook)).ReadJsonAsync())["previousSecretSignsUntil"].ShouldNotBeNull();
        (await fixture.Api.TablesHoldingAsync(second["whsec_".Length..])).ShouldBeEmpty();

        await scenario.AddMemberAsync("Anna");
        await receiver.WaitUntilAsync(calls => calls.Any(c => c.Json["data"]!.ToJsonString().Contains("Anna")), "Anna's joining");
        var during = receiver.Accepted.Last(c => c.Json["data"]!.ToJsonString().Contains("Anna"));
        during.SignedWith(second).ShouldBeTrue();
        during.SignedWith(first).ShouldBeTrue("the old secret signs beside the new one for a day");

        // The day is over.
        await fixture.Api.ScalarAsync("UPDATE webhooks SET previous_secret_until = now() - interval '1 second' WHERE id = $1 RETURNING 0", hook);
        await scenario.AddMemberAsync("Bram");
        await receiver.WaitUntilAsync(calls => calls.Any(c => c.Json["data"]!.ToJsonString().Contains("Bram")), "Bram's joining");
        var after = receiver.Accepted.Last(c => c.Json["data"]!.ToJsonString().Contains("Bram"));
        after.SignedWith(second).ShouldBeTrue();
        after.SignedWith(first).ShouldBeFalse();
        (await (await leader.GetAsync(webhook)).ReadJsonAsync())["previousSecretSignsUntil"].ShouldBeNull();

        (await leader.PostAsync($"/api/chapters/{scenario.ChapterId}/webhooks/{Guid.NewGuid()}/rotate-secret", null)).StatusCode.ShouldBe(HttpStatusCode.NotFound);
        var member = scenario.As(await scenario.AddMemberAsync("Cleo"));
        (await member.PostAsync($"{webhook}/rotate-secret", null)).StatusCode.ShouldBe(HttpStatusCode.Forbidden);
    }

    [Fact]
    public async Task A_secret_an_earlier_version_stored_as_issued_is_sealed_at_start_and_goes_on_signing()
    {
        await using var receiver = await TestWebhookReceiver.StartAsync();
        var scenario = await new Scenario(fixture.Api).WithChapterAsync();
        var leader = scenario.As(await scenario.AddLeaderAsync("Lea"));
        var (hook, _) = await RegisterAsync(leader, scenario.ChapterId, receiver.Url);
        const string issued = "whsec_c3RvcmVkLWFzLWlzc3VlZC1ieS1hbi1lYXJsaWVyLXZlcnNpb24=";
        await fixture.Api.ScalarAsync("UPDATE webhooks SET secret = $2, sealed_secret = NULL WHERE id = $1 RETURNING 0", hook, issued);

        await using var restarted = Fixture.Configure(new ApiFixture());
        await restarted.StartOnAsync(fixture.Api.ConnectionString);

        (await fixture.Api.TablesHoldingAsync(issued["whsec_".Length..])).ShouldBeEmpty();
        await scenario.AddMemberAsync("Anna");
        await receiver.WaitUntilAsync(calls => calls.Any(c => c.Json["data"]!.ToJsonString().Contains("Anna")), "Anna's joining");
        receiver.Accepted.Last(c => c.Json["data"]!.ToJsonString().Contains("Anna")).SignedWith(issued).ShouldBeTrue();
    }

    [Fact]
    public async Task A_period_of_500s_and_a_restart_of_the_service_lose_nothing_and_keep_the_order()
    {
        await using var receiver = await TestWebhookReceiver.StartAsync();
        // Nothing may be given up on here: with the fixture's 3 s, a restart on a loaded machine outlasted it once, and the
        // first event was dead-lettered before the receiver recovered.
        static ApiFixture Patient(ApiFixture api)
        {
            Fixture.Configure(api).Settings["Chapter:Webhooks:GiveUpAfter"] = "00:10:00";
            return api;
        }
        var first = Patient(new ApiFixture());
        await first.InitializeAsync();
        var scenario = await new Scenario(first).WithChapterAsync();
        var leader = scenario.As(await scenario.AddLeaderAsync("Lea"));
        // Failing from the start: a webhook starts at the feed's high-water mark, which may not have passed the leader's
        // join yet, so that event may still be delivered after registration (seen once in CI, when it went out before
        // the receiver failed).
        receiver.Failing = true;
        var (hook, secret) = await RegisterAsync(leader, scenario.ChapterId, receiver.Url);
        var webhook = $"/api/chapters/{scenario.ChapterId}/webhooks/{hook}";
        var start = (await (await leader.GetAsync(webhook)).ReadJsonAsync())["position"]!.GetValue<long>();

        var (anna, bram) = (await scenario.AddMemberAsync("Anna"), await scenario.AddMemberAsync("Bram"));
        await scenario.GiveAsync(anna, bram);
        var until = DateTime.UtcNow.AddSeconds(20);
        while (receiver.Calls.Count < 3 && DateTime.UtcNow < until)
            await Task.Delay(50);
        receiver.Calls.Count.ShouldBeGreaterThanOrEqualTo(3, "it retries");
        var failing = await (await leader.GetAsync(webhook)).ReadJsonAsync();
        failing["failingSince"].ShouldNotBeNull();
        failing["position"]!.GetValue<long>().ShouldBe(start, "the events behind the failing one wait");

        // The service restarts while the receiver still fails; then the receiver recovers.
        await ((IAsyncLifetime)first).DisposeAsync();
        var second = Patient(new ApiFixture());
        await second.StartOnAsync(first.ConnectionString);
        try
        {
            (await second.Operator().PostAsJsonAsync($"/api/chapters/{scenario.ChapterId}/members",
                new { name = "Cleo", profession = "Baker", languages = new[] { "sv" } })).StatusCode.ShouldBe(HttpStatusCode.Created);
            receiver.Failing = false;

            var expected = await FeedIdsAsync(second, scenario.ChapterId, start);
            await receiver.WaitUntilAsync(calls => calls.Count >= expected.Count, $"all {expected.Count} events");
            await Task.Delay(TimeSpan.FromSeconds(0.5));
            receiver.Accepted.Select(EventId).ShouldBe(expected);
            receiver.Accepted.ShouldAllBe(call => call.SignedWith(secret));
            // Every retry of an event carried the same webhook-id, so a receiver can drop repeats.
            receiver.Calls.Where(c => c.Answered == 500).Select(c => c.Id).ShouldAllBe(id => receiver.Accepted.Any(a => a.Id == id));

            var deliveries = (await (await second.Operator().GetAsync($"{webhook}/deliveries?limit=500")).ReadJsonAsync())["items"]!.AsArray();
            deliveries.Where(d => d!["outcome"]!.GetValue<string>() == "failed").ShouldAllBe(d => d!["statusCode"]!.GetValue<int>() == 500);
            deliveries.Count(d => d!["outcome"]!.GetValue<string>() == "delivered").ShouldBe(expected.Count);
        }
        finally
        {
            await ((IAsyncLifetime)second).DisposeAsync();
        }
    }

    [Fact]
    public async Task Delivery_attempts_older_than_the_kept_period_are_pruned_and_the_webhook_goes_on_from_its_position()
    {
        await using var receiver = await TestWebhookReceiver.StartAsync();
        await using var api = Fixture.Configure(new ApiFixture());
        api.Settings["Chapter:Webhooks:KeepDeliveriesFor"] = "00:00:03";
        await api.InitializeAsync();
        var scenario = await new Scenario(api).WithChapterAsync();
        var leader = scenario.As(await scenario.AddLeaderAsync("Lea"));
        var (hook, _) = await RegisterAsync(leader, scenario.ChapterId, receiver.Url);
        var webhook = $"/api/chapters/{scenario.ChapterId}/webhooks/{hook}";
        await scenario.AddMemberAsync("Anna");
        await receiver.WaitUntilAsync(calls => calls.Count >= 1, "the join");
        async Task<int> AttemptsAsync() => (await (await leader.GetAsync($"{webhook}/deliveries")).ReadJsonAsync())["items"]!.AsArray().Count;
        // The attempt is recorded once the receiver has answered, so it may show a moment after the call; it lives 3 s.
        var until = DateTime.UtcNow.AddSeconds(10);
        while (await AttemptsAsync() == 0 && DateTime.UtcNow < until)
            await Task.Delay(50);
        (await AttemptsAsync()).ShouldBeGreaterThan(0, "the attempt is recorded");
        var position = (await (await leader.GetAsync(webhook)).ReadJsonAsync())["position"]!.GetValue<long>();

        until = DateTime.UtcNow.AddSeconds(20);
        while (await AttemptsAsync() > 0 && DateTime.UtcNow < until)
            await Task.Delay(200);

        (await AttemptsAsync()).ShouldBe(0, "older than 3 s, pruned");
        (await (await leader.GetAsync(webhook)).ReadJsonAsync())["position"]!.GetValue<long>().ShouldBeGreaterThanOrEqualTo(position, "pruning never moves a webhook back");
        var delivered = receiver.Accepted.Count;
        await scenario.AddMemberAsync("Bram");
        await receiver.WaitUntilAsync(calls => calls.Count > delivered, "the next join, and no earlier event again");
        receiver.Accepted.Select(EventId).Distinct().Count().ShouldBe(receiver.Accepted.Count);
    }

    [Fact]
    public async Task A_dead_receiver_holds_up_only_its_own_webhook_gives_an_event_up_after_a_while_and_can_be_sent_it_again()
    {
        using var counted = new CountedMeasurements("chapter.webhooks.failed_attempts", "chapter.webhooks.dead_letters");
        await using var dead = await TestWebhookReceiver.StartAsync();
        await using var healthy = await TestWebhookReceiver.StartAsync();
        dead.Failing = true;
        var scenario = await new Scenario(fixture.Api).WithChapterAsync();
        var leader = scenario.As(await scenario.AddLeaderAsync("Lea"));
        var (deadHook, _) = await RegisterAsync(leader, scenario.ChapterId, dead.Url);
        await RegisterAsync(leader, scenario.ChapterId, healthy.Url);
        var webhook = $"/api/chapters/{scenario.ChapterId}/webhooks/{deadHook}";
        var start = (await (await leader.GetAsync(webhook)).ReadJsonAsync())["position"]!.GetValue<long>();

        await scenario.AddMemberAsync("Anna");
        await scenario.AddMemberAsync("Bram");
        var ids = await FeedIdsAsync(fixture.Api, scenario.ChapterId, start);
        await healthy.WaitUntilAsync(calls => calls.Select(EventId).SequenceEqual(ids), "every event at the healthy receiver, while the other fails");

        // After the give-up time (3 s here, 24 h by default) the first event is dead-lettered, and the queue goes on.
        var until = DateTime.UtcNow.AddSeconds(20);
        JsonArray deliveries;
        do
        {
            await Task.Delay(200);
            deliveries = (await (await leader.GetAsync($"{webhook}/deliveries?limit=500")).ReadJsonAsync())["items"]!.AsArray();
        } while (deliveries.Count(d => d!["outcome"]!.GetValue<string>() == "dead-lettered") < 1 && DateTime.UtcNow < until);
        var deadLettered = deliveries.First(d => d!["outcome"]!.GetValue<string>() == "dead-lettered")!;
        deadLettered["eventId"]!.GetValue<Guid>().ShouldBe(ids[0]);
        deliveries.Where(d => d!["eventId"]!.GetValue<Guid>() == ids[0]).Select(d => d!["attempt"]!.GetValue<int>())
            .ShouldBe(Enumerable.Range(1, deadLettered["attempt"]!.GetValue<int>()), "attempt after attempt, with growing waits");

        counted["chapter.webhooks.failed_attempts"].ShouldBeGreaterThan(0);
        counted["chapter.webhooks.dead_letters"].ShouldBeGreaterThan(0);

        // Once it answers again, redelivering from the start sends everything, in order. (Turned on only once every event has
        // been given up: a retry still pending would otherwise race the redelivery to the receiver, as seen once in CI.)
        until = DateTime.UtcNow.AddSeconds(20);
        while ((await (await leader.GetAsync($"{webhook}/deliveries?limit=500")).ReadJsonAsync())["items"]!.AsArray()
               .Count(d => d!["outcome"]!.GetValue<string>() == "dead-lettered") < ids.Count && DateTime.UtcNow < until)
            await Task.Delay(200);
        dead.Failing = false;
        (await leader.PostAsJsonAsync($"{webhook}/redeliver", new { from = start.ToString() })).StatusCode.ShouldBe(HttpStatusCode.Accepted);
        await dead.WaitUntilAsync(calls => calls.Count >= ids.Count, "every event again");
        dead.Accepted.Select(EventId).Take(ids.Count).ShouldBe(ids);
    }
}

/// <summary>Where a webhook may point, and who may register one.</summary>
public sealed class WebhookTargetApiTests(ApiFixture api) : IClassFixture<ApiFixture>
{
    [Fact]
    public async Task Only_https_to_public_addresses_and_only_leaders()
    {
        var scenario = await new Scenario(api).WithChapterAsync();
        var leader = scenario.As(await scenario.AddLeaderAsync("Lea"));
        var member = scenario.As(await scenario.AddMemberAsync("Anna"));
        var webhooks = $"/api/chapters/{scenario.ChapterId}/webhooks";

        foreach (var url in new[] { "http://93.184.216.34/hook", "https://127.0.0.1/hook", "https://localhost/hook", "https://10.1.2.3/hook",
                     "https://192.168.1.10/hook", "https://169.254.169.254/latest/meta-data", "https://[::1]/hook", "https://[fd00::1]/hook",
                     "https://100.64.0.1/hook", "ftp://93.184.216.34/hook", "not a url" })
            await (await leader.PostAsJsonAsync(webhooks, new { url, events = new[] { "*" }, label = "CRM" }))
                .ShouldBeProblemNamingAsync(HttpStatusCode.BadRequest, "url");
        await (await leader.PostAsJsonAsync(webhooks, new { url = "https://93.184.216.34/hook", events = new[] { "referral.given.v9" }, label = "CRM" }))
            .ShouldBeProblemNamingAsync(HttpStatusCode.BadRequest, "events[0]");
        await (await leader.PostAsJsonAsync(webhooks, new { url = "https://93.184.216.34/hook", events = Array.Empty<string>() }))
            .ShouldBeProblemNamingAsync(HttpStatusCode.BadRequest, "events", "label");
        (await member.PostAsJsonAsync(webhooks, new { url = "https://93.184.216.34/hook", events = new[] { "*" }, label = "CRM" }))
            .StatusCode.ShouldBe(HttpStatusCode.Forbidden);

        var created = await leader.PostAsJsonAsync(webhooks, new { url = "https://93.184.216.34/hook", events = new[] { "*" }, label = "CRM" });
        created.StatusCode.ShouldBe(HttpStatusCode.Created);
        var id = (await created.ReadJsonAsync())["id"]!.GetValue<Guid>();
        (await leader.DeleteAsync($"{webhooks}/{id}")).StatusCode.ShouldBe(HttpStatusCode.NoContent);
        (await leader.GetAsync($"{webhooks}/{id}")).StatusCode.ShouldBe(HttpStatusCode.NotFound);
    }

    [Theory]
    [InlineData("93.184.216.34", true)]
    [InlineData("2a00:1450:4001:80b::200e", true)]
    [InlineData("127.0.0.1", false)]
    [InlineData("10.0.0.1", false)]
    [InlineData("172.16.5.4", false)]
    [InlineData("192.168.0.1", false)]
    [InlineData("169.254.169.254", false)]
    [InlineData("100.64.0.1", false)]
    [InlineData("0.0.0.0", false)]
    [InlineData("224.0.0.1", false)]
    [InlineData("::1", false)]
    [InlineData("fe80::1", false)]
    [InlineData("fd00::1", false)]
    [InlineData("::ffff:127.0.0.1", false)]
    [InlineData("::ffff:10.0.0.1", false)]
    public void Public_addresses_are_those_routable_on_the_internet(string address, bool isPublic) =>
        Webhooks.WebhookTargets.IsPublic(IPAddress.Parse(address)).ShouldBe(isPublic);
}
