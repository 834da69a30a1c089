using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;

namespace Chapter.Api.Tests;

/// <summary>The weekly meeting from a leader's phone: open it, mark each member (PALMS), correct, close.</summary>
public sealed class MeetingApiTests(ApiFixture api) : IClassFixture<ApiFixture>
{
    private static JsonNode Row(JsonObject meeting, Guid member) => meeting["attendance"]!.AsArray().Single(a => a!["memberId"]!.GetValue<Guid>() == member)!;

    [Fact]
    public async Task A_leader_opens_the_meeting_marks_every_member_corrects_one_and_closes_it()
    {
        var scenario = await new Scenario(api).WithChapterAsync();
        var lea = await scenario.AddLeaderAsync("Lea");
        var leader = scenario.As(lea);
        var (anna, bram, cleo) = (await scenario.AddMemberAsync("Anna"), await scenario.AddMemberAsync("Bram"), await scenario.AddMemberAsync("Cleo"));
        var meetings = $"/api/chapters/{scenario.ChapterId}/meetings";
        var day = DateOnly.FromDateTime(DateTime.UtcNow).AddDays(-1);

        var opened = await leader.PostAsJsonAsync(meetings, new { date = day });
        opened.StatusCode.ShouldBe(HttpStatusCode.Created);
        var meeting = await opened.ReadJsonAsync();
        var id = meeting["id"]!.GetValue<Guid>();
        meeting["status"]!.GetValue<string>().ShouldBe("open");
        meeting["attendance"]!.AsArray().Count.ShouldBe(4, "every active member, the leader too");
        meeting["attendance"]!.AsArray().ShouldAllBe(a => a!["status"] == null);
        meeting["counts"]!["unmarked"]!.GetValue<int>().ShouldBe(4);
        await (await leader.PostAsJsonAsync(meetings, new { date = day })).ShouldBeProblemAsync(HttpStatusCode.Conflict);

        var attendance = $"{meetings}/{id}/attendance";
        (await leader.PutAsJsonAsync($"{attendance}/{anna}", new { status = "present" })).StatusCode.ShouldBe(HttpStatusCode.OK);
        (await leader.PutAsJsonAsync($"{attendance}/{lea}", new { status = "present" })).StatusCode.ShouldBe(HttpStatusCode.OK);
        (await leader.PutAsJsonAsync($"{attendance}/{bram}", new { status = "medical" })).StatusCode.ShouldBe(HttpStatusCode.OK);
        var withSubstitute = await (await leader.PutAsJsonAsync($"{attendance}/{cleo}",
            new { status = "substitute", substitute = new { name = "Dora Holm", profession = "Baker" } })).ReadJsonAsync();
        Row(withSubstitute, cleo)["substitute"]!["name"]!.GetValue<string>().ShouldBe("Dora Holm");

        // The same mark again changes nothing; another is a correction.
        var events = await api.ScalarAsync("SELECT count(*) FROM mt_events WHERE stream_id = $1", $"meeting-{id}");
        (await leader.PutAsJsonAsync($"{attendance}/{anna}", new { status = "present" })).StatusCode.ShouldBe(HttpStatusCode.OK);
        (await api.ScalarAsync("SELECT count(*) FROM mt_events WHERE stream_id = $1", $"meeting-{id}")).ShouldBe(events);
        var corrected = await (await leader.PutAsJsonAsync($"{attendance}/{anna}", new { status = "late" })).ReadJsonAsync();
        Row(corrected, anna)["status"]!.GetValue<string>().ShouldBe("late");
        Row(corrected, anna)["corrections"]!.GetValue<int>().ShouldBe(1);
        corrected["counts"]!.ToJsonString().ShouldBe("""{"present":1,"absent":0,"late":1,"medical":1,"substitute":1,"unmarked":0}""");

        // A substitute's name is a non-member's personal data: sealed in the log and the view, shown to leaders only.
        (await api.ScalarAsync("SELECT count(*) FROM mt_events WHERE data::text LIKE '%Dora%'")).ShouldBe(0);
        (await api.ScalarAsync("SELECT count(*) FROM meeting_attendance WHERE substitute_sealed LIKE '%Dora%'")).ShouldBe(0);
        var asMember = await (await scenario.As(anna).GetAsync($"{meetings}/{id}")).ReadJsonAsync();
        Row(asMember, cleo)["substitute"]!["name"].ShouldBeNull();
        Row(asMember, cleo)["substitute"]!["profession"]!.GetValue<string>().ShouldBe("Baker");
        await api.WaitForProjectionsAsync(); // the feed reads up to the high-water mark
        var feed = await (await leader.GetAsync($"/api/chapters/{scenario.ChapterId}/events?limit=1000")).Content.ReadAsStringAsync();
        feed.ShouldContain("meeting.attendance-marked.v1");
        feed.ShouldNotContain("sealedSubstitute");

        var closed = await (await leader.PostAsync($"{meetings}/{id}/close", null)).ReadJsonAsync();
        closed["status"]!.GetValue<string>().ShouldBe("closed");
        await (await leader.PutAsJsonAsync($"{attendance}/{bram}", new { status = "present" })).ShouldBeProblemAsync(HttpStatusCode.Conflict);
        (await leader.PostAsync($"{meetings}/{id}/close", null)).StatusCode.ShouldBe(HttpStatusCode.OK);

        // Erased for good: the key is destroyed, and every read says so.
        (await leader.DeleteAsync($"{attendance}/{cleo}/substitute")).StatusCode.ShouldBe(HttpStatusCode.NoContent);
        Row(await (await leader.GetAsync($"{meetings}/{id}")).ReadJsonAsync(), cleo)["substitute"]!["name"]!.GetValue<string>().ShouldBe("erased");

        var listed = await (await leader.GetAsync($"{meetings}?from={day:yyyy-MM-dd}&to={day:yyyy-MM-dd}")).ReadJsonAsync();
        listed["items"]!.AsArray().Single()!["id"]!.GetValue<Guid>().ShouldBe(id);
        (await (await leader.GetAsync($"{meetings}?to={day.AddDays(-1):yyyy-MM-dd}")).ReadJsonAsync())["items"]!.AsArray().ShouldBeEmpty();
    }

    [Fact]
    public async Task Bad_marks_are_refused_naming_the_field_and_change_nothing()
    {
        var scenario = await new Scenario(api).WithChapterAsync();
        var leader = scenario.As(await scenario.AddLeaderAsync("Lea"));
        var (anna, bram) = (await scenario.AddMemberAsync("Anna"), await scenario.AddMemberAsync("Bram"));
        var meetings = $"/api/chapters/{scenario.ChapterId}/meetings";
        await (await leader.PostAsJsonAsync(meetings, new { })).ShouldBeProblemNamingAsync(HttpStatusCode.BadRequest, "date");
        await (await leader.PostAsJsonAsync(meetings, new { date = DateOnly.FromDateTime(DateTime.UtcNow).AddDays(30) }))
            .ShouldBeProblemNamingAsync(HttpStatusCode.UnprocessableEntity, "date");
        var id = (await (await leader.PostAsJsonAsync(meetings, new { date = DateOnly.FromDateTime(DateTime.UtcNow) })).ReadJsonAsync())["id"]!.GetValue<Guid>();
        var attendance = $"{meetings}/{id}/attendance";
        (await scenario.Operator.PostAsync($"/api/chapters/{scenario.ChapterId}/members/{bram}/leave", null)).StatusCode.ShouldBe(HttpStatusCode.OK);

        await (await leader.PutAsJsonAsync($"{attendance}/{anna}", new { status = "asleep" })).ShouldBeProblemNamingAsync(HttpStatusCode.BadRequest, "status");
        await (await leader.PutAsJsonAsync($"{attendance}/{anna}", new { status = "substitute" }))
            .ShouldBeProblemNamingAsync(HttpStatusCode.UnprocessableEntity, "substitute.name");
        await (await leader.PutAsJsonAsync($"{attendance}/{anna}", new { status = "present", substitute = new { name = "Dora" } }))
            .ShouldBeProblemNamingAsync(HttpStatusCode.UnprocessableEntity, "substitute");
        await (await leader.PutAsJsonAsync($"{attendance}/{bram}", new { status = "present" }))
            .ShouldBeProblemNamingAsync(HttpStatusCode.UnprocessableEntity, "memberId");
        await (await leader.PutAsJsonAsync($"{attendance}/{Guid.NewGuid()}", new { status = "present" }))
            .ShouldBeProblemNamingAsync(HttpStatusCode.NotFound, "memberId");
        await (await leader.PutAsJsonAsync($"{meetings}/{Guid.NewGuid()}/attendance/{anna}", new { status = "present" }))
            .ShouldBeProblemAsync(HttpStatusCode.NotFound);

        var meeting = await (await leader.GetAsync($"{meetings}/{id}")).ReadJsonAsync();
        meeting["counts"]!["unmarked"]!.GetValue<int>().ShouldBe(2, "Lea and Anna; Bram left and was never marked");
        (await api.ScalarAsync("SELECT count(*) FROM mt_events WHERE stream_id = $1", $"meeting-{id}")).ShouldBe(1);
    }

    [Fact]
    public async Task The_weekly_report_counts_the_meetings_marks_and_a_month_comes_as_CSV_one_row_per_member_and_meeting()
    {
        var scenario = await new Scenario(api).WithChapterAsync();
        var leader = scenario.As(await scenario.AddLeaderAsync("Lea"));
        var (anna, bram) = (await scenario.AddMemberAsync("Anna"), await scenario.AddMemberAsync("Bram, Jr."));
        var c = $"/api/chapters/{scenario.ChapterId}";
        var day = DateOnly.FromDateTime(DateTime.UtcNow).AddDays(-7);
        var id = (await (await leader.PostAsJsonAsync($"{c}/meetings", new { date = day })).ReadJsonAsync())["id"]!.GetValue<Guid>();
        (await leader.PutAsJsonAsync($"{c}/meetings/{id}/attendance/{anna}", new { status = "present" })).StatusCode.ShouldBe(HttpStatusCode.OK);
        (await leader.PutAsJsonAsync($"{c}/meetings/{id}/attendance/{bram}", new { status = "absent" })).StatusCode.ShouldBe(HttpStatusCode.OK);
        await api.WaitForProjectionsAsync();

        var week = System.Globalization.ISOWeek.GetYear(day.ToDateTime(TimeOnly.MinValue)) + "-W" + System.Globalization.ISOWeek.GetWeekOfYear(day.ToDateTime(TimeOnly.MinValue)).ToString("00");
        var report = await (await leader.GetAsync($"{c}/reports/weekly/{week}")).ReadJsonAsync();
        report["attendance"]!["meetings"]!.GetValue<int>().ShouldBe(1);
        report["attendance"]!["present"]!.GetValue<int>().ShouldBe(1);
        report["attendance"]!["absent"]!.GetValue<int>().ShouldBe(1);
        report["attendance"]!["shareLast12Weeks"]!.GetValue<double>().ShouldBe(0.5);

        var csv = await leader.GetAsync($"{c}/meetings/attendance.csv?month={day:yyyy-MM}");
        csv.Content.Headers.ContentType!.MediaType.ShouldBe("text/csv");
        var lines = (await csv.Content.ReadAsStringAsync()).Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
        lines[0].ShouldBe("date,meetingId,memberId,name,status,corrections");
        lines.Length.ShouldBe(4, "Lea, Anna and Bram at the one meeting");
        lines.ShouldContain($"{day:yyyy-MM-dd},{id},{bram},\"Bram, Jr.\",absent,0");
        lines.ShouldContain($"{day:yyyy-MM-dd},{id},{anna},Anna,present,0");
        await (await leader.GetAsync($"{c}/meetings/attendance.csv?month=2026-13")).ShouldBeProblemNamingAsync(HttpStatusCode.BadRequest, "month");
        (await scenario.As(anna).GetAsync($"{c}/meetings/attendance.csv?month={day:yyyy-MM}")).StatusCode.ShouldBe(HttpStatusCode.Forbidden);
    }
}
