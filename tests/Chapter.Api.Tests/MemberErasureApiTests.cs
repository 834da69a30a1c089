using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;

namespace Chapter.Api.Tests;

/// <summary>A member who left asks to be forgotten: nothing in the database names them any more, and the chapter's figures stay.</summary>
public sealed class MemberErasureApiTests(ApiFixture api) : IClassFixture<ApiFixture>
{
    private readonly string _suffix = Guid.NewGuid().ToString("N")[..8];

    [Fact]
    public async Task A_former_member_is_gone_from_every_table_and_the_log_and_the_reports_keep_their_figures()
    {
        var (name, profession, ask, skills, email, label) =
            ($"Zelda Quist-{_suffix}", $"Perfumer-{_suffix}", $"Spa owners-{_suffix}", $"Scents-{_suffix}", $"zelda.{_suffix}@example.se", $"Zelda's phone-{_suffix}");
        var scenario = await new Scenario(api).WithChapterAsync();
        var zelda = await scenario.AddMemberAsync(name, profession, languages: ["vi"]);
        var bram = await scenario.AddMemberAsync("Bram");
        var leader = scenario.As(await scenario.AddLeaderAsync("Lena"));
        var c = $"/api/chapters/{scenario.ChapterId}";
        (await scenario.As(zelda).PutAsJsonAsync($"{c}/members/{zelda}/profile", new { ask, skills })).StatusCode.ShouldBe(HttpStatusCode.OK);
        (await scenario.As(zelda).PutAsJsonAsync($"{c}/members/{zelda}/notifications",
            new { email, referralReceived = false, referralUpdates = false, weeklyDigest = false })).StatusCode.ShouldBe(HttpStatusCode.OK);
        (await scenario.Operator.PostAsJsonAsync($"{c}/members/{zelda}/tokens", new { label })).StatusCode.ShouldBe(HttpStatusCode.Created);
        var given = await scenario.GiveAsync(zelda, bram);
        await scenario.ActAsync(bram, given, "accept", new { });
        await scenario.ActAsync(bram, given, "close", new { outcome = "won", value = new { amount = 1500m, currency = "SEK" } });
        await scenario.ActAsync(bram, given, "thank", new { note = "Tack!" });
        await scenario.GiveAsync(bram, zelda);
        var markers = new[] { name, profession, ask, skills, email, label };
        foreach (var marker in markers)
            (await api.TablesHoldingAsync(marker)).ShouldNotBeEmpty($"'{marker}' is stored before the erasure: the search must find it");

        var erase = $"{c}/members/{zelda}/personal-data";
        await (await leader.DeleteAsync(erase)).ShouldBeProblemAsync(HttpStatusCode.Conflict);
        (await leader.PostAsync($"{c}/members/{zelda}/leave", null)).StatusCode.ShouldBe(HttpStatusCode.OK);
        // Leaving changes the figures (circulation counts the members in the chapter); forgetting must not.
        await api.WaitForProjectionsAsync();
        var reader = await scenario.IntegrationAsync();
        var report = $"{c}/reports/weekly/current";
        var figuresBefore = Figures(await (await reader.GetAsync(report)).ReadJsonAsync());
        await (await scenario.As(bram).DeleteAsync(erase)).ShouldBeProblemAsync(HttpStatusCode.Forbidden);
        await (await leader.DeleteAsync($"{c}/members/{Guid.NewGuid()}/personal-data")).ShouldBeProblemAsync(HttpStatusCode.NotFound);

        var erased = await leader.DeleteAsync(erase);
        erased.StatusCode.ShouldBe(HttpStatusCode.Accepted);
        var formerMember = await erased.ReadJsonAsync();
        formerMember["name"]!.GetValue<string>().ShouldBe("Former member");
        formerMember["profession"]!.GetValue<string>().ShouldBeEmpty();
        formerMember["status"]!.GetValue<string>().ShouldBe("left");

        await api.WaitForProjectionsAsync();
        var until = DateTime.UtcNow.AddSeconds(30);
        while (await HeldAnywhereAsync(markers) is { Count: > 0 } && DateTime.UtcNow < until)
            await Task.Delay(100);
        (await HeldAnywhereAsync(markers)).ShouldBeEmpty();
        (await (await leader.GetAsync($"{c}/members/{zelda}")).ReadJsonAsync())["name"]!.GetValue<string>().ShouldBe("Former member");
        (await (await leader.GetAsync($"{c}/referrals/{given}")).ReadJsonAsync()).ToJsonString().ShouldNotContain(name);
        Figures(await (await reader.GetAsync(report)).ReadJsonAsync()).ShouldBe(figuresBefore);

        // A rebuild reads the masked events: the figures are the same, and the name does not come back.
        (await scenario.Operator.PostAsync("/api/admin/projections/activity/rebuild", null)).StatusCode.ShouldBe(HttpStatusCode.Accepted);
        until = DateTime.UtcNow.AddSeconds(30);
        while (await RebuildingAsync() && DateTime.UtcNow < until)
            await Task.Delay(50);
        (await RebuildingAsync()).ShouldBeFalse();
        (await HeldAnywhereAsync(markers)).ShouldBeEmpty();
        Figures(await (await reader.GetAsync(report)).ReadJsonAsync()).ShouldBe(figuresBefore);

        // Integrations hear it, to forget their own copies; the feed shows the masked joining.
        var feed = (await (await reader.GetAsync($"{c}/events?limit=1000")).ReadJsonAsync())["items"]!.AsArray();
        feed.Select(e => e!["type"]!.GetValue<string>()).ShouldContain("member.personal-data-erased.v1");
        feed.ToJsonString().ShouldNotContain(name);
        (await leader.DeleteAsync(erase)).StatusCode.ShouldBe(HttpStatusCode.Accepted, "repeating it changes nothing more");
        api.Logs.Lines.Where(line => markers.Any(line.Contains)).ShouldBeEmpty();

        async Task<bool> RebuildingAsync() =>
            (await (await scenario.Operator.GetAsync("/api/admin/projections")).ReadJsonAsync())["items"]!.AsArray().Single()!["rebuildRequested"]!.GetValue<bool>();
    }

    private async Task<List<string>> HeldAnywhereAsync(string[] markers)
    {
        var held = new List<string>();
        foreach (var marker in markers)
            held.AddRange((await api.TablesHoldingAsync(marker)).Select(table => $"'{marker}' in {table}"));
        return held;
    }

    /// <summary>The report's figures, without the names it shows beside them.</summary>
    private static string Figures(JsonObject report) =>
        new JsonObject
        {
            ["counts"] = report["counts"]!.DeepClone(),
            ["closedValue"] = report["closedValue"]!.DeepClone(),
            ["circulation"] = report["circulation"]!.DeepClone(),
        }.ToJsonString();
}
