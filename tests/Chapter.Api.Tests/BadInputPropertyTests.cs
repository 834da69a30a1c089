using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using CsCheck;
using Xunit.Abstractions;

namespace Chapter.Api.Tests;

/// <summary>
/// Generated bad requests against every write endpoint and the query parameters of the reads: never a 5xx, every error
/// an RFC 9457 problem, and nothing stored before changed. A failure prints CsCheck's seed; replay it with
/// <c>CHAPTER_BAD_INPUT_SEED=&lt;seed&gt;</c>.
/// </summary>
public sealed class BadInputPropertyTests(ApiFixture api, ITestOutputHelper output) : IClassFixture<ApiFixture>
{
    private const string Bad = "\"__BAD__\"";

    /// <summary>A request as the generator made it; <see cref="ToString"/> is what a failure prints.</summary>
    /// <param name="Field">For a bad value placed at one field of a valid body: that field's path, which a 400 must name.</param>
    public sealed record Attempt(string Caller, string Method, string Path, string? ContentType, byte[]? Body, string What, string? Field = null)
    {
        public override string ToString() =>
            $"{Method} {Path} [{ContentType ?? "no content type"}] {What}: {(Body is null ? "" : Encoding.UTF8.GetString(Body[..Math.Min(Body.Length, 300)]))}";
    }

    private sealed record Endpoint(string Caller, string Method, string Path, JsonObject Template)
    {
        public Attempt ToAttempt(byte[] body, string? contentType, string what, string? field = null) => new(Caller, Method, Path, contentType, body, what, field);
    }

    [Fact]
    public async Task Generated_bad_requests_get_4xx_problems_never_5xx_and_leave_what_was_stored_unchanged()
    {
        var scenario = await new Scenario(api).WithChapterAsync();
        var giver = await scenario.AddMemberAsync("Anna");
        var receiver = await scenario.AddMemberAsync("Bram");
        var leader = await scenario.AddLeaderAsync("Lena");
        var referral = await scenario.GiveAsync(giver, receiver);
        var c = $"/api/chapters/{scenario.ChapterId}";
        var meeting = (await (await scenario.As(leader).PostAsync($"{c}/meetings",
            JsonContent(new { date = DateOnly.FromDateTime(DateTime.UtcNow).AddDays(-1) }))).ReadJsonAsync())["id"]!.GetValue<Guid>();
        var webhook = (await (await scenario.As(leader).PostAsync($"{c}/webhooks",
            JsonContent(new { url = "https://93.184.216.34/hook", events = new[] { "*" }, label = "crm" }))).ReadJsonAsync())["id"]!.GetValue<Guid>();
        var callers = new Dictionary<string, HttpClient>
        {
            ["operator"] = scenario.Operator, ["leader"] = scenario.As(leader), ["giver"] = scenario.As(giver), ["receiver"] = scenario.As(receiver),
        };

        Endpoint[] writes =
        [
            new("operator", "POST", "/api/chapters", Json(new { id = "x-" + Guid.NewGuid().ToString("N")[..8], name = "Lund", timeZone = "Europe/Stockholm", currency = "SEK", tieHalfLifeDays = 90 })),
            new("operator", "POST", $"{c}/members", Json(new { name = "Cleo", profession = "Baker", languages = new[] { "sv" }, role = "member" })),
            new("operator", "PUT", $"{c}/members/{receiver}", Json(new { name = "Bram", profession = "Realtor", languages = new[] { "nl" }, role = "member" })),
            new("operator", "POST", $"{c}/members/{Guid.NewGuid()}/leave", []),
            new("giver", "POST", $"{c}/referrals", Json(scenario.ReferralBody(giver, receiver))),
            new("receiver", "POST", $"{c}/referrals/{referral}/accept", []),
            new("receiver", "POST", $"{c}/referrals/{referral}/decline", Json(new { reason = "Too far" })),
            new("receiver", "POST", $"{c}/referrals/{referral}/close", Json(new { outcome = "won", value = new { amount = 1200.5, currency = "SEK" } })),
            new("receiver", "POST", $"{c}/referrals/{referral}/thank", Json(new { note = "We met" })),
            new("giver", "POST", $"{c}/one-to-ones", Json(new { memberA = giver, memberB = receiver, date = "2026-11-20", note = "Coffee" })),
            new("operator", "POST", $"{c}/members/{giver}/tokens", Json(new { label = "phone" })),
            new("operator", "POST", $"{c}/integrations", Json(new { label = "crm" })),
            new("receiver", "PUT", $"{c}/members/{receiver}/notifications", Json(new { email = "bram@example.nl", referralReceived = true, referralUpdates = false, weeklyDigest = true })),
            new("giver", "POST", $"{c}/referrals/{referral}/introduce", Json(new { line = "You two should talk" })),
            new("giver", "PUT", $"{c}/members/{giver}/profile", Json(new { ask = "Restaurant owners", idealReferral = "A new restaurant", skills = "Bookkeeping" })),
            new("leader", "PUT", $"{c}/contact-spheres", Json(new { spheres = new[] { new { name = "Property", professions = new[] { "Realtor" } } } })),
            new("leader", "POST", $"{c}/webhooks", Json(new { url = "https://93.184.216.34/hook", events = new[] { "referral.given.v2" }, label = "crm" })),
            new("leader", "POST", $"{c}/webhooks/{webhook}/redeliver", Json(new { from = "0" })),
            new("leader", "POST", $"{c}/meetings", Json(new { date = "2026-01-13" })),
            new("giver", "POST", $"{c}/visitors", Json(new { name = "Gustav Ek", profession = "Plumber", email = "gustav@example.se", phone = "+46 70 1", consent = true })),
            new("leader", "PUT", $"{c}/meetings/{meeting}/attendance/{giver}", Json(new { status = "substitute", substitute = new { name = "Dora", profession = "Baker" } })),
        ];
        (string Caller, string Path, string[] Parameters)[] reads =
        [
            ("leader", $"{c}/referrals", ["status", "limit"]),
            ("giver", $"{c}/reciprocity", ["weeks"]),
            ("giver", $"{c}/members/{giver}/giving", ["weeks"]),
            ("leader", $"{c}/events", ["after", "limit"]),
            ("leader", $"{c}/reports/weekly/{{week}}", ["week"]),
            ("leader", $"{c}/meetings", ["from", "to"]),
            ("leader", $"{c}/one-to-ones", ["memberId", "limit"]),
            ("leader", $"{c}/webhooks/{webhook}/deliveries", ["after", "limit"]),
        ];

        await api.WaitForProjectionsAsync();
        var storedBefore = await StoredEventsAsync(long.MaxValue);
        var lastBefore = await api.ScalarAsync("SELECT max(seq_id) FROM mt_events");

        var gen = Gen.OneOf(BodyAttempts(writes), QueryAttempts(reads), ContentTypeAttempts(writes), BodyOnReadAttempts(reads));
        await gen.SampleAsync(async attempt =>
        {
            using var request = new HttpRequestMessage(new HttpMethod(attempt.Method), attempt.Path);
            if (attempt.Body is { } body)
            {
                request.Content = new ByteArrayContent(body);
                request.Content.Headers.ContentType = attempt.ContentType is null ? null : MediaTypeHeaderValue.Parse(attempt.ContentType);
            }
            using var response = await callers[attempt.Caller].SendAsync(request);
            var text = await response.Content.ReadAsStringAsync();
            ((int)response.StatusCode).ShouldBeLessThan(500, $"{attempt} → {text}");
            if ((int)response.StatusCode >= 400)
            {
                response.Content.Headers.ContentType?.MediaType.ShouldBe("application/problem+json", $"{attempt} → {(int)response.StatusCode} {text}");
                JsonNode.Parse(text)!["status"]!.GetValue<int>().ShouldBe((int)response.StatusCode, $"{attempt} → {text}");
                // A bad value at one field is answered naming it (or the object holding it, or what it lacks), whoever reads the body.
                if (response.StatusCode == HttpStatusCode.BadRequest && attempt.Field is { } field)
                    (JsonNode.Parse(text)!["errors"]?.AsObject().Select(e => e.Key) ?? []).ShouldContain(
                        named => named == field || field.StartsWith(named + ".") || field.StartsWith(named + "[") || named.StartsWith(field + ".") || named.StartsWith(field + "["),
                        $"{attempt} → {text}");
            }
        }, writeLine: output.WriteLine, seed: Environment.GetEnvironmentVariable("CHAPTER_BAD_INPUT_SEED"), iter: 1200, threads: 1);

        (await StoredEventsAsync(lastBefore)).ShouldBe(storedBefore, "the events stored before are unchanged");
        (await scenario.As(giver).GetAsync($"{c}/referrals/{referral}")).StatusCode.ShouldBe(HttpStatusCode.OK);
        (await scenario.Operator.GetAsync(c)).StatusCode.ShouldBe(HttpStatusCode.OK);
    }

    private Task<string> StoredEventsAsync(long upTo) => api.ScalarTextAsync(
        "SELECT md5(string_agg(seq_id || stream_id || version || type || data::text || timestamp, '|' ORDER BY seq_id)) FROM mt_events WHERE seq_id <= $1", upTo);

    private static JsonObject Json(object value) => JsonSerializer.SerializeToNode(value, JsonSerializerOptions.Web)!.AsObject();

    // Raw JSON fragments: what PostgreSQL or a reader cannot take, wrong types, numbers out of range.
    private static readonly string[] BadValues =
    [
        "\"a\\u0000b\"", "\"\\u0000\"", "\"bell\\u0007\"", "\"esc\\u001b[31m\"", "\"del\\u007f\"", "\"\\ud800\"", "\"x\\udc00y\"", "\"\\ud800\\ud800\"",
        "\"two\\nlines\"", "\"tab\\there\"", "\"\"", "\"   \"", $"\"{new string('x', 2001)}\"", $"\"{new string('ü', 20000)}\"",
        "123", "-1", "0", "1e400", "-1e400", "123456789012345678901234567890", "1.7976931348623157e309", "true", "null", "[]", "{}", "[\"a\",1]",
        "\"not-a-uuid\"", "\"00000000-0000-0000-0000-000000000000\"", "\"2026-13-45\"", "\"9999-12-31\"", "\"<script>alert(1)</script>\"", "\"💥\"",
    ];

    private static Gen<Attempt> BodyAttempts(Endpoint[] endpoints) =>
        from endpoint in Gen.OneOf(endpoints)
        from kind in Gen.Int[0, 5]
        from value in Gen.OneOf(BadValues)
        from cut in Gen.Double[0, 1]
        from depth in Gen.Int[70, 3000]
        select MakeBody(endpoint, kind, value, cut, depth);

    private static Attempt MakeBody(Endpoint endpoint, int kind, string value, double cut, int depth)
    {
        var paths = Paths(endpoint.Template).ToList();
        var template = endpoint.Template.ToJsonString();
        string body, what;
        switch (kind)
        {
            case 0 when paths.Count > 0:
            case 1 when paths.Count > 0:
                var path = paths[(int)(cut * (paths.Count - 1))];
                var copy = JsonNode.Parse(template)!.AsObject();
                var (parent, key) = Locate(copy, path);
                Set(parent, key, "__BAD__");
                body = copy.ToJsonString().Replace(Bad, value);
                return endpoint.ToAttempt(Encoding.UTF8.GetBytes(body), "application/json", $"{path} = {value[..Math.Min(value.Length, 40)]}",
                    System.Text.RegularExpressions.Regex.Replace(path, @"\.(\d+)", "[$1]"));
            case 2 when paths.Count > 0:
                var first = paths[0].Split('.')[0];
                body = template.Insert(1, $"\"{first}\":{value},");
                what = $"duplicate key {first}";
                break;
            case 3:
                body = template[..(int)(cut * template.Length)];
                what = "cut short";
                break;
            case 4:
                body = new string('[', depth) + new string(']', depth);
                what = $"nested {depth} deep";
                break;
            default:
                return endpoint.ToAttempt(new byte[] { 0x7B, 0x22, 0x6E, 0x22, 0x3A, 0x22, 0xC3, 0x28, 0x22, 0x7D }, "application/json", "invalid UTF-8");
        }
        return endpoint.ToAttempt(Encoding.UTF8.GetBytes(body), "application/json", what);
    }

    private static Gen<Attempt> ContentTypeAttempts(Endpoint[] endpoints) =>
        from endpoint in Gen.OneOf(endpoints)
        from type in Gen.OneOf<string?>(null, "text/plain", "application/xml", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x",
            "application/json; charset=utf-16", "application/json; charset=latin1")
        select endpoint.ToAttempt(Encoding.UTF8.GetBytes(endpoint.Template.ToJsonString()), type, $"content type {type ?? "none"}");

    private static Gen<Attempt> QueryAttempts((string Caller, string Path, string[] Parameters)[] reads) =>
        from read in Gen.OneOf(reads)
        from parameter in Gen.Int[0, 10]
        from value in Gen.OneOf("abc", "-1", "0", "99999999999999999999", "1e5", "%00", "%ZZ", "2026-W99", "2026-W00", "2026-W", "W47", "",
            "NaN", "1.5", "tx-1-2", "%F0%9F%92%A5", new string('9', 5000), "waiting", "ACCEPTED", "closed,won")
        select MakeQuery(read, read.Parameters[parameter % read.Parameters.Length], value);

    private static Attempt MakeQuery((string Caller, string Path, string[] Parameters) read, string parameter, string value) =>
        parameter == "week"
            // (A NUL in the path is refused by Kestrel before the service, and cannot even be sent through the test server.)
            ? new Attempt(read.Caller, "GET", read.Path.Replace("{week}", value is "" or "%00" ? "%20" : value), null, null, $"week {value}")
            : new Attempt(read.Caller, "GET", $"{read.Path}?{parameter}={value}", null, null, $"{parameter}={value}");

    private static Gen<Attempt> BodyOnReadAttempts((string Caller, string Path, string[] Parameters)[] reads) =>
        from read in Gen.OneOf(reads)
        select new Attempt(read.Caller, "GET", read.Path.Replace("{week}", "2026-W47"), "application/json", "{\"weeks\":4}"u8.ToArray(), "a body on a GET");

    // Every leaf of the template by its JSON path ("prospect.name", "languages.0").
    private static IEnumerable<string> Paths(JsonNode node, string prefix = "")
    {
        switch (node)
        {
            case JsonObject o:
                foreach (var (key, child) in o)
                {
                    var path = prefix.Length == 0 ? key : $"{prefix}.{key}";
                    yield return path;
                    if (child is JsonObject or JsonArray)
                        foreach (var inner in Paths(child, path))
                            yield return inner;
                }
                break;
            case JsonArray a:
                for (var i = 0; i < a.Count; i++)
                    yield return $"{prefix}.{i}";
                break;
        }
    }

    private static (JsonNode Parent, string Key) Locate(JsonObject root, string path)
    {
        JsonNode parent = root;
        var parts = path.Split('.');
        foreach (var part in parts[..^1])
            parent = parent is JsonArray array ? array[int.Parse(part)]! : parent[part]!;
        return (parent, parts[^1]);
    }

    private static void Set(JsonNode parent, string key, JsonNode? value)
    {
        if (parent is JsonArray array)
            array[int.Parse(key)] = value;
        else
            parent[key] = value;
    }

    private static StringContent JsonContent(object body) => new(JsonSerializer.Serialize(body, new JsonSerializerOptions(JsonSerializerDefaults.Web)), Encoding.UTF8, "application/json");
}
