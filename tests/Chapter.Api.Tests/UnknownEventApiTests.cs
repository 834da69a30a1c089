using Chapter.Testing;
using System.Text.Json.Nodes;

namespace Chapter.Api.Tests;

/// <summary>An event of a type this version does not know, as a newer version deployed beside it would write.</summary>
public sealed class UnknownEventApiTests(ApiFixture api) : IClassFixture<ApiFixture>
{
    [Fact]
    public async Task An_event_type_no_code_knows_is_skipped_and_counted_while_the_projection_goes_on()
    {
        var scenario = await new Scenario(api).WithChapterAsync();
        await RawEvents.InsertAsync(api.ConnectionString, "future-1", scenario.ChapterId, "chapter.renamed.v1", "{\"x\":1}",
            "Chapter.Domain.Chapters.ChapterRenamed, Chapter.Domain");
        await scenario.AddMemberAsync("Anna");
        await api.WaitForProjectionsAsync();

        var status = (await (await scenario.Operator.GetAsync("/api/admin/projections")).ReadJsonAsync())["items"]!.AsArray().Single()!;
        status["state"]!.GetValue<string>().ShouldBe("running");
        status["skippedUnknownEvents"]!.GetValue<long>().ShouldBe(1);
        (await api.ScalarAsync("SELECT count(*) FROM proj_activity.members WHERE chapter_id = $1", scenario.ChapterId)).ShouldBe(1);
    }
}
