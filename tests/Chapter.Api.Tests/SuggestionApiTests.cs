using System.Net;
using System.Net.Http.Json;

namespace Chapter.Api.Tests;

/// <summary>Whom to meet next, from the chapter's ties, its contact spheres and the members' asks.</summary>
public sealed class SuggestionApiTests(ApiFixture api) : IClassFixture<ApiFixture>
{
    [Fact]
    public async Task A_member_is_pointed_to_those_they_have_no_tie_with_in_their_sphere_and_whose_ask_fits_and_never_to_one_met_lately()
    {
        var scenario = await new Scenario(api).WithChapterAsync();
        var leader = scenario.As(await scenario.AddLeaderAsync("Lea"));
        var anna = await scenario.AddMemberAsync("Anna", "Realtor");
        var bram = await scenario.AddMemberAsync("Bram", "Mortgage adviser");
        var cleo = await scenario.AddMemberAsync("Cleo", "Caterer");
        var dirk = await scenario.AddMemberAsync("Dirk", "Baker");
        var c = $"/api/chapters/{scenario.ChapterId}";

        (await leader.PutAsJsonAsync($"{c}/contact-spheres", new { spheres = new[] { new { name = "Property", professions = new[] { "Realtor", "Mortgage adviser" } } } }))
            .StatusCode.ShouldBe(HttpStatusCode.OK);
        await (await leader.PutAsJsonAsync($"{c}/contact-spheres", new { spheres = new[] {
                new { name = "Property", professions = new[] { "Realtor" } }, new { name = "Homes", professions = new[] { "realtor" } } } }))
            .ShouldBeProblemNamingAsync(HttpStatusCode.UnprocessableEntity, "spheres");
        await (await scenario.As(anna).PutAsJsonAsync($"{c}/contact-spheres", new { spheres = Array.Empty<object>() })).ShouldBeProblemAsync(HttpStatusCode.Forbidden);
        (await (await scenario.As(anna).GetAsync($"{c}/contact-spheres")).ReadJsonAsync())["spheres"]!.AsArray().Single()!["name"]!.GetValue<string>().ShouldBe("Property");

        (await scenario.As(anna).PutAsJsonAsync($"{c}/members/{anna}/profile", new { networks = "Many restaurant owners in Södermalm" })).StatusCode.ShouldBe(HttpStatusCode.OK);
        (await scenario.As(cleo).PutAsJsonAsync($"{c}/members/{cleo}/profile", new { ask = "Introductions to restaurant owners" })).StatusCode.ShouldBe(HttpStatusCode.OK);
        // Anna met Dirk last week: he is not suggested for a while.
        (await scenario.As(anna).PostAsJsonAsync($"{c}/one-to-ones", new { memberA = anna, memberB = dirk, date = DateOnly.FromDateTime(DateTime.UtcNow).AddDays(-7) }))
            .StatusCode.ShouldBe(HttpStatusCode.Created);
        await api.WaitForProjectionsAsync();

        var suggested = (await (await scenario.As(anna).GetAsync($"{c}/members/{anna}/suggestions")).ReadJsonAsync())["items"]!.AsArray();
        suggested.Select(s => s!["memberId"]!.GetValue<Guid>()).Take(2).ShouldBe([bram, cleo]);
        suggested[0]!["reasons"]!.AsArray().Select(r => r!["kind"]!.GetValue<string>()).ShouldBe(["noTieYet", "sharedContactSphere"]);
        suggested[1]!["reasons"]!.AsArray().Select(r => r!["kind"]!.GetValue<string>()).ShouldBe(["noTieYet", "askMatches"]);
        suggested.ShouldNotContain(s => s!["memberId"]!.GetValue<Guid>() == dirk || s["memberId"]!.GetValue<Guid>() == anna);

        await (await scenario.As(bram).GetAsync($"{c}/members/{anna}/suggestions")).ShouldBeProblemAsync(HttpStatusCode.Forbidden);
        (await leader.GetAsync($"{c}/members/{anna}/suggestions")).StatusCode.ShouldBe(HttpStatusCode.OK);
    }
}
