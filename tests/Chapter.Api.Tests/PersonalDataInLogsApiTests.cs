using System.Net;
using System.Net.Http.Json;

namespace Chapter.Api.Tests;

/// <summary>
/// What people type (needs, notes, reasons, lines, names, profile texts) is personal data: it may name people. The service's
/// logs carry ids, never that text, whether a command was accepted or refused, at any level.
/// </summary>
public sealed class PersonalDataInLogsApiTests(ApiFixture api) : IClassFixture<ApiFixture>
{
    // Unusual enough that nothing else the service logs contains it.
    private const string Marker = "Qx7Personal";

    [Fact]
    public async Task No_log_line_carries_text_people_typed_whether_the_command_was_accepted_or_refused()
    {
        var scenario = await new Scenario(api).WithChapterAsync();
        var c = $"/api/chapters/{scenario.ChapterId}";
        var anna = await scenario.AddMemberAsync($"Anna {Marker}", $"Accountant {Marker}");
        var bram = await scenario.AddMemberAsync($"Bram {Marker}", "Baker");
        var leader = scenario.As(await scenario.AddLeaderAsync($"Lea {Marker}"));
        var linesBefore = api.Logs.Lines.Count;

        // A referral's whole life, each free text marked; then each step again with other text, which the rules refuse.
        var referralId = Guid.NewGuid();
        (await scenario.As(anna).PostAsJsonAsync(scenario.Referrals, Give(anna, bram, referralId, $"Need {Marker}")))
            .StatusCode.ShouldBe(HttpStatusCode.Created);
        await (await scenario.As(anna).PostAsJsonAsync(scenario.Referrals, Give(anna, bram, referralId, $"Other need {Marker}")))
            .ShouldBeProblemAsync(HttpStatusCode.Conflict);
        (await scenario.ActAsync(bram, referralId, "accept", new { })).StatusCode.ShouldBe(HttpStatusCode.OK);
        await (await scenario.ActAsync(bram, referralId, "decline", new { reason = $"Changed my mind {Marker}" }))
            .ShouldBeProblemAsync(HttpStatusCode.Conflict);
        (await scenario.ActAsync(bram, referralId, "thank", new { note = $"Thank you {Marker}" })).StatusCode.ShouldBe(HttpStatusCode.OK);
        await (await scenario.ActAsync(bram, referralId, "thank", new { note = $"New text {Marker}" }))
            .ShouldBeProblemAsync(HttpStatusCode.Conflict);
        (await scenario.As(anna).PostAsJsonAsync($"{scenario.Referrals}/{referralId}/introduce", new { line = $"Meet each other {Marker}" }))
            .StatusCode.ShouldBeOneOf(HttpStatusCode.OK, HttpStatusCode.UnprocessableEntity);
        await (await scenario.As(anna).PostAsJsonAsync(scenario.Referrals, Give(anna, bram, Guid.NewGuid(), new string('x', 5000) + Marker)))
            .ShouldBeProblemAsync(HttpStatusCode.BadRequest);

        // A step the decider refuses on a referral of its own: declined by someone who is not its receiver.
        var second = Guid.NewGuid();
        (await scenario.As(anna).PostAsJsonAsync(scenario.Referrals, Give(anna, bram, second, $"Second need {Marker}")))
            .StatusCode.ShouldBe(HttpStatusCode.Created);
        (await scenario.ActAsync(anna, second, "decline", new { reason = $"Not mine to decline {Marker}" })).StatusCode
            .ShouldBeOneOf(HttpStatusCode.Forbidden, HttpStatusCode.Conflict, HttpStatusCode.UnprocessableEntity);

        // Setting things right: a correction accepted and one refused, a withdrawal refused and one accepted, a sign-in request.
        (await scenario.ActAsync(bram, referralId, "correct", new { thankNote = $"Corrected note {Marker}", reason = $"Typo {Marker}" }))
            .StatusCode.ShouldBe(HttpStatusCode.OK);
        await (await scenario.ActAsync(anna, referralId, "correct", new { thankNote = $"Not mine {Marker}", reason = $"Why {Marker}" }))
            .ShouldBeProblemAsync(HttpStatusCode.Forbidden);
        await (await scenario.ActAsync(anna, referralId, "withdraw", new { reason = $"Too late {Marker}" })).ShouldBeProblemAsync(HttpStatusCode.Conflict);
        var third = Guid.NewGuid();
        (await scenario.As(anna).PostAsJsonAsync(scenario.Referrals, Give(anna, bram, third, $"Third need {Marker}"))).StatusCode.ShouldBe(HttpStatusCode.Created);
        (await scenario.ActAsync(anna, third, "withdraw", new { reason = $"Wrong Bram {Marker}" })).StatusCode.ShouldBe(HttpStatusCode.OK);
        (await api.ClientWith(null).PostAsJsonAsync("/api/signin/email", new { email = $"{Marker}@example.se" })).StatusCode.ShouldBe(HttpStatusCode.Accepted);

        // Profile, meeting (a substitute's name), a visitor, a one-to-one refused.
        (await scenario.As(anna).PutAsJsonAsync($"{c}/members/{anna}/profile",
            new { ask = $"Ask {Marker}", idealReferral = $"Ideal {Marker}", goals = $"Goals {Marker}", skills = $"Skills {Marker}" }))
            .StatusCode.ShouldBe(HttpStatusCode.OK);
        var day = DateOnly.FromDateTime(DateTime.UtcNow);
        var meeting = (await (await leader.PostAsJsonAsync($"{c}/meetings", new { date = day })).ReadJsonAsync())["id"]!.GetValue<Guid>();
        (await leader.PutAsJsonAsync($"{c}/meetings/{meeting}/attendance/{bram}", new { status = "substitute", substitute = new { name = $"Sub {Marker}", profession = $"Baker {Marker}" } }))
            .StatusCode.ShouldBe(HttpStatusCode.OK);
        (await scenario.As(anna).PostAsJsonAsync($"{c}/visitors",
            new { name = $"Visitor {Marker}", profession = $"Florist {Marker}", email = "visitor@example.se", consent = true, meetingId = meeting }))
            .StatusCode.ShouldBe(HttpStatusCode.Created);
        (await leader.PostAsJsonAsync($"{c}/meetings/{meeting}/close", new { })).StatusCode.ShouldBe(HttpStatusCode.OK);
        await (await leader.PutAsJsonAsync($"{c}/meetings/{meeting}/attendance/{bram}", new { status = "substitute", substitute = new { name = $"Late sub {Marker}", profession = "Baker" } }))
            .ShouldBeProblemAsync(HttpStatusCode.Conflict);
        await (await scenario.As(anna).PostAsJsonAsync($"{c}/one-to-ones", new { memberA = anna, memberB = anna, date = day, note = $"Coffee {Marker}" }))
            .ShouldBeProblemAsync(HttpStatusCode.UnprocessableEntity);
        await api.WaitForProjectionsAsync();

        var lines = api.Logs.Lines.Skip(linesBefore).ToList();
        lines.Where(l => l.Contains(Marker)).ShouldBeEmpty();
        // A refusal is the caller's 4xx, not the service's trouble: nothing of it is logged above Information.
        lines.Where(l => l.StartsWith("Warning") || l.StartsWith("Error") || l.StartsWith("Critical")).ShouldBeEmpty();
    }

    private static object Give(Guid giver, Guid receiver, Guid referralId, string need) => new
    {
        referralId,
        giverId = giver,
        receiverId = receiver,
        prospect = new { name = $"Prospect {Marker}", email = "prospect@example.se", phone = "+46 70 000 00 00", company = $"Company {Marker}", consent = true },
        need,
        temperature = "warm",
        language = "sv",
    };
}
