using Chapter.Api.Infrastructure;
using Microsoft.AspNetCore.Http.HttpResults;
using Npgsql;

namespace Chapter.Api.Admin;

/// <param name="Name">As configured: <c>main</c> with one database, else the name under <c>Chapter:Databases</c>.</param>
/// <param name="Answers">Whether the database answered now; when it does not, its chapters get 503 and the figures are null.</param>
/// <param name="Chapters">Chapters created in it.</param>
/// <param name="LastSequence">Its event log's highest sequence number: each database numbers its own events.</param>
/// <param name="Full">Marked full: no new chapter is placed in it.</param>
/// <param name="ProjectionLagEvents">Events of it the activity projection has not applied yet.</param>
public sealed record DatabaseStatus(string Name, bool Answers, long? Chapters, long? LastSequence, bool Full, long? ProjectionLagEvents,
    double? ProjectionLagSeconds);

public sealed record DatabaseList(IReadOnlyList<DatabaseStatus> Items);

public static class DatabaseAdminEndpoints
{
    public static RouteGroupBuilder MapDatabaseAdmin(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/api/admin/databases").WithTags("Admin").RequireAuthorization(Access.Policies.Operator);

        group.MapGet("/", ListAsync)
            .WithName("ListDatabases")
            .WithSummary("The databases chapters live in: their chapters, events, projection lag, and whether they answer (the operator)");

        group.MapPost("/{name}/full", MarkFullAsync)
            .WithName("MarkDatabaseFull")
            .WithSummary("Place no new chapter in this database; its chapters stay and keep working (the operator)")
            .ProducesProblem(StatusCodes.Status404NotFound);

        return group;
    }

    private static async Task<Ok<DatabaseList>> ListAsync(ChapterDatabases databases, AsyncProjections projections, CancellationToken ct)
    {
        var statuses = new List<DatabaseStatus>();
        foreach (var (database, full) in await databases.PoolAsync(ct))
        {
            try
            {
                await using var batch = database.CreateBatch();
                batch.BatchCommands.Add(new NpgsqlBatchCommand("SELECT count(*) FROM chapter_view"));
                batch.BatchCommands.Add(new NpgsqlBatchCommand("SELECT coalesce(max(seq_id), 0) FROM mt_events"));
                long chapters, lastSequence;
                await using (var reader = await batch.ExecuteReaderAsync(ct))
                {
                    await reader.ReadAsync(ct);
                    chapters = reader.GetInt64(0);
                    await reader.NextResultAsync(ct);
                    await reader.ReadAsync(ct);
                    lastSequence = reader.GetInt64(0);
                }
                var projection = (await projections.GetStatusAsync(database, ct, countEvents: false)).FirstOrDefault();
                statuses.Add(new DatabaseStatus(database.Name, true, chapters, lastSequence, full, projection?.LagEvents, projection?.LagSeconds));
            }
            catch (Exception e) when (e is NpgsqlException or TimeoutException)
            {
                statuses.Add(new DatabaseStatus(database.Name, false, null, null, full, null, null));
            }
        }
        return TypedResults.Ok(new DatabaseList(statuses));
    }

    private static async Task<Results<NoContent, ProblemHttpResult>> MarkFullAsync(string name, ChapterDatabases databases, ILogger<DatabaseList> logger,
        CancellationToken ct)
    {
        if (!await databases.MarkFullAsync(name, ct))
            return Problems.NotFound(databases.AreSeveral
                ? $"No database is named '{name}'."
                : $"This service has one database: there is no other to place chapters in, so it cannot be marked full.");
        logger.LogInformation("Database {Database} marked full: no new chapter is placed in it", name);
        return TypedResults.NoContent();
    }
}
