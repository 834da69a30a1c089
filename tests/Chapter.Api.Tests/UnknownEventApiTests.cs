using System.Text.Json.Nodes;
using Npgsql;

namespace Chapter.Api.Tests;

/// <summary>An event of a type this version does not know, as a newer version deployed beside it would write.</summary>
public sealed class UnknownEventApiTests(ApiFixture api) : IClassFixture<ApiFixture>
{
    [Fact]
    public async Task An_event_type_no_code_knows_is_skipped_and_counted_while_the_projection_goes_on()
    {
        var scenario = await new Scenario(api).WithChapterAsync();
        await using (var connection = new NpgsqlConnection(api.ConnectionString))
        {
            await connection.OpenAsync();
            await using var stream = new NpgsqlCommand("INSERT INTO mt_streams (id, version, tenant_id) VALUES ('future-1', 1, $1)", connection);
            stream.Parameters.Add(new NpgsqlParameter { Value = scenario.ChapterId });
            await stream.ExecuteNonQueryAsync();
            await using var future = new NpgsqlCommand(
                """
                INSERT INTO mt_events (seq_id, id, stream_id, version, data, type, tenant_id, timestamp, mt_dotnet_type)
                VALUES (nextval('mt_events_sequence'), gen_random_uuid(), 'future-1', 1, '{"x":1}', 'chapter.renamed.v1', $1, now(),
                        'Chapter.Domain.Chapters.ChapterRenamed, Chapter.Domain')
                """, connection);
            future.Parameters.Add(new NpgsqlParameter { Value = scenario.ChapterId });
            await future.ExecuteNonQueryAsync();
        }
        await scenario.AddMemberAsync("Anna");
        await api.WaitForProjectionsAsync();

        var status = (await (await scenario.Operator.GetAsync("/api/admin/projections")).ReadJsonAsync())["items"]!.AsArray().Single()!;
        status["state"]!.GetValue<string>().ShouldBe("running");
        status["skippedUnknownEvents"]!.GetValue<long>().ShouldBe(1);
        (await api.ScalarAsync("SELECT count(*) FROM proj_activity.members WHERE chapter_id = $1", scenario.ChapterId)).ShouldBe(1);
    }
}
