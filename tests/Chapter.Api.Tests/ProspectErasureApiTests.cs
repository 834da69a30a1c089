using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Chapter.Projections.Prospects;
using Npgsql;

namespace Chapter.Api.Tests;

/// <summary>A prospect's contact details: who sees them, and erasing them for good although the log is append-only.</summary>
public sealed class ProspectErasureApiTests(ApiFixture api) : IClassFixture<ApiFixture>
{
    private readonly string _suffix = Guid.NewGuid().ToString("N")[..8];
    private string Name => $"Saskia Vermeulen-{_suffix}";
    private string Email => $"saskia.{_suffix}@example.nl";

    private object Body(Guid giver, Guid receiver, Guid referralId) => new
    {
        referralId,
        giverId = giver,
        receiverId = receiver,
        prospect = new { name = Name, email = Email, phone = "+31 6 1234 5678", company = "Vermeulen Bouw", consent = true },
        need = "A new roof before winter",
        temperature = "hot",
        language = "nl",
    };

    [Fact]
    public async Task Only_the_giver_the_receiver_and_leaders_see_the_prospect()
    {
        var scenario = await new Scenario(api).WithChapterAsync();
        var (anna, bram, chi) = (await scenario.AddMemberAsync("Anna"), await scenario.AddMemberAsync("Bram"), await scenario.AddMemberAsync("Chi"));
        var leader = scenario.As(await scenario.AddLeaderAsync("Lena"));
        var integration = await scenario.IntegrationAsync();
        var id = Guid.NewGuid();
        (await scenario.As(anna).PostAsJsonAsync(scenario.Referrals, Body(anna, bram, id))).StatusCode.ShouldBe(HttpStatusCode.Created);
        var path = $"{scenario.Referrals}/{id}";

        foreach (var reader in new[] { scenario.As(anna), scenario.As(bram), leader })
        {
            var prospect = (await (await reader.GetAsync(path)).ReadJsonAsync())["prospect"]!;
            prospect["name"]!.GetValue<string>().ShouldBe(Name);
            prospect["email"]!.GetValue<string>().ShouldBe(Email);
            prospect["consent"]!.GetValue<bool>().ShouldBeTrue();
        }
        var seenByIntegration = await integration.GetStringAsync(path);
        seenByIntegration.ShouldNotContain("prospect");
        (await integration.GetStringAsync(scenario.Referrals)).ShouldNotContain(Name);
        (await FeedOnceItShowsAsync(integration, scenario, "referral.given.v2")).ToJsonString().ShouldSatisfyAllConditions(
            feed => feed.ShouldNotContain(Name),
            feed => feed.ShouldNotContain("sealedProspect"),
            feed => feed.ShouldContain("referral.given.v2"));
        await (await scenario.As(chi).GetAsync(path)).ShouldBeProblemAsync(HttpStatusCode.Forbidden);
        (await FeedOnceItShowsAsync(leader, scenario, "referral.given.v2")).ToJsonString().ShouldContain(Name);
    }

    [Fact]
    public async Task A_prospect_who_asks_to_be_forgotten_is_erased_for_good_even_after_a_rebuild()
    {
        var scenario = await new Scenario(api).WithChapterAsync();
        var (anna, bram) = (await scenario.AddMemberAsync("Anna"), await scenario.AddMemberAsync("Bram"));
        var leader = scenario.As(await scenario.AddLeaderAsync("Lena"));
        var id = Guid.NewGuid();
        (await scenario.As(anna).PostAsJsonAsync(scenario.Referrals, Body(anna, bram, id))).StatusCode.ShouldBe(HttpStatusCode.Created);
        await scenario.ActAsync(bram, id, "accept", new { });
        await api.WaitForProjectionsAsync();

        // Never stored in clear, not even before erasure; but the database's key still opens it, which the check below must see.
        (await RowsHoldingAsync(Name)).ShouldBeEmpty();
        (await RowsHoldingAsync(Email)).ShouldBeEmpty();
        (await RecoverableProspectsAsync()).ShouldContain(Name);

        var erase = $"{scenario.Referrals}/{id}/prospect";
        await (await scenario.As(bram).DeleteAsync(erase)).ShouldBeProblemAsync(HttpStatusCode.Forbidden);
        (await scenario.As(anna).DeleteAsync(erase)).StatusCode.ShouldBe(HttpStatusCode.NoContent);
        (await leader.DeleteAsync(erase)).StatusCode.ShouldBe(HttpStatusCode.NoContent);

        await ShouldBeErasedEverywhereAsync(scenario, leader, id);

        (await scenario.Operator.PostAsync("/api/admin/projections/activity/rebuild", null)).StatusCode.ShouldBe(HttpStatusCode.Accepted);
        var until = DateTime.UtcNow.AddSeconds(20);
        while (await RebuildingAsync() && DateTime.UtcNow < until)
            await Task.Delay(50);
        (await RebuildingAsync()).ShouldBeFalse();
        await ShouldBeErasedEverywhereAsync(scenario, leader, id);

        async Task<bool> RebuildingAsync() =>
            (await (await scenario.Operator.GetAsync("/api/admin/projections")).ReadJsonAsync())["items"]!.AsArray().Single()!["rebuildRequested"]!.GetValue<bool>();

        // The referral itself goes on, and giving it again cannot bring the details back.
        (await scenario.ActAsync(bram, id, "close", new { outcome = "lost" })).StatusCode.ShouldBe(HttpStatusCode.OK);
        await (await scenario.As(anna).PostAsJsonAsync(scenario.Referrals, Body(anna, bram, id))).ShouldBeProblemAsync(HttpStatusCode.Conflict);
        (await RecoverableProspectsAsync()).ShouldNotContain(Name);
        api.Logs.Lines.Where(line => line.Contains(Name) || line.Contains(Email) || line.Contains("Vermeulen")).ShouldBeEmpty();
    }

    [Fact]
    public async Task A_substitutes_name_is_never_stored_in_clear_and_once_erased_nothing_opens_it()
    {
        const string substitute = "Dora Holmqvist-Aalto";
        var scenario = await new Scenario(api).WithChapterAsync();
        var leader = scenario.As(await scenario.AddLeaderAsync("Lena"));
        var anna = await scenario.AddMemberAsync("Anna");
        var meetings = $"/api/chapters/{scenario.ChapterId}/meetings";
        var meeting = (await (await leader.PostAsJsonAsync(meetings, new { date = DateOnly.FromDateTime(DateTime.UtcNow).AddDays(-2) })).ReadJsonAsync())["id"]!.GetValue<Guid>();
        (await leader.PutAsJsonAsync($"{meetings}/{meeting}/attendance/{anna}", new { status = "substitute", substitute = new { name = substitute, profession = "Baker" } }))
            .StatusCode.ShouldBe(HttpStatusCode.OK);
        await api.WaitForProjectionsAsync();

        (await RowsHoldingAsync(substitute)).ShouldBeEmpty();
        var keyId = Chapter.Projections.Meetings.MeetingProjection.SubstituteKeyId(meeting, anna);
        (await OpenedSubstituteAsync(keyId)).ShouldBe(substitute, "the key still opens it, which the check below must see");

        (await scenario.As(anna).DeleteAsync($"{meetings}/{meeting}/attendance/{anna}/substitute")).StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        (await leader.DeleteAsync($"{meetings}/{meeting}/attendance/{anna}/substitute")).StatusCode.ShouldBe(HttpStatusCode.NoContent);

        (await OpenedSubstituteAsync(keyId)).ShouldBeNull();
        (await RowsHoldingAsync(substitute)).ShouldBeEmpty();
        var read = await (await leader.GetAsync($"{meetings}/{meeting}")).ReadJsonAsync();
        read["attendance"]!.AsArray().Single(a => a!["memberId"]!.GetValue<Guid>() == anna)!["substitute"]!["name"]!.GetValue<string>().ShouldBe("erased");
        api.Logs.Lines.Where(line => line.Contains("Holmqvist")).ShouldBeEmpty();
    }

    [Fact]
    public async Task A_visitors_details_are_never_stored_in_clear_and_once_erased_nothing_opens_them()
    {
        const string visitor = "Ingrid Västerlund-Oja", email = "ingrid.vo@example.se";
        var scenario = await new Scenario(api).WithChapterAsync();
        var anna = await scenario.AddMemberAsync("Anna");
        var visitors = $"/api/chapters/{scenario.ChapterId}/visitors";
        var id = (await (await scenario.As(anna).PostAsJsonAsync(visitors, new { name = visitor, profession = "Dentist", email, consent = true }))
            .ReadJsonAsync())["id"]!.GetValue<Guid>();
        await api.WaitForProjectionsAsync();

        (await RowsHoldingAsync(visitor)).ShouldBeEmpty();
        (await RowsHoldingAsync(email)).ShouldBeEmpty();
        (await OpenedVisitorAsync(id)).ShouldBe(visitor, "the key still opens it, which the check below must see");

        (await scenario.As(anna).DeleteAsync($"{visitors}/{id}/personal-data")).StatusCode.ShouldBe(HttpStatusCode.NoContent);

        (await OpenedVisitorAsync(id)).ShouldBeNull();
        (await RowsHoldingAsync(visitor)).ShouldBeEmpty();
        (await (await scenario.As(anna).GetAsync($"{visitors}/{id}")).ReadJsonAsync())["name"]!.GetValue<string>().ShouldBe("erased");
        api.Logs.Lines.Where(line => line.Contains("Västerlund") || line.Contains(email)).ShouldBeEmpty();
    }

    /// <summary>The visitor's name as the key left in the database opens it from their event, or null.</summary>
    private async Task<string?> OpenedVisitorAsync(Guid id)
    {
        var key = await api.ScalarTextAsync("SELECT coalesce(encode(key, 'base64'), '') FROM prospect_keys WHERE referral_id = $1", id);
        var sealedDetails = await api.ScalarTextAsync("SELECT data->>'sealedDetails' FROM mt_events WHERE stream_id = $1", $"visitor-{id}");
        return key.Length == 0 ? null : Chapter.Projections.Prospects.ProspectSeal.Open(Convert.FromBase64String(key), id, sealedDetails)?.Name;
    }

    /// <summary>The substitute's name as the key left in the database opens it from the event, or null.</summary>
    private async Task<string?> OpenedSubstituteAsync(Guid keyId)
    {
        var key = await api.ScalarTextAsync("SELECT coalesce(encode(key, 'base64'), '') FROM prospect_keys WHERE referral_id = $1", keyId);
        var sealedName = await api.ScalarTextAsync(
            "SELECT data->>'sealedSubstitute' FROM mt_events WHERE type = 'meeting.attendance-marked.v1' AND data->>'sealedSubstitute' IS NOT NULL LIMIT 1");
        return key.Length == 0 ? null : Chapter.Projections.Prospects.ProspectSeal.Open(Convert.FromBase64String(key), keyId, sealedName)?.Name;
    }

    private async Task ShouldBeErasedEverywhereAsync(Scenario scenario, HttpClient leader, Guid id)
    {
        foreach (var reader in new[] { leader, scenario.As((await (await leader.GetAsync($"{scenario.Referrals}/{id}")).ReadJsonAsync())["receiverId"]!.GetValue<Guid>()) })
        {
            var prospect = (await (await reader.GetAsync($"{scenario.Referrals}/{id}")).ReadJsonAsync())["prospect"]!;
            prospect["name"]!.GetValue<string>().ShouldBe("erased");
            prospect["email"]!.GetValue<string>().ShouldBe("erased");
            prospect["phone"]!.GetValue<string>().ShouldBe("erased");
            prospect["erasedAt"].ShouldNotBeNull();
        }
        var feed = await FeedOnceItShowsAsync(leader, scenario, "referral.prospect-erased.v1");
        var given = feed["items"]!.AsArray().Single(e => e!["type"]!.GetValue<string>() == "referral.given.v2" && e["streamId"]!.GetValue<string>() == $"referral-{id}")!;
        given["data"]!["prospect"]!["name"]!.GetValue<string>().ShouldBe("erased");
        feed["items"]!.AsArray().ShouldContain(e => e!["type"]!.GetValue<string>() == "referral.prospect-erased.v1");
        feed.ToJsonString().ShouldNotContain(Name);

        (await RowsHoldingAsync(Name)).ShouldBeEmpty();
        (await RowsHoldingAsync(Email)).ShouldBeEmpty();
        (await RecoverableProspectsAsync()).ShouldNotContain(Name);
    }

    /// <summary>
    /// The feed shows an event once every transaction older than it has ended, anywhere on the server (other
    /// test classes run beside this one), so wait, boundedly, until it shows an event of this type.
    /// </summary>
    private static async Task<JsonObject> FeedOnceItShowsAsync(HttpClient reader, Scenario scenario, string type)
    {
        var until = DateTime.UtcNow.AddSeconds(20);
        while (true)
        {
            var feed = await (await reader.GetAsync($"/api/chapters/{scenario.ChapterId}/events")).ReadJsonAsync();
            if (feed["items"]!.AsArray().Any(e => e!["type"]!.GetValue<string>() == type) || DateTime.UtcNow > until)
                return feed;
            await Task.Delay(25);
        }
    }

    /// <summary>Every table in the database whose rows, read as text, contain <paramref name="text"/>.</summary>
    private async Task<List<string>> RowsHoldingAsync(string text)
    {
        await using var connection = new NpgsqlConnection(api.ConnectionString);
        await connection.OpenAsync();
        var tables = new List<string>();
        await using (var list = new NpgsqlCommand(
            "SELECT format('%I.%I', schemaname, tablename) FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')", connection))
        await using (var reader = await list.ExecuteReaderAsync())
            while (await reader.ReadAsync())
                tables.Add(reader.GetString(0));
        tables.Count.ShouldBeGreaterThan(5);

        var holding = new List<string>();
        foreach (var table in tables)
        {
            await using var search = new NpgsqlCommand($"SELECT count(*) FROM {table} row WHERE row::text ILIKE '%' || $1 || '%'", connection);
            search.Parameters.Add(new NpgsqlParameter { Value = text });
            if ((long)(await search.ExecuteScalarAsync())! > 0)
                holding.Add(table);
        }
        return holding;
    }

    /// <summary>The names that anything in the database can still open: every sealed text tried with every key left.</summary>
    private async Task<List<string>> RecoverableProspectsAsync()
    {
        await using var connection = new NpgsqlConnection(api.ConnectionString);
        await connection.OpenAsync();
        var keys = new List<byte[]>();
        await using (var command = new NpgsqlCommand("SELECT key FROM prospect_keys WHERE key IS NOT NULL", connection))
        await using (var reader = await command.ExecuteReaderAsync())
            while (await reader.ReadAsync())
                keys.Add(reader.GetFieldValue<byte[]>(0));

        var sealedTexts = new List<(Guid ReferralId, string Text)>();
        await using (var command = new NpgsqlCommand(
            """
            SELECT substring(stream_id FROM 10)::uuid, data->>'sealedProspect' FROM mt_events WHERE data ? 'sealedProspect' AND data->>'sealedProspect' IS NOT NULL
            UNION ALL
            SELECT id, prospect_sealed FROM referral_view WHERE prospect_sealed IS NOT NULL
            """, connection))
        await using (var reader = await command.ExecuteReaderAsync())
            while (await reader.ReadAsync())
                sealedTexts.Add((reader.GetGuid(0), reader.GetString(1)));
        sealedTexts.ShouldNotBeEmpty();

        return sealedTexts
            .SelectMany(s => keys.Select(key => ProspectSeal.Open(key, s.ReferralId, s.Text)?.Name))
            .OfType<string>()
            .ToList();
    }
}
