using System.IO.Compression;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;

namespace Chapter.Api.Tests;

/// <summary>A chapter's data and a member's, taken elsewhere: what is in them, for whom, and in what form.</summary>
public sealed class ExportApiTests(ApiFixture api) : IClassFixture<ApiFixture>
{
    private sealed record World(Scenario Scenario, Guid Asa, Guid Anh, Guid Referral, HttpClient Leader);

    private static async Task<World> ChapterWithHistoryAsync(ApiFixture api)
    {
        var scenario = await new Scenario(api).WithChapterAsync();
        var asa = await scenario.AddMemberAsync("Åsa Öberg", "Fastighetsmäklare");
        var anh = await scenario.AddMemberAsync("Nguyễn Thị Ánh", "Kế toán", languages: ["vi"]);
        await scenario.AddMemberAsync("=HYPERLINK(\"http://evil.example\")", "Spreadsheet");
        var leader = scenario.As(await scenario.AddLeaderAsync("Lena"));
        var c = $"/api/chapters/{scenario.ChapterId}";
        var referral = await scenario.GiveAsync(asa, anh);
        await scenario.ActAsync(anh, referral, "accept", new { });
        await scenario.ActAsync(anh, referral, "close", new { outcome = "won", value = new { amount = 2500m, currency = "SEK" } });
        await scenario.ActAsync(anh, referral, "thank", new { note = "Cảm ơn, Åsa!" });
        (await scenario.As(asa).PutAsJsonAsync($"{c}/members/{asa}/profile", new { ask = "Bostadsrättsföreningar" })).StatusCode.ShouldBe(HttpStatusCode.OK);
        (await scenario.As(asa).PutAsJsonAsync($"{c}/members/{asa}/profile", new { ask = "Nyproduktion", skills = "Värdering" })).StatusCode.ShouldBe(HttpStatusCode.OK);
        (await scenario.As(asa).PutAsJsonAsync($"{c}/members/{asa}/notifications",
            new { email = "asa@example.se", referralReceived = true, referralUpdates = false, weeklyDigest = true })).StatusCode.ShouldBe(HttpStatusCode.OK);
        (await scenario.As(asa).PostAsJsonAsync($"{c}/one-to-ones",
            new { memberA = asa, memberB = anh, date = DateOnly.FromDateTime(DateTime.UtcNow).AddDays(-1) })).StatusCode.ShouldBe(HttpStatusCode.Created);
        (await leader.PostAsJsonAsync($"{c}/visitors", new { name = "Gustav Ek", profession = "Rörmokare", consent = true, email = "gustav@example.se" }))
            .StatusCode.ShouldBe(HttpStatusCode.Created);
        await api.WaitForProjectionsAsync();
        return new World(scenario, asa, anh, referral, leader);
    }

    private static async Task<Dictionary<string, byte[]>> UnzipAsync(HttpResponseMessage response)
    {
        response.StatusCode.ShouldBe(HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        response.Content.Headers.ContentType!.MediaType.ShouldBe("application/zip");
        response.Content.Headers.ContentDisposition!.DispositionType.ShouldBe("attachment");
        await using var zip = new ZipArchive(new MemoryStream(await response.Content.ReadAsByteArrayAsync()), ZipArchiveMode.Read);
        var files = new Dictionary<string, byte[]>();
        foreach (var entry in zip.Entries)
        {
            await using var stream = await entry.OpenAsync();
            using var copy = new MemoryStream();
            await stream.CopyToAsync(copy);
            files[entry.FullName] = copy.ToArray();
        }
        return files;
    }

    private static string Text(byte[] bytes) => Encoding.UTF8.GetString(bytes);

    [Fact]
    public async Task A_leader_exports_the_chapter_as_csv_files_excel_reads_in_utf8_and_the_events_in_feed_order()
    {
        var world = await ChapterWithHistoryAsync(api);
        var files = await UnzipAsync(await world.Leader.GetAsync($"/api/chapters/{world.Scenario.ChapterId}/export"));

        files.Keys.Order().ShouldBe(["attendance.csv", "events.jsonl", "meetings.csv", "members.csv", "one-to-ones.csv", "referrals.csv", "visitors.csv",
            "weekly-reports.csv"]);
        foreach (var csv in files.Where(f => f.Key.EndsWith(".csv")))
        {
            csv.Value.Take(3).ShouldBe(new byte[] { 0xEF, 0xBB, 0xBF }, $"{csv.Key} starts with UTF-8's byte order mark, for Excel");
            Text(csv.Value[3..]).ShouldContain("\r\n");
        }
        var members = Text(files["members.csv"][3..]);
        members.ShouldStartWith("id,name,profession,languages,role,status,joinedAt,leftAt,ask,");
        members.ShouldContain("Åsa Öberg,Fastighetsmäklare");
        members.ShouldContain("Nguyễn Thị Ánh,Kế toán,vi");
        members.ShouldContain("Nyproduktion");
        members.ShouldContain("\"'=HYPERLINK(\"\"http://evil.example\"\")\"", Case.Sensitive, "a formula is written as text");
        var referrals = Text(files["referrals.csv"][3..]);
        referrals.ShouldContain(world.Referral.ToString());
        referrals.ShouldContain("Sara Lind", Case.Sensitive, "leaders read the prospect");
        referrals.ShouldContain("Cảm ơn, Åsa!");
        Text(files["one-to-ones.csv"][3..]).ShouldContain("Åsa Öberg");
        Text(files["visitors.csv"][3..]).ShouldContain("Gustav Ek");
        var weeks = Text(files["weekly-reports.csv"][3..]).Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
        weeks[0].ShouldStartWith("week,from,to,given,accepted,");
        weeks.Skip(1).ShouldContain(row => row.Contains(",1,1,0,1,0,1,1,") && row.Contains("2500 SEK"), "this week: one given, accepted, won, thanked");

        var lines = Text(files["events.jsonl"]).Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonNode.Parse(l)!).ToList();
        var positions = lines.Select(l => l["position"]!.GetValue<long>()).ToList();
        positions.Count.ShouldBe((int)await api.ScalarAsync("SELECT count(*) FROM mt_events WHERE tenant_id = $1", world.Scenario.ChapterId));
        positions.ShouldBe(positions.Order().ToList());
        lines.Select(l => l["type"]!.GetValue<string>()).ShouldContain("referral.thanked.v1");
        Text(files["events.jsonl"]).ShouldNotContain("sealedProspect");
    }

    [Fact]
    public async Task The_operator_exports_without_visitors_or_prospects_and_members_and_integrations_may_not()
    {
        var world = await ChapterWithHistoryAsync(api);
        var export = $"/api/chapters/{world.Scenario.ChapterId}/export";
        var files = await UnzipAsync(await world.Scenario.Operator.GetAsync(export));

        files.Keys.ShouldNotContain("visitors.csv");
        foreach (var (name, bytes) in files)
            foreach (var secret in new[] { "Sara Lind", "sara@example.se", "Gustav Ek" })
                Text(bytes).ShouldNotContain(secret, Case.Sensitive, $"{name} holds what only leaders may read");
        Text(files["referrals.csv"][3..]).ShouldNotContain("prospectName");

        await (await world.Scenario.As(world.Asa).GetAsync(export)).ShouldBeProblemAsync(HttpStatusCode.Forbidden);
        await (await (await world.Scenario.IntegrationAsync()).GetAsync(export)).ShouldBeProblemAsync(HttpStatusCode.Forbidden);
        await (await world.Scenario.Operator.GetAsync("/api/chapters/no-such-chapter/export")).ShouldBeProblemAsync(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task A_member_takes_everything_held_about_them_and_only_they_and_leaders_may()
    {
        var world = await ChapterWithHistoryAsync(api);
        var path = $"/api/chapters/{world.Scenario.ChapterId}/members/{world.Asa}/export";

        var response = await world.Scenario.As(world.Asa).GetAsync(path);
        response.StatusCode.ShouldBe(HttpStatusCode.OK);
        response.Headers.CacheControl!.NoStore.ShouldBeTrue();
        var document = await response.ReadJsonAsync();
        document["member"]!["name"]!.GetValue<string>().ShouldBe("Åsa Öberg");
        document["profileHistory"]!.AsArray().Select(p => p!["profile"]!["ask"]!.GetValue<string>()).ShouldBe(["Bostadsrättsföreningar", "Nyproduktion"]);
        document["notifications"]!["email"]!.GetValue<string>().ShouldBe("asa@example.se");
        document["notifications"]!.AsObject().ContainsKey("turnOffKey").ShouldBeFalse();
        var given = document["referralsGiven"]!.AsArray().ShouldHaveSingleItem()!;
        given["id"]!.GetValue<Guid>().ShouldBe(world.Referral);
        given["prospect"]!["name"]!.GetValue<string>().ShouldBe("Sara Lind", "the giver reads their prospect");
        document["referralsReceived"]!.AsArray().ShouldBeEmpty();
        document["oneToOnes"]!.AsArray().Count.ShouldBe(1);
        document["tokens"]!.AsArray().ShouldHaveSingleItem()!["label"]!.GetValue<string>().ShouldBe("tests");
        document.ToJsonString().ShouldNotContain("chapter_", Case.Sensitive, "never a token itself");

        (await world.Leader.GetAsync(path)).StatusCode.ShouldBe(HttpStatusCode.OK);
        await (await world.Scenario.As(world.Anh).GetAsync(path)).ShouldBeProblemAsync(HttpStatusCode.Forbidden);
        await (await world.Scenario.Operator.GetAsync(path)).ShouldBeProblemAsync(HttpStatusCode.Forbidden);
        await (await world.Leader.GetAsync($"/api/chapters/{world.Scenario.ChapterId}/members/{Guid.NewGuid()}/export"))
            .ShouldBeProblemAsync(HttpStatusCode.NotFound);
    }
}
