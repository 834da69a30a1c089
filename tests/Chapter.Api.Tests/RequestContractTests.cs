using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;

namespace Chapter.Api.Tests;

/// <summary>
/// The OpenAPI document's "required" for each request field, checked against the service itself: every field of a valid
/// body is left out in turn. A field the service then refuses (400 or 422 naming it) must be required in the document; a
/// field it goes without (2xx) must not be. So a generated client sends what the service needs, and only that.
/// </summary>
public sealed class RequestContractTests(ApiFixture api) : IClassFixture<ApiFixture>
{
    /// <summary>A write, with a way to make a fresh valid request to it (each field is left out of a fresh one).</summary>
    private sealed record Probe(string Method, string Template, Func<World, Task<(HttpClient Client, string Path, JsonObject Body)>> Make);

    private sealed class World(Scenario scenario, Guid giver, Guid receiver, Guid leaderId, HttpClient leader)
    {
        public Scenario Scenario { get; } = scenario;
        public Guid Giver { get; } = giver;
        public Guid Receiver { get; } = receiver;
        public Guid LeaderId { get; } = leaderId;
        public HttpClient Leader { get; } = leader;
        public string C => $"/api/chapters/{Scenario.ChapterId}";
        private int _days;

        public async Task<Guid> ReferralAsync(bool accepted = false, bool closed = false)
        {
            var id = await Scenario.GiveAsync(Giver, Receiver);
            if (accepted || closed)
                (await Scenario.ActAsync(Receiver, id, "accept", new { })).StatusCode.ShouldBe(HttpStatusCode.OK);
            if (closed)
            {
                (await Scenario.ActAsync(Receiver, id, "close", new { outcome = "won", value = new { amount = 100m, currency = "SEK" } })).StatusCode.ShouldBe(HttpStatusCode.OK);
                (await Scenario.ActAsync(Receiver, id, "thank", new { note = "Thank you" })).StatusCode.ShouldBe(HttpStatusCode.OK);
            }
            return id;
        }

        public async Task<Guid> MeetingAsync()
        {
            var opened = await Leader.PostAsJsonAsync($"{C}/meetings", new { date = DateOnly.FromDateTime(DateTime.UtcNow).AddDays(-++_days) });
            opened.StatusCode.ShouldBe(HttpStatusCode.Created);
            return (await opened.ReadJsonAsync())["id"]!.GetValue<Guid>();
        }

        public async Task<Guid> VisitorAsync()
        {
            var registered = await Leader.PostAsJsonAsync($"{C}/visitors", new { name = "Gustav Ek", profession = "Plumber", consent = false });
            registered.StatusCode.ShouldBe(HttpStatusCode.Created);
            return (await registered.ReadJsonAsync())["id"]!.GetValue<Guid>();
        }

        public async Task<Guid> MemberAsync() => await Scenario.AddMemberAsync($"Member {Guid.NewGuid():N}"[..15]);

        public async Task<Guid> WebhookAsync()
        {
            var registered = await Leader.PostAsJsonAsync($"{C}/webhooks", new { url = "https://93.184.216.34/hook", events = new[] { "*" }, label = "crm" });
            return (await registered.ReadJsonAsync())["id"]!.GetValue<Guid>();
        }
    }

    /// <summary>
    /// Fields needed or refused by the value of another (OpenAPI 3.0 cannot say "required when"): each operation's description
    /// says when. The probe leaves them out of their examples' other fields as usual, and checks them here against the description.
    /// </summary>
    private static readonly (string Operation, string Field, string Description)[] Conditional =
    [
        ("post /api/chapters/{chapterId}/referrals/{referralId}/close", "value", "required for won"),
    ];

    private static JsonObject Json(object body) => JsonNode.Parse(System.Text.Json.JsonSerializer.Serialize(body))!.AsObject();

    private static readonly Probe[] Probes =
    [
        new("post", "/api/chapters", w => Task.FromResult((w.Scenario.Operator, "/api/chapters",
            Json(new { id = $"probe-{Guid.NewGuid():N}"[..20], name = "Probe", timeZone = "Europe/Stockholm", currency = "SEK", tieHalfLifeDays = 90 })))),
        new("put", "/api/chapters/{chapterId}/contact-spheres", w => Task.FromResult((w.Leader, $"{w.C}/contact-spheres",
            Json(new { spheres = new[] { new { name = "Property", professions = new[] { "Realtor" } } } })))),
        new("post", "/api/chapters/{chapterId}/members", w => Task.FromResult((w.Leader, $"{w.C}/members",
            Json(new { name = "Cleo", profession = "Baker", languages = new[] { "sv" }, role = "member" })))),
        new("put", "/api/chapters/{chapterId}/members/{memberId}", async w => (w.Leader, $"{w.C}/members/{await w.MemberAsync()}",
            Json(new { name = "Cleo Ek", profession = "Baker", languages = new[] { "sv" }, role = "member" }))),
        new("put", "/api/chapters/{chapterId}/members/{memberId}/profile", w => Task.FromResult((w.Scenario.As(w.Giver), $"{w.C}/members/{w.Giver}/profile",
            Json(new { ask = "Cafés", idealReferral = "A café owner", goals = "g", accomplishments = "a", interests = "i", networks = "n", skills = "s" })))),
        new("patch", "/api/chapters/{chapterId}/members/{memberId}/profile", w => Task.FromResult((w.Scenario.As(w.Giver), $"{w.C}/members/{w.Giver}/profile",
            Json(new { ask = "Bakeries", skills = "Bookkeeping" })))),
        new("put", "/api/chapters/{chapterId}/members/{memberId}/notifications", w => Task.FromResult((w.Scenario.As(w.Giver), $"{w.C}/members/{w.Giver}/notifications",
            Json(new { email = "anna@example.se", referralReceived = true, referralUpdates = true, weeklyDigest = false })))),
        new("post", "/api/chapters/{chapterId}/members/{memberId}/tokens", w => Task.FromResult((w.Leader, $"{w.C}/members/{w.Giver}/tokens",
            Json(new { label = "phone" })))),
        new("post", "/api/chapters/{chapterId}/integrations", w => Task.FromResult((w.Leader, $"{w.C}/integrations", Json(new { label = "CRM" })))),
        new("post", "/api/chapters/{chapterId}/referrals", w => Task.FromResult((w.Scenario.As(w.Giver), $"{w.C}/referrals",
            Json(new
            {
                referralId = Guid.NewGuid(), giverId = w.Giver, receiverId = w.Receiver,
                prospect = new { name = "Sara Lind", email = "sara@example.se", phone = "+46 70 123 45 67", company = "Lind AB", consent = true },
                need = "An office", temperature = "warm", language = "sv",
            })))),
        new("post", "/api/chapters/{chapterId}/referrals/{referralId}/accept", async w => (w.Scenario.As(w.Receiver),
            $"{w.C}/referrals/{await w.ReferralAsync()}/accept", Json(new { memberId = w.Receiver }))),
        new("post", "/api/chapters/{chapterId}/referrals/{referralId}/decline", async w => (w.Scenario.As(w.Receiver),
            $"{w.C}/referrals/{await w.ReferralAsync()}/decline", Json(new { memberId = w.Receiver, reason = "Not my field" }))),
        new("post", "/api/chapters/{chapterId}/referrals/{referralId}/close", async w => (w.Scenario.As(w.Receiver),
            $"{w.C}/referrals/{await w.ReferralAsync(accepted: true)}/close",
            Json(new { memberId = w.Receiver, outcome = "won", value = new { amount = 100m, currency = "SEK" } }))),
        new("post", "/api/chapters/{chapterId}/referrals/{referralId}/thank", async w => (w.Scenario.As(w.Receiver),
            $"{w.C}/referrals/{await w.ReferralAsync(accepted: true)}/thank", Json(new { memberId = w.Receiver, note = "Thank you" }))),
        new("post", "/api/chapters/{chapterId}/referrals/{referralId}/correct", async w => (w.Scenario.As(w.Receiver),
            $"{w.C}/referrals/{await w.ReferralAsync(closed: true)}/correct",
            Json(new { outcome = "won", value = new { amount = 90m, currency = "SEK" }, thankNote = "Thanks", reason = "A typo" }))),
        new("post", "/api/chapters/{chapterId}/referrals/{referralId}/withdraw", async w => (w.Scenario.As(w.Giver),
            $"{w.C}/referrals/{await w.ReferralAsync()}/withdraw", Json(new { reason = "Found someone" }))),
        new("post", "/api/chapters/{chapterId}/referrals/{referralId}/redirect", async w => (w.Scenario.As(w.Giver),
            $"{w.C}/referrals/{await w.ReferralAsync()}/redirect", Json(new { receiverId = w.LeaderId }))),
        new("post", "/api/chapters/{chapterId}/one-to-ones", w => Task.FromResult((w.Scenario.As(w.Giver), $"{w.C}/one-to-ones",
            Json(new { id = Guid.NewGuid(), memberA = w.Giver, memberB = w.Receiver, date = DateOnly.FromDateTime(DateTime.UtcNow).AddDays(-1), note = "Coffee" })))),
        new("post", "/api/chapters/{chapterId}/meetings", w => Task.FromResult((w.Leader, $"{w.C}/meetings",
            Json(new { date = DateOnly.FromDateTime(DateTime.UtcNow).AddDays(Random.Shared.Next(-300, -100)) })))),
        new("put", "/api/chapters/{chapterId}/meetings/{meetingId}/attendance/{memberId}", async w => (w.Leader,
            $"{w.C}/meetings/{await w.MeetingAsync()}/attendance/{w.Giver}", Json(new { status = "present" }))),
        new("post", "/api/chapters/{chapterId}/visitors", w => Task.FromResult((w.Leader, $"{w.C}/visitors",
            Json(new { id = Guid.NewGuid(), name = "Gustav Ek", profession = "Plumber", company = "Ek Rör", invitedBy = w.LeaderId, consent = false })))),
        new("post", "/api/chapters/{chapterId}/visitors/{visitorId}/follow-up", async w => (w.Leader,
            $"{w.C}/visitors/{await w.VisitorAsync()}/follow-up", Json(new { step = "thanked", note = "Called" }))),
        new("post", "/api/chapters/{chapterId}/webhooks", w => Task.FromResult((w.Leader, $"{w.C}/webhooks",
            Json(new { url = "https://93.184.216.34/hook", events = new[] { "*" }, label = "CRM" })))),
        new("post", "/api/chapters/{chapterId}/webhooks/{webhookId}/redeliver", async w => (w.Leader,
            $"{w.C}/webhooks/{await w.WebhookAsync()}/redeliver", Json(new { from = "0" }))),
        new("post", "/api/signin/email", w => Task.FromResult((w.Scenario.Operator, "/api/signin/email", Json(new { email = "nobody@example.se" })))),
    ];

    [Fact]
    public async Task A_field_is_required_in_the_document_exactly_when_the_service_refuses_to_go_without_it()
    {
        var document = JsonNode.Parse(await (await api.CreateClient().GetAsync("/openapi/v1.json")).Content.ReadAsStringAsync())!;
        var scenario = await new Scenario(api).WithChapterAsync();
        var giver = await scenario.AddMemberAsync("Anna");
        var receiver = await scenario.AddMemberAsync("Bram");
        var leaderId = await scenario.AddLeaderAsync("Lena");
        var world = new World(scenario, giver, receiver, leaderId, scenario.As(leaderId));
        (await scenario.As(receiver).PutAsJsonAsync($"{world.C}/members/{receiver}/notifications",
            new { email = "bram@example.nl", referralReceived = false, referralUpdates = false, weeklyDigest = false })).StatusCode.ShouldBe(HttpStatusCode.OK);

        var mismatches = new List<string>();
        var probed = 0;
        foreach (var probe in Probes)
        {
            var operation = document["paths"]![probe.Template]?[probe.Method];
            operation.ShouldNotBeNull($"{probe.Method} {probe.Template} is in the document");
            var bodySchema = Resolve(document, operation["requestBody"]!["content"]!["application/json"]!["schema"]!);
            var (_, _, example) = await probe.Make(world);
            foreach (var (field, schema) in Fields(document, bodySchema, example, ""))
            {
                if (Conditional.FirstOrDefault(c => c.Operation == $"{probe.Method} {probe.Template}" && c.Field == field) is { Description: not null } conditional)
                {
                    operation["description"]!.GetValue<string>().ShouldContain($"{field}", Case.Sensitive);
                    operation["description"]!.GetValue<string>().ShouldContain(conditional.Description);
                    (schema["required"]?.AsArray().Any(r => r!.GetValue<string>() == field) ?? false).ShouldBeFalse($"'{field}' is conditional, not required");
                    continue;
                }
                var (client, path, body) = await probe.Make(world);
                Remove(body, field);
                using var request = new HttpRequestMessage(new HttpMethod(probe.Method.ToUpperInvariant()), path) { Content = JsonContent.Create(body) };
                using var response = await client.SendAsync(request);
                var answer = await response.Content.ReadAsStringAsync();
                var required = schema["required"]?.AsArray().Any(r => r!.GetValue<string>() == field.Split('.')[^1]) == true;
                probed++;
                if (response.IsSuccessStatusCode)
                {
                    if (required)
                        mismatches.Add($"{probe.Method} {probe.Template}: '{field}' is required in the document, but the service goes without it ({(int)response.StatusCode})");
                }
                else if (response.StatusCode is HttpStatusCode.BadRequest or HttpStatusCode.UnprocessableEntity
                         && JsonNode.Parse(answer)?["errors"]?.AsObject().Any(e => e.Key == field || e.Key.StartsWith(field + ".") || e.Key.StartsWith(field + "[")) == true)
                {
                    if (!required)
                        mismatches.Add($"{probe.Method} {probe.Template}: the service refuses to go without '{field}', which the document does not require");
                }
                else
                    mismatches.Add($"{probe.Method} {probe.Template} without '{field}': {(int)response.StatusCode} {answer}, neither taken nor naming the field");
            }
        }

        probed.ShouldBeGreaterThan(60);
        mismatches.ShouldBeEmpty();
    }

    /// <summary>Each field of the example, with the schema of the object it is in: top-level ones, and those of objects in it.</summary>
    private static IEnumerable<(string Field, JsonNode Schema)> Fields(JsonNode document, JsonNode schema, JsonObject example, string prefix)
    {
        foreach (var (name, value) in example)
        {
            yield return (prefix + name, schema);
            var property = schema["properties"]?[name];
            if (value is JsonObject inner && property is not null)
                foreach (var nested in Fields(document, Resolve(document, property), inner, $"{prefix}{name}."))
                    yield return nested;
        }
    }

    private static JsonNode Resolve(JsonNode document, JsonNode schema)
    {
        if (schema["$ref"] is { } reference)
            return document["components"]!["schemas"]![reference.GetValue<string>().Split('/')[^1]]!;
        if (schema["allOf"] is JsonArray { Count: 1 } all)
            return Resolve(document, all[0]!);
        return schema;
    }

    private static void Remove(JsonObject body, string field)
    {
        var parts = field.Split('.');
        var target = body;
        foreach (var part in parts[..^1])
            target = target[part]!.AsObject();
        target.Remove(parts[^1]);
    }
}
