using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;

namespace Chapter.Api.Tests;

public sealed class ReferralLifecycleApiTests(ApiFixture api) : IClassFixture<ApiFixture>
{
    private async Task<(Scenario Scenario, Guid Anna, Guid Bram)> TwoMembersAsync()
    {
        var scenario = await new Scenario(api).WithChapterAsync();
        return (scenario, await scenario.AddMemberAsync("Anna Berg", "Accountant"), await scenario.AddMemberAsync("Bram de Vries", "Realtor"));
    }

    [Fact]
    public async Task A_referral_goes_from_given_to_accepted_to_closed_won_to_thanked()
    {
        var (scenario, anna, bram) = await TwoMembersAsync();

        var given = await scenario.As(anna).PostAsJsonAsync(scenario.Referrals, scenario.ReferralBody(anna, bram));
        given.StatusCode.ShouldBe(HttpStatusCode.Created);
        var referral = await given.ReadJsonAsync();
        var id = referral["id"]!.GetValue<Guid>();
        given.Headers.Location!.ToString().ShouldBe($"{scenario.Referrals}/{id}");
        given.Headers.ETag!.Tag.ShouldBe("\"1\"");
        referral["status"]!.GetValue<string>().ShouldBe("given");
        referral["language"]!.GetValue<string>().ShouldBe("sv");
        referral["temperature"]!.GetValue<string>().ShouldBe("warm");
        referral["prospect"]!["consent"]!.GetValue<bool>().ShouldBeTrue();

        (await (await scenario.ActAsync(bram, id, "accept", new { memberId = bram })).ReadJsonAsync())["status"]!.GetValue<string>().ShouldBe("accepted");
        var closed = await (await scenario.ActAsync(bram, id, "close", new { memberId = bram, outcome = "won", value = new { amount = 12000.50m, currency = "SEK" } })).ReadJsonAsync();
        closed["status"]!.GetValue<string>().ShouldBe("closed");
        closed["outcome"]!.GetValue<string>().ShouldBe("won");
        closed["value"]!["amount"]!.GetValue<decimal>().ShouldBe(12000.50m);
        closed["value"]!["currency"]!.GetValue<string>().ShouldBe("SEK");
        var thanked = await scenario.ActAsync(bram, id, "thank", new { memberId = bram, note = "Signed a two-year lease. Thank you, Anna!" });
        thanked.StatusCode.ShouldBe(HttpStatusCode.OK);

        var read = await scenario.As(anna).GetAsync($"{scenario.Referrals}/{id}");
        read.Headers.ETag!.Tag.ShouldBe("\"4\"");
        var view = await read.ReadJsonAsync();
        view["status"]!.GetValue<string>().ShouldBe("thanked");
        view["thankNote"]!.GetValue<string>().ShouldBe("Signed a two-year lease. Thank you, Anna!");
        view["version"]!.GetValue<long>().ShouldBe(4);
        foreach (var at in new[] { "givenAt", "acceptedAt", "closedAt", "thankedAt" })
            view[at].ShouldNotBeNull(at);
        view["giverId"]!.GetValue<Guid>().ShouldBe(anna);
        view["receiverId"]!.GetValue<Guid>().ShouldBe(bram);
    }

    [Fact]
    public async Task A_receiver_declines_with_a_reason_and_can_no_longer_accept()
    {
        var (scenario, anna, bram) = await TwoMembersAsync();
        var id = await scenario.GiveAsync(anna, bram);

        var declined = await (await scenario.ActAsync(bram, id, "decline", new { memberId = bram, reason = "Outside my area" })).ReadJsonAsync();
        declined["status"]!.GetValue<string>().ShouldBe("declined");
        declined["declineReason"]!.GetValue<string>().ShouldBe("Outside my area");

        await (await scenario.ActAsync(bram, id, "accept", new { memberId = bram })).ShouldBeProblemAsync(HttpStatusCode.Conflict);
        await (await scenario.ActAsync(bram, id, "thank", new { memberId = bram, note = "x" })).ShouldBeProblemAsync(HttpStatusCode.Conflict);
        (await scenario.ActAsync(bram, id, "decline", new { memberId = bram, reason = "Outside my area" })).StatusCode.ShouldBe(HttpStatusCode.OK);
        await (await scenario.ActAsync(bram, id, "decline", new { memberId = bram, reason = "Too busy" })).ShouldBeProblemAsync(HttpStatusCode.Conflict);
        (await api.ScalarAsync("SELECT count(*) FROM mt_events WHERE stream_id = $1", $"referral-{id}")).ShouldBe(2);
    }

    [Fact]
    public async Task Business_lost_closes_without_a_value()
    {
        var (scenario, anna, bram) = await TwoMembersAsync();
        var id = await scenario.GiveAsync(anna, bram);
        await scenario.ActAsync(bram, id, "accept", new { memberId = bram });

        var closed = await (await scenario.ActAsync(bram, id, "close", new { memberId = bram, outcome = "lost" })).ReadJsonAsync();

        closed["outcome"]!.GetValue<string>().ShouldBe("lost");
        closed["value"].ShouldBeNull();
    }

    [Fact]
    public async Task A_value_without_a_currency_is_in_the_chapters_currency()
    {
        var (scenario, anna, bram) = await TwoMembersAsync();
        var id = await scenario.GiveAsync(anna, bram);
        await scenario.ActAsync(bram, id, "accept", new { memberId = bram });

        var closed = await (await scenario.ActAsync(bram, id, "close", new { memberId = bram, outcome = "won", value = new { amount = 900m } })).ReadJsonAsync();

        closed["value"]!["currency"]!.GetValue<string>().ShouldBe("SEK");
        closed["value"]!["amount"]!.GetValue<decimal>().ShouldBe(900m);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_give_answers_with_exactly_what_reading_the_referral_answers(bool everyProspectField)
    {
        // The answer to a new give is built from the event just appended, not read back: it must be the view as stored.
        var (scenario, anna, bram) = await TwoMembersAsync();
        var prospect = everyProspectField
            ? (object)new { name = "Sara Lind", email = "sara@example.se", phone = "+46 70 123 45 67", company = "Lind Bygg AB", consent = true }
            : new { name = "Sara Lind", consent = true };

        var given = await scenario.As(anna).PostAsJsonAsync(scenario.Referrals,
            new { receiverId = bram, prospect, need = "New office lease", temperature = "hot", language = "nl-BE" });
        given.StatusCode.ShouldBe(HttpStatusCode.Created);
        var read = await scenario.As(anna).GetAsync(given.Headers.Location);

        (await given.ReadJsonAsync()).ToJsonString().ShouldBe((await read.ReadJsonAsync()).ToJsonString());
        given.Headers.ETag.ShouldBe(read.Headers.ETag);
    }

    [Fact]
    public async Task Retrying_a_give_with_the_same_id_and_body_answers_200_and_appends_nothing()
    {
        var (scenario, anna, bram) = await TwoMembersAsync();
        var referralId = Guid.NewGuid();

        var first = await scenario.As(anna).PostAsJsonAsync(scenario.Referrals, scenario.ReferralBody(anna, bram, referralId));
        var retry = await scenario.As(anna).PostAsJsonAsync(scenario.Referrals, scenario.ReferralBody(anna, bram, referralId));

        first.StatusCode.ShouldBe(HttpStatusCode.Created);
        retry.StatusCode.ShouldBe(HttpStatusCode.OK);
        (await retry.ReadJsonAsync()).ToJsonString().ShouldBe((await first.ReadJsonAsync()).ToJsonString());
        (await api.ScalarAsync("SELECT count(*) FROM mt_events WHERE stream_id = $1", $"referral-{referralId}")).ShouldBe(1);
    }

    [Fact]
    public async Task Retries_racing_each_other_still_give_one_referral()
    {
        var (scenario, anna, bram) = await TwoMembersAsync();
        var referralId = Guid.NewGuid();

        var responses = await api.RaceAsync(6, _ => scenario.As(anna).PostAsJsonAsync(scenario.Referrals, scenario.ReferralBody(anna, bram, referralId)));

        responses.Count(r => r.StatusCode == HttpStatusCode.Created).ShouldBe(1);
        responses.Count(r => r.StatusCode == HttpStatusCode.OK).ShouldBe(5);
        (await api.ScalarAsync("SELECT count(*) FROM mt_events WHERE stream_id = $1", $"referral-{referralId}")).ShouldBe(1);
    }

    [Fact]
    public async Task The_same_id_with_another_body_is_a_conflict_and_the_first_referral_is_kept()
    {
        var (scenario, anna, bram) = await TwoMembersAsync();
        var referralId = Guid.NewGuid();
        await scenario.As(anna).PostAsJsonAsync(scenario.Referrals, scenario.ReferralBody(anna, bram, referralId));

        var other = await scenario.As(anna).PostAsJsonAsync(scenario.Referrals, scenario.ReferralBody(anna, bram, referralId, need: "Something else"));

        await other.ShouldBeProblemAsync(HttpStatusCode.Conflict);
        (await (await scenario.As(anna).GetAsync($"{scenario.Referrals}/{referralId}")).ReadJsonAsync())["need"]!.GetValue<string>().ShouldBe("New office lease");
    }

    [Fact]
    public async Task Repeating_accept_close_and_thank_with_the_same_data_changes_nothing()
    {
        var (scenario, anna, bram) = await TwoMembersAsync();
        var id = await scenario.GiveAsync(anna, bram);
        var close = new { memberId = bram, outcome = "won", value = new { amount = 500m, currency = "EUR" } };
        var thank = new { memberId = bram, note = "Thanks!" };
        foreach (var (action, body) in new (string, object)[] { ("accept", new { memberId = bram }), ("close", close), ("thank", thank) })
        {
            (await scenario.ActAsync(bram, id, action, body)).StatusCode.ShouldBe(HttpStatusCode.OK);
            var again = await scenario.ActAsync(bram, id, action, body);
            again.StatusCode.ShouldBe(HttpStatusCode.OK);
        }

        (await api.ScalarAsync("SELECT count(*) FROM mt_events WHERE stream_id = $1", $"referral-{id}")).ShouldBe(4);
        await (await scenario.ActAsync(bram, id, "close", new { memberId = bram, outcome = "won", value = new { amount = 501m, currency = "EUR" } }))
            .ShouldBeProblemAsync(HttpStatusCode.Conflict);
        await (await scenario.ActAsync(bram, id, "thank", new { memberId = bram, note = "Another note" })).ShouldBeProblemAsync(HttpStatusCode.Conflict);
    }

    [Fact]
    public async Task Two_clients_accepting_at_once_both_succeed_with_one_event()
    {
        var (scenario, anna, bram) = await TwoMembersAsync();
        var id = await scenario.GiveAsync(anna, bram);

        var responses = await api.RaceAsync(4, _ => scenario.ActAsync(bram, id, "accept", new { memberId = bram }));

        responses.ShouldAllBe(r => r.StatusCode == HttpStatusCode.OK);
        (await api.ScalarAsync("SELECT count(*) FROM mt_events WHERE stream_id = $1", $"referral-{id}")).ShouldBe(2);
    }

    [Fact]
    public async Task Only_the_receiver_takes_the_next_steps()
    {
        var (scenario, anna, bram) = await TwoMembersAsync();
        var chi = await scenario.AddMemberAsync("Chi");
        var id = await scenario.GiveAsync(anna, bram);

        await (await scenario.ActAsync(anna, id, "accept", new { memberId = anna })).ShouldBeProblemAsync(HttpStatusCode.Forbidden);
        await (await scenario.ActAsync(chi, id, "decline", new { memberId = chi, reason = "No" })).ShouldBeProblemAsync(HttpStatusCode.Forbidden);
        await scenario.ActAsync(bram, id, "accept", new { memberId = bram });
        await (await scenario.ActAsync(chi, id, "close", new { memberId = chi, outcome = "lost" })).ShouldBeProblemAsync(HttpStatusCode.Forbidden);
        await (await scenario.ActAsync(anna, id, "thank", new { memberId = anna, note = "x" })).ShouldBeProblemAsync(HttpStatusCode.Forbidden);
        (await (await scenario.As(anna).GetAsync($"{scenario.Referrals}/{id}")).ReadJsonAsync())["status"]!.GetValue<string>().ShouldBe("accepted");
    }

    [Fact]
    public async Task Steps_happen_only_in_order()
    {
        var (scenario, anna, bram) = await TwoMembersAsync();
        var id = await scenario.GiveAsync(anna, bram);

        await (await scenario.ActAsync(bram, id, "close", new { memberId = bram, outcome = "lost" })).ShouldBeProblemAsync(HttpStatusCode.Conflict);
        await (await scenario.ActAsync(bram, id, "thank", new { memberId = bram, note = "Thanks" })).ShouldBeProblemAsync(HttpStatusCode.Conflict);
        await scenario.ActAsync(bram, id, "accept", new { memberId = bram });
        await (await scenario.ActAsync(bram, id, "decline", new { memberId = bram, reason = "Changed my mind" })).ShouldBeProblemAsync(HttpStatusCode.Conflict);
    }

    [Fact]
    public async Task An_unchanged_referral_answers_304_to_its_etag()
    {
        var (scenario, anna, bram) = await TwoMembersAsync();
        var id = await scenario.GiveAsync(anna, bram);
        var request = new HttpRequestMessage(HttpMethod.Get, $"{scenario.Referrals}/{id}");
        request.Headers.IfNoneMatch.Add(new EntityTagHeaderValue("\"1\""));

        (await scenario.As(anna).SendAsync(request)).StatusCode.ShouldBe(HttpStatusCode.NotModified);
    }

    [Fact]
    public async Task Referrals_are_listed_by_status_and_by_member()
    {
        var (scenario, anna, bram) = await TwoMembersAsync();
        var chi = await scenario.AddMemberAsync("Chi");
        var leader = scenario.As(await scenario.AddLeaderAsync("Lena"));
        var annaToBram = await scenario.GiveAsync(anna, bram);
        var bramToChi = await scenario.GiveAsync(bram, chi);
        await scenario.ActAsync(bram, annaToBram, "accept", new { memberId = bram });

        async Task<Guid[]> ListAsync(HttpClient reader, string query) =>
            (await (await reader.GetAsync($"{scenario.Referrals}{query}")).ReadJsonAsync())["items"]!.AsArray()
                .Select(r => r!["id"]!.GetValue<Guid>()).ToArray();

        (await ListAsync(leader, "")).ShouldBe([bramToChi, annaToBram], ignoreOrder: true);
        (await ListAsync(leader, "?status=accepted")).ShouldBe([annaToBram]);
        (await ListAsync(leader, $"?memberId={chi}")).ShouldBe([bramToChi]);
        (await ListAsync(leader, $"?memberId={bram}&status=given")).ShouldBe([bramToChi]);
        // A member lists only what they gave or received.
        (await ListAsync(scenario.As(anna), "")).ShouldBe([annaToBram]);
        (await ListAsync(scenario.As(chi), $"?memberId={chi}")).ShouldBe([bramToChi]);
        await (await scenario.As(anna).GetAsync($"{scenario.Referrals}?memberId={chi}")).ShouldBeProblemAsync(HttpStatusCode.Forbidden);
        await (await leader.GetAsync($"{scenario.Referrals}?status=done")).ShouldBeProblemNamingAsync(HttpStatusCode.BadRequest, "status");
        await (await leader.GetAsync($"{scenario.Referrals}?memberId=abc")).ShouldBeProblemNamingAsync(HttpStatusCode.BadRequest, "memberId");
    }

    [Fact]
    public async Task Each_event_records_who_acted_and_the_callers_correlation_id()
    {
        var (scenario, anna, bram) = await TwoMembersAsync();
        var request = new HttpRequestMessage(HttpMethod.Post, scenario.Referrals) { Content = JsonContent.Create(scenario.ReferralBody(anna, bram)) };
        request.Headers.Add("X-Correlation-Id", "phone-retry-42");
        var id = (await (await scenario.As(anna).SendAsync(request)).ReadJsonAsync())["id"]!.GetValue<Guid>();
        await scenario.ActAsync(bram, id, "accept", new { memberId = bram });

        var given = await api.ScalarJsonAsync("SELECT json_build_object('correlationId', correlation_id, 'causationId', causation_id, 'actorId', user_name)::text FROM mt_events WHERE stream_id = $1 AND version = 1", $"referral-{id}");
        given["actorId"]!.GetValue<string>().ShouldBe($"member:{anna}");
        given["correlationId"]!.GetValue<string>().ShouldBe("phone-retry-42");
        var accepted = await api.ScalarJsonAsync("SELECT json_build_object('correlationId', correlation_id, 'causationId', causation_id, 'actorId', user_name)::text FROM mt_events WHERE stream_id = $1 AND version = 2", $"referral-{id}");
        accepted["actorId"]!.GetValue<string>().ShouldBe($"member:{bram}");
        (await api.ScalarAsync("SELECT count(*) FROM mt_events WHERE stream_id = $1 AND tenant_id = $2", $"referral-{id}", scenario.ChapterId)).ShouldBe(2);
    }

    [Fact]
    public async Task A_one_to_one_records_who_acted_and_the_callers_correlation_id_too()
    {
        var (scenario, anna, bram) = await TwoMembersAsync();
        var id = Guid.NewGuid();
        var request = new HttpRequestMessage(HttpMethod.Post, $"/api/chapters/{scenario.ChapterId}/one-to-ones")
        {
            Content = JsonContent.Create(new { id, memberA = anna, memberB = bram, date = DateTime.UtcNow.AddDays(-1).ToString("yyyy-MM-dd") }),
        };
        request.Headers.Add("X-Correlation-Id", "coffee-7");
        (await scenario.As(anna).SendAsync(request)).StatusCode.ShouldBe(HttpStatusCode.Created);

        var held = await api.ScalarJsonAsync("SELECT json_build_object('correlationId', correlation_id, 'causationId', causation_id, 'actorId', user_name)::text FROM mt_events WHERE stream_id = $1", $"one-to-one-{id}");
        held["actorId"]!.GetValue<string>().ShouldBe($"member:{anna}");
        held["correlationId"]!.GetValue<string>().ShouldBe("coffee-7");
        held["causationId"]!.GetValue<string>().ShouldNotBeNullOrEmpty();
    }

    [Fact]
    public async Task Identical_one_to_ones_racing_each_other_store_one_answer_as_retries_and_log_no_error()
    {
        var (scenario, anna, bram) = await TwoMembersAsync();
        var id = Guid.NewGuid();
        var body = new { id, memberA = anna, memberB = bram, date = DateTime.UtcNow.AddDays(-1).ToString("yyyy-MM-dd") };
        var linesBefore = api.Logs.Lines.Count;
        var answers = await api.RaceAsync(4, _ => scenario.As(anna).PostAsJsonAsync($"/api/chapters/{scenario.ChapterId}/one-to-ones", body));

        // The losers of the race are retried on the server: they meet the one-to-one the winner stored, as a client's retry would.
        answers.Count(a => a.StatusCode == HttpStatusCode.Created).ShouldBe(1);
        answers.Count(a => a.StatusCode == HttpStatusCode.OK).ShouldBe(3);
        // A lost race is not a fault of the service: nothing about it is logged as a warning or an error.
        api.Logs.Lines.Skip(linesBefore).Where(line => line.StartsWith("Warning") || line.StartsWith("Error") || line.StartsWith("Critical"))
            .ShouldBeEmpty();
        (await api.ScalarAsync("SELECT count(*) FROM mt_events WHERE stream_id = $1", $"one-to-one-{id}")).ShouldBe(1);
        (await scenario.As(anna).PostAsJsonAsync($"/api/chapters/{scenario.ChapterId}/one-to-ones", body)).StatusCode.ShouldBe(HttpStatusCode.OK);
    }
}
