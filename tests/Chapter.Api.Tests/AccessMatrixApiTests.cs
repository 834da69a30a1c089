using System.Net;
using System.Net.Http.Json;

namespace Chapter.Api.Tests;

/// <summary>
/// One chapter with a giver, a receiver, another member, a leader and an integration; a member of another chapter;
/// a revoked token; the operator. Every endpoint is called by each of them.
/// </summary>
public sealed class AccessWorld : IAsyncLifetime
{
    public ApiFixture Api { get; } = new();
    public Scenario Chapter { get; private set; } = null!;
    public Guid Giver { get; private set; }
    public Guid Receiver { get; private set; }
    public Guid Other { get; private set; }
    public Guid Leader { get; private set; }
    public Dictionary<string, HttpClient> Principals { get; } = [];

    public async Task InitializeAsync()
    {
        await Api.InitializeAsync();
        Chapter = await new Scenario(Api).WithChapterAsync();
        Giver = await Chapter.AddMemberAsync("Anna Giver");
        Receiver = await Chapter.AddMemberAsync("Bram Receiver");
        Other = await Chapter.AddMemberAsync("Chi Other");
        Leader = await Chapter.AddLeaderAsync("Lena Leader");
        var elsewhere = await new Scenario(Api).WithChapterAsync();
        var foreigner = await elsewhere.AddMemberAsync("Xavier Elsewhere");

        var revokedToken = await Chapter.IssueTokenAsync(Chapter.ChapterId, Giver);
        var tokens = await (await Chapter.Operator.GetAsync($"/api/chapters/{Chapter.ChapterId}/members/{Giver}/tokens")).ReadJsonAsync();
        var revokedId = tokens["items"]!.AsArray().Last()!["id"]!.GetValue<Guid>();
        (await Chapter.Operator.DeleteAsync($"/api/chapters/{Chapter.ChapterId}/members/{Giver}/tokens/{revokedId}"))
            .StatusCode.ShouldBe(HttpStatusCode.NoContent);

        // The receiver has an address, so an introduction can be asked for.
        (await Chapter.As(Receiver).PutAsJsonAsync($"{C}/members/{Receiver}/notifications",
            new { email = "bram@example.nl", referralReceived = false, referralUpdates = false, weeklyDigest = false })).StatusCode.ShouldBe(HttpStatusCode.OK);

        Principals["no token"] = Api.ClientWith(null);
        Principals["other member"] = Chapter.As(Other);
        Principals["leader"] = Chapter.As(Leader);
        Principals["integration"] = await Chapter.IntegrationAsync();
        Principals["member of another chapter"] = elsewhere.As(foreigner);
        Principals["revoked token"] = Api.ClientWith(revokedToken);
        Principals["operator"] = Chapter.Operator;
    }

    public string C => $"/api/chapters/{Chapter.ChapterId}";

    public async Task<Guid> FreshReferralAsync(bool accepted = false)
    {
        var id = await Chapter.GiveAsync(Giver, Receiver);
        if (accepted)
            (await Chapter.ActAsync(Receiver, id, "accept", new { })).StatusCode.ShouldBe(HttpStatusCode.OK);
        return id;
    }

    public async Task<Guid> FreshClosedReferralAsync()
    {
        var id = await FreshReferralAsync(accepted: true);
        (await Chapter.ActAsync(Receiver, id, "close", new { outcome = "won", value = new { amount = 100m } })).StatusCode.ShouldBe(HttpStatusCode.OK);
        return id;
    }

    public async Task<Guid> FreshOneToOneAsync()
    {
        var recorded = await Chapter.As(Giver).PostAsJsonAsync($"{C}/one-to-ones",
            new { memberA = Giver, memberB = Receiver, date = DateOnly.FromDateTime(DateTime.UtcNow).AddDays(-1) });
        return (await recorded.ReadJsonAsync())["id"]!.GetValue<Guid>();
    }

    public async Task<Guid> FreshFormerMemberAsync()
    {
        var member = await Chapter.AddMemberAsync($"Member {Guid.NewGuid():N}"[..15]);
        (await Chapter.Operator.PostAsync($"{C}/members/{member}/leave", null)).StatusCode.ShouldBe(HttpStatusCode.OK);
        return member;
    }

    public async Task<Guid> FreshWebhookAsync()
    {
        var registered = await Chapter.Operator.PostAsJsonAsync($"{C}/webhooks", new { url = "https://93.184.216.34/hook", events = new[] { "*" }, label = "crm" });
        return (await registered.ReadJsonAsync())["id"]!.GetValue<Guid>();
    }

    public async Task<Guid> FreshMemberWithAddressAsync()
    {
        var member = await Chapter.AddMemberAsync($"Member {Guid.NewGuid():N}"[..15]);
        (await Chapter.As(member).PutAsJsonAsync($"{C}/members/{member}/notifications",
            new { email = $"{member:N}@example.se", referralReceived = false, referralUpdates = false, weeklyDigest = false })).StatusCode.ShouldBe(HttpStatusCode.OK);
        return member;
    }

    public async Task<Guid> FreshMemberAsync() => await Chapter.AddMemberAsync($"Member {Guid.NewGuid():N}"[..15]);

    public async Task<Guid> FreshTokenAsync(Guid memberId)
    {
        var issued = await Chapter.Operator.PostAsJsonAsync($"{C}/members/{memberId}/tokens", new { });
        return (await issued.ReadJsonAsync())["id"]!.GetValue<Guid>();
    }

    public async Task<Guid> FreshIntegrationAsync()
    {
        var issued = await Chapter.Operator.PostAsJsonAsync($"{C}/integrations", new { label = "matrix" });
        return (await issued.ReadJsonAsync())["id"]!.GetValue<Guid>();
    }

    /// <summary>A day no meeting of this chapter has yet: one a day, so each call takes a day of its own, in the past.</summary>
    public DateOnly FreshMeetingDay() => DateOnly.FromDateTime(DateTime.UtcNow).AddDays(-Interlocked.Increment(ref _meetingDays));

    private int _meetingDays;

    public async Task<Guid> FreshMeetingAsync()
    {
        var opened = await Chapter.Operator.PostAsJsonAsync($"{C}/meetings", new { date = FreshMeetingDay() });
        return (await opened.ReadJsonAsync())["id"]!.GetValue<Guid>();
    }

    public async Task DisposeAsync() => await ((IAsyncLifetime)Api).DisposeAsync();
}

public sealed class AccessMatrixApiTests(AccessWorld world) : IClassFixture<AccessWorld>
{
    /// <summary>Who plays "member of the chapter" on a row: the member the resource belongs to.</summary>
    private enum Party { Giver, Receiver }

    private sealed record Row(
        string Method, Party Member, Func<AccessWorld, Task<(string Path, object? Body)>> Request,
        int NoToken, int OfChapter, int OtherMember, int Leader, int Integration, int OtherChapter, int Revoked, int Operator);

    private static Task<(string, object?)> At(string path, object? body = null) => Task.FromResult<(string, object?)>((path, body));

    // 401 no token / revoked; 404 for another chapter's member; otherwise what each role may do.
    private static readonly Dictionary<string, Row> Rows = new()
    {
        ["create chapter"] = new("POST", Party.Giver, _ => At("/api/chapters", new { id = $"c-{Guid.NewGuid():N}"[..20], name = "N", timeZone = "Europe/Stockholm", currency = "SEK" }),
            401, 403, 403, 403, 403, 403, 401, 201),
        ["read chapter"] = new("GET", Party.Giver, w => At(w.C), 401, 200, 200, 200, 200, 404, 401, 200),
        ["add member"] = new("POST", Party.Giver, w => At($"{w.C}/members", new { name = "New", profession = "Baker", languages = new[] { "sv" } }),
            401, 403, 403, 201, 403, 404, 401, 201),
        ["add leader"] = new("POST", Party.Giver, w => At($"{w.C}/members", new { name = "New", profession = "Baker", languages = new[] { "sv" }, role = "leader" }),
            401, 403, 403, 201, 403, 404, 401, 201),
        ["list members"] = new("GET", Party.Giver, w => At($"{w.C}/members"), 401, 200, 200, 200, 200, 404, 401, 200),
        ["read member"] = new("GET", Party.Giver, w => At($"{w.C}/members/{w.Giver}"), 401, 200, 200, 200, 200, 404, 401, 200),
        ["change member"] = new("PUT", Party.Giver, async w => ($"{w.C}/members/{await w.FreshMemberAsync()}",
                new { name = "Renamed", profession = "Baker", languages = new[] { "sv" }, role = "member" }),
            401, 403, 403, 200, 403, 404, 401, 200),
        ["member leaves"] = new("POST", Party.Giver, async w => ($"{w.C}/members/{await w.FreshMemberAsync()}/leave", null),
            401, 403, 403, 200, 403, 404, 401, 200),
        ["issue member token"] = new("POST", Party.Giver, w => At($"{w.C}/members/{w.Other}/tokens", new { label = "phone" }),
            401, 403, 403, 201, 403, 404, 401, 201),
        ["list member tokens"] = new("GET", Party.Giver, w => At($"{w.C}/members/{w.Giver}/tokens"), 401, 403, 403, 200, 403, 404, 401, 200),
        ["revoke member token"] = new("DELETE", Party.Giver, async w => ($"{w.C}/members/{w.Other}/tokens/{await w.FreshTokenAsync(w.Other)}", null),
            401, 403, 403, 204, 403, 404, 401, 204),
        ["issue integration key"] = new("POST", Party.Giver, w => At($"{w.C}/integrations", new { label = "crm" }), 401, 403, 403, 201, 403, 404, 401, 201),
        ["list integration keys"] = new("GET", Party.Giver, w => At($"{w.C}/integrations"), 401, 403, 403, 200, 403, 404, 401, 200),
        ["revoke integration key"] = new("DELETE", Party.Giver, async w => ($"{w.C}/integrations/{await w.FreshIntegrationAsync()}", null),
            401, 403, 403, 204, 403, 404, 401, 204),
        // The body names the giver: only the giver may send it.
        ["give referral"] = new("POST", Party.Giver, w => At($"{w.C}/referrals", w.Chapter.ReferralBody(w.Giver, w.Receiver)),
            401, 201, 403, 403, 403, 404, 401, 403),
        ["list referrals"] = new("GET", Party.Giver, w => At($"{w.C}/referrals"), 401, 200, 200, 200, 200, 404, 401, 403),
        ["read referral"] = new("GET", Party.Giver, async w => ($"{w.C}/referrals/{await w.FreshReferralAsync()}", null),
            401, 200, 403, 200, 200, 404, 401, 403),
        ["read referral as its receiver"] = new("GET", Party.Receiver, async w => ($"{w.C}/referrals/{await w.FreshReferralAsync()}", null),
            401, 200, 403, 200, 200, 404, 401, 403),
        ["accept"] = new("POST", Party.Receiver, async w => ($"{w.C}/referrals/{await w.FreshReferralAsync()}/accept", new { }),
            401, 200, 403, 403, 403, 404, 401, 403),
        ["decline"] = new("POST", Party.Receiver, async w => ($"{w.C}/referrals/{await w.FreshReferralAsync()}/decline", new { reason = "Full" }),
            401, 200, 403, 403, 403, 404, 401, 403),
        ["close"] = new("POST", Party.Receiver, async w => ($"{w.C}/referrals/{await w.FreshReferralAsync(accepted: true)}/close", new { outcome = "lost" }),
            401, 200, 403, 403, 403, 404, 401, 403),
        ["thank"] = new("POST", Party.Receiver, async w => ($"{w.C}/referrals/{await w.FreshReferralAsync(accepted: true)}/thank", new { note = "We met" }),
            401, 200, 403, 403, 403, 404, 401, 403),
        ["correct"] = new("POST", Party.Receiver, async w => ($"{w.C}/referrals/{await w.FreshClosedReferralAsync()}/correct",
                new { value = new { amount = 90m }, reason = "Typo" }),
            401, 200, 403, 200, 403, 404, 401, 403),
        ["withdraw"] = new("POST", Party.Giver, async w => ($"{w.C}/referrals/{await w.FreshReferralAsync()}/withdraw", new { }),
            401, 200, 403, 403, 403, 404, 401, 403),
        ["redirect"] = new("POST", Party.Giver, async w => ($"{w.C}/referrals/{await w.FreshReferralAsync()}/redirect", new { receiverId = w.Other }),
            401, 200, 403, 403, 403, 404, 401, 403),
        ["withdraw one-to-one"] = new("DELETE", Party.Giver, async w => ($"{w.C}/one-to-ones/{await w.FreshOneToOneAsync()}", null),
            401, 204, 403, 204, 403, 404, 401, 403),
        ["erase prospect"] = new("DELETE", Party.Giver, async w => ($"{w.C}/referrals/{await w.FreshReferralAsync()}/prospect", null),
            401, 204, 403, 204, 403, 404, 401, 403),
        ["erase prospect as its receiver"] = new("DELETE", Party.Receiver, async w => ($"{w.C}/referrals/{await w.FreshReferralAsync()}/prospect", null),
            401, 403, 403, 204, 403, 404, 401, 403),
        ["record one-to-one"] = new("POST", Party.Giver, w => At($"{w.C}/one-to-ones",
                new { memberA = w.Giver, memberB = w.Receiver, date = DateOnly.FromDateTime(DateTime.UtcNow).AddDays(-1) }),
            401, 201, 403, 201, 403, 404, 401, 403),
        ["relationships"] = new("GET", Party.Giver, w => At($"{w.C}/members/{w.Giver}/relationships"), 401, 200, 403, 200, 200, 404, 401, 403),
        ["giving profile"] = new("GET", Party.Giver, w => At($"{w.C}/members/{w.Giver}/giving"), 401, 200, 403, 200, 200, 404, 401, 403),
        ["reciprocity"] = new("GET", Party.Giver, w => At($"{w.C}/reciprocity"), 401, 200, 200, 200, 200, 404, 401, 403),
        ["weekly report"] = new("GET", Party.Giver, w => At($"{w.C}/reports/weekly/2026-W47"), 401, 403, 403, 200, 200, 404, 401, 403),
        ["event feed"] = new("GET", Party.Giver, w => At($"{w.C}/events"), 401, 403, 403, 200, 200, 404, 401, 403),
        ["projection status"] = new("GET", Party.Giver, _ => At("/api/admin/projections"), 401, 403, 403, 403, 403, 403, 401, 200),
        ["projection rebuild"] = new("POST", Party.Giver, _ => At("/api/admin/projections/activity/rebuild"), 401, 403, 403, 403, 403, 403, 401, 202),
        ["who am i"] = new("GET", Party.Giver, _ => At("/api/me"), 401, 200, 200, 200, 200, 200, 401, 200),
        ["notification settings"] = new("GET", Party.Giver, w => At($"{w.C}/members/{w.Giver}/notifications"), 401, 200, 403, 200, 403, 404, 401, 403),
        ["set notification settings"] = new("PUT", Party.Giver, w => At($"{w.C}/members/{w.Giver}/notifications",
                new { email = "anna@example.se", referralReceived = true, referralUpdates = true, weeklyDigest = false }),
            401, 200, 403, 200, 403, 404, 401, 403),
        ["introduce"] = new("POST", Party.Giver, async w => ($"{w.C}/referrals/{await w.FreshReferralAsync()}/introduce", new { }),
            401, 200, 403, 403, 403, 404, 401, 403),
        ["preview introduction"] = new("GET", Party.Giver, async w => ($"{w.C}/referrals/{await w.FreshReferralAsync()}/introduction", null),
            401, 200, 403, 403, 403, 404, 401, 403),
        ["list one-to-ones"] = new("GET", Party.Giver, w => At($"{w.C}/one-to-ones"), 401, 200, 200, 200, 200, 404, 401, 403),
        ["register webhook"] = new("POST", Party.Giver, w => At($"{w.C}/webhooks", new { url = "https://93.184.216.34/hook", events = new[] { "*" }, label = "crm" }),
            401, 403, 403, 201, 403, 404, 401, 201),
        ["list webhooks"] = new("GET", Party.Giver, w => At($"{w.C}/webhooks"), 401, 403, 403, 200, 403, 404, 401, 200),
        ["erase a former member's personal data"] = new("DELETE", Party.Giver, async w => ($"{w.C}/members/{await w.FreshFormerMemberAsync()}/personal-data", null),
            401, 403, 403, 202, 403, 404, 401, 202),
        ["export the chapter"] = new("GET", Party.Giver, w => At($"{w.C}/export"), 401, 403, 403, 200, 403, 404, 401, 200),
        ["export a member"] = new("GET", Party.Giver, w => At($"{w.C}/members/{w.Giver}/export"), 401, 200, 403, 200, 403, 404, 401, 403),
        ["rotate webhook secret"] = new("POST", Party.Giver, async w => ($"{w.C}/webhooks/{await w.FreshWebhookAsync()}/rotate-secret", null),
            401, 403, 403, 200, 403, 404, 401, 200),
        ["outbox"] = new("GET", Party.Giver, _ => At("/api/admin/outbox"), 401, 403, 403, 403, 403, 403, 401, 200),
        ["read profile"] = new("GET", Party.Giver, w => At($"{w.C}/members/{w.Giver}/profile"), 401, 200, 200, 200, 200, 404, 401, 403),
        ["write profile"] = new("PUT", Party.Giver, w => At($"{w.C}/members/{w.Giver}/profile", new { ask = "Restaurant owners" }), 401, 200, 403, 200, 403, 404, 401, 403),
        ["patch profile"] = new("PATCH", Party.Giver, w => At($"{w.C}/members/{w.Giver}/profile", new { skills = "Bookkeeping" }), 401, 200, 403, 200, 403, 404, 401, 403),
        // Needs the member's address.
        ["invite member"] = new("POST", Party.Giver, async w => ($"{w.C}/members/{await w.FreshMemberWithAddressAsync()}/invite", null),
            401, 403, 403, 202, 403, 404, 401, 202),
        // No token needed, and the answer is the same for everyone (an unknown code is 400; a known one is used once).
        ["ask for a sign-in link"] = new("POST", Party.Giver, _ => At("/api/signin/email", new { email = "someone@example.se" }), 202, 202, 202, 202, 202, 202, 202, 202),
        ["exchange a sign-in code"] = new("POST", Party.Giver, _ => At("/api/signin/exchange", new { code = "not-a-code" }), 400, 400, 400, 400, 400, 400, 400, 400),
        ["list asks"] = new("GET", Party.Giver, w => At($"{w.C}/asks"), 401, 200, 200, 200, 200, 404, 401, 403),
        ["suggestions"] = new("GET", Party.Giver, w => At($"{w.C}/members/{w.Giver}/suggestions"), 401, 200, 403, 200, 200, 404, 401, 403),
        ["contact spheres"] = new("GET", Party.Giver, w => At($"{w.C}/contact-spheres"), 401, 200, 200, 200, 200, 404, 401, 403),
        ["set contact spheres"] = new("PUT", Party.Giver, w => At($"{w.C}/contact-spheres", new { spheres = new[] { new { name = "Property", professions = new[] { "Realtor" } } } }),
            401, 403, 403, 200, 403, 404, 401, 403),
        ["attendance csv"] = new("GET", Party.Giver, w => At($"{w.C}/meetings/attendance.csv?month=2026-11"), 401, 403, 403, 200, 200, 404, 401, 403),
        ["register visitor"] = new("POST", Party.Giver, w => At($"{w.C}/visitors", new { name = "Gustav Ek", profession = "Plumber", consent = false }),
            401, 201, 201, 201, 403, 404, 401, 403),
        ["list visitors"] = new("GET", Party.Giver, w => At($"{w.C}/visitors"), 401, 200, 200, 200, 403, 404, 401, 403),
        ["open meeting"] = new("POST", Party.Giver, w => At($"{w.C}/meetings", new { date = w.FreshMeetingDay() }), 401, 403, 403, 201, 403, 404, 401, 201),
        ["list meetings"] = new("GET", Party.Giver, w => At($"{w.C}/meetings"), 401, 200, 200, 200, 200, 404, 401, 403),
        ["read meeting"] = new("GET", Party.Giver, async w => ($"{w.C}/meetings/{await w.FreshMeetingAsync()}", null), 401, 200, 200, 200, 200, 404, 401, 403),
        ["mark attendance"] = new("PUT", Party.Giver, async w => ($"{w.C}/meetings/{await w.FreshMeetingAsync()}/attendance/{w.Giver}", new { status = "present" }),
            401, 403, 403, 200, 403, 404, 401, 200),
        ["close meeting"] = new("POST", Party.Giver, async w => ($"{w.C}/meetings/{await w.FreshMeetingAsync()}/close", null),
            401, 403, 403, 200, 403, 404, 401, 200),
    };

    public static TheoryData<string> Endpoints => new(Rows.Keys);

    [Theory]
    [MemberData(nameof(Endpoints))]
    public async Task Each_principal_gets_what_it_may(string endpoint)
    {
        var row = Rows[endpoint];
        var expected = new Dictionary<string, int>
        {
            ["no token"] = row.NoToken,
            ["member of the chapter"] = row.OfChapter,
            ["other member"] = row.OtherMember,
            ["leader"] = row.Leader,
            ["integration"] = row.Integration,
            ["member of another chapter"] = row.OtherChapter,
            ["revoked token"] = row.Revoked,
            ["operator"] = row.Operator,
        };

        var failures = new List<string>();
        foreach (var (principal, status) in expected)
        {
            var client = principal == "member of the chapter"
                ? world.Chapter.As(row.Member == Party.Giver ? world.Giver : world.Receiver)
                : world.Principals[principal];
            var (path, body) = await row.Request(world);
            using var request = new HttpRequestMessage(new HttpMethod(row.Method), path);
            if (body is not null)
                request.Content = JsonContent.Create(body);
            using var response = await client.SendAsync(request);

            if ((int)response.StatusCode != status)
                failures.Add($"{principal}: {(int)response.StatusCode}, expected {status}: {await response.Content.ReadAsStringAsync()}");
            else if (status >= 400)
            {
                response.Content.Headers.ContentType?.MediaType.ShouldBe("application/problem+json", principal);
                if (status == 401)
                    response.Headers.WwwAuthenticate.ToString().ShouldStartWith("Bearer", customMessage: principal);
            }
        }
        failures.ShouldBeEmpty();
    }
}
