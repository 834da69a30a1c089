using System.Net;
using System.Net.Http.Json;
using Chapter.Testing;

namespace Chapter.Api.Tests;

/// <summary>
/// A give whose answer never reached the client (it gave up, or the service was stopped) is retried with the same
/// referralId and exists exactly once; a stopping service finishes what it has begun.
/// </summary>
public sealed class InterruptedWriteApiTests
{
    private static object GiveBody(Guid referralId, Guid giver, Guid receiver) => new
    {
        referralId,
        giverId = giver,
        receiverId = receiver,
        prospect = new { name = "Sara Lind", email = "sara@example.se", consent = true },
        need = "New office lease",
        temperature = "warm",
        language = "sv",
    };

    [Fact]
    public async Task A_give_the_client_gave_up_on_and_retried_exists_exactly_once()
    {
        await using var api = new ApiFixture();
        await api.StartOnAsync(await TestPostgres.CreateDatabaseAsync());
        var scenario = await new Scenario(api).WithChapterAsync();
        var (anna, bram) = (await scenario.AddMemberAsync("Anna"), await scenario.AddMemberAsync("Bram"));
        var ids = Enumerable.Range(0, 30).Select(_ => Guid.CreateVersion7()).ToList();
        var interrupted = 0;
        for (var i = 0; i < ids.Count; i++)
        {
            using var giveUp = new CancellationTokenSource(TimeSpan.FromMilliseconds(i % 10));
            try
            {
                await scenario.As(anna).PostAsJsonAsync(scenario.Referrals, GiveBody(ids[i], anna, bram), giveUp.Token);
            }
            catch (OperationCanceledException)
            {
                interrupted++;
            }
            var retried = await scenario.As(anna).PostAsJsonAsync(scenario.Referrals, GiveBody(ids[i], anna, bram));
            retried.StatusCode.ShouldBeOneOf(HttpStatusCode.Created, HttpStatusCode.OK);
        }
        interrupted.ShouldBeGreaterThan(0, "some requests must have been given up on for this test to mean anything");
        await ShouldEachBeGivenOnceAsync(api, ids);
    }

    [Fact]
    public async Task On_sigterm_the_service_finishes_the_requests_in_flight_and_a_retry_after_it_stopped_adds_nothing_twice()
    {
        var database = await TestPostgres.CreateDatabaseAsync();
        using var service = ServiceProcess.Start(database, out var address);
        await ServiceProcess.WaitUntilListeningAsync(service, address);
        using var operatorClient = ServiceProcess.Client(address, ApiFixture.OperatorToken);
        var chapterId = $"chapter-{Guid.NewGuid():N}"[..20];
        (await operatorClient.PostAsJsonAsync("/api/chapters", new { id = chapterId, name = "Lund", timeZone = "Europe/Stockholm", currency = "SEK" }))
            .StatusCode.ShouldBe(HttpStatusCode.Created);
        async Task<Guid> AddAsync(string name) => (await (await operatorClient.PostAsJsonAsync($"/api/chapters/{chapterId}/members",
            new { name, profession = "Trade", languages = new[] { "sv" } })).ReadJsonAsync())["id"]!.GetValue<Guid>();
        var (anna, bram) = (await AddAsync("Anna"), await AddAsync("Bram"));
        var token = (await (await operatorClient.PostAsJsonAsync($"/api/chapters/{chapterId}/members/{anna}/tokens", new { label = "phone" }))
            .ReadJsonAsync())["token"]!.GetValue<string>();
        using var asAnna = ServiceProcess.Client(address, token);

        var ids = Enumerable.Range(0, 60).Select(_ => Guid.CreateVersion7()).ToList();
        var answers = ids.Select(async id =>
        {
            try
            {
                return (int)(await asAnna.PostAsJsonAsync($"/api/chapters/{chapterId}/referrals", GiveBody(id, anna, bram))).StatusCode;
            }
            catch (HttpRequestException)
            {
                return 0; // refused or cut off: the client does not know, and retries
            }
        }).ToList();
        await Task.Delay(30);
        ServiceProcess.Terminate(service);
        var codes = await Task.WhenAll(answers);
        await Task.WhenAny(service.WaitForExitAsync(), Task.Delay(TimeSpan.FromSeconds(40)));
        service.HasExited.ShouldBeTrue("the service did not stop within 40 s of SIGTERM");
        service.ExitCode.ShouldBe(0);
        // Answered (201), cut off or refused (0), or told to come back (503, when PostgreSQL is short of connections): never a 500.
        codes.ShouldAllBe(code => code == 0 || code == 201 || code == 503, string.Join(", ", codes));
        codes.Count(code => code == 201).ShouldBeGreaterThan(0, "some gives must have been answered for this test to mean anything");

        await using var api = new ApiFixture();
        await api.StartOnAsync(database);
        using var retrying = api.ClientWith(token);
        foreach (var (id, code) in ids.Zip(codes))
        {
            var retried = await retrying.PostAsJsonAsync($"/api/chapters/{chapterId}/referrals", GiveBody(id, anna, bram));
            // A give answered before the stop is a repeat now (200); one whose answer was lost may or may not have been stored.
            if (code == 201)
                retried.StatusCode.ShouldBe(HttpStatusCode.OK);
            else
                retried.StatusCode.ShouldBeOneOf(HttpStatusCode.Created, HttpStatusCode.OK);
        }
        await ShouldEachBeGivenOnceAsync(api, ids);
    }

    private static async Task ShouldEachBeGivenOnceAsync(ApiFixture api, List<Guid> ids)
    {
        foreach (var id in ids)
            (await api.ScalarAsync("SELECT count(*) FROM mt_events WHERE stream_id = $1 AND type = 'referral.given.v2'", $"referral-{id}"))
                .ShouldBe(1, $"referral {id}");
    }
}
