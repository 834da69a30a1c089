using Chapter.Api.Infrastructure;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Chapter.Api.Admin;

public sealed record ProjectionList(IReadOnlyList<ProjectionStatus> Items);

public static class ProjectionAdminEndpoints
{
    public static RouteGroupBuilder MapProjectionAdmin(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/api/admin/projections").WithTags("Admin").ProducesProblem(StatusCodes.Status404NotFound)
            .RequireAuthorization(Access.Policies.Operator);

        group.MapGet("/", async (AsyncProjections projections, CancellationToken ct) => TypedResults.Ok(new ProjectionList(await projections.GetStatusAsync(ct))))
            .WithName("ListProjections")
            .WithSummary("Status of every async projection")
            .WithDescription(
                "position: highest event sequence applied; lagEvents and lagSeconds: committed events not applied yet and the age of the oldest; " +
                "state: running | failed (stopped at the event errorSequence) | rebuilding (rebuildPosition: how far the copy has got; rebuildError: why it stopped); " +
                "heldBackBy: an open transaction that keeps newer events from being applied. " +
                "One line per database (database: its name; each has its own log and projection); state unavailable when it does not answer; " +
                "leader: this node, when it runs that database's projection.");

        group.MapPost("/{name}/rebuild", RebuildAsync)
            .WithName("RebuildProjection")
            .WithSummary("Rebuild a projection from the first event, beside the live one, then swap")
            .WithDescription(
                "Reads keep being served from the live tables until the rebuilt ones are level with them and take their place. " +
                "Also restarts a projection stopped at a poison event, once the code is fixed. Asked again while one is under way, nothing changes. " +
                "409 when the log holds an event of a type this version does not know (the copy would leave it out), or when no node runs the projection. " +
                "With several databases, each has its projection: '?database=' names the one to rebuild.")
            .ProducesProblem(StatusCodes.Status409Conflict);

        group.MapDelete("/{name}/rebuild", CancelRebuildAsync)
            .WithName("CancelProjectionRebuild")
            .WithSummary("Cancel a rebuild under way")
            .WithDescription("The live tables go on from where they were, and the half-built copy is dropped. 409 when no rebuild is under way. " +
                "With several databases, '?database=' names the one.")
            .ProducesProblem(StatusCodes.Status409Conflict);

        return group;
    }

    private static Task<Results<Accepted<ProjectionStatus>, ValidationProblem, ProblemHttpResult>> CancelRebuildAsync(string name, string? database,
        AsyncProjections projections, ChapterDatabases databases, CancellationToken ct) =>
        ActAsync(name, database, projections, databases, projections.CancelRebuildAsync, ct);

    private static Task<Results<Accepted<ProjectionStatus>, ValidationProblem, ProblemHttpResult>> RebuildAsync(string name, string? database,
        AsyncProjections projections, ChapterDatabases databases, CancellationToken ct) =>
        ActAsync(name, database, projections, databases, projections.RebuildAsync, ct);

    /// <summary>Each database has its projection: with several, <c>?database=</c> names the one meant.</summary>
    private static async Task<Results<Accepted<ProjectionStatus>, ValidationProblem, ProblemHttpResult>> ActAsync(string name, string? database,
        AsyncProjections projections, ChapterDatabases databases, Func<ChapterDatabase, CancellationToken, Task<RebuildRefusal?>> act, CancellationToken ct)
    {
        if (!AsyncProjections.Names.Contains(name))
            return Problems.NotFound($"No projection named '{name}'.");
        if (databases.AreSeveral && string.IsNullOrWhiteSpace(database))
        {
            var check = new Validation();
            check.Add("database", "Each database has its own projection: name one, '?database=…' (GET /api/admin/databases lists them).");
            return (ValidationProblem)check.Problem();
        }
        var target = (await databases.AllAsync()).FirstOrDefault(d => database is null || d.Name == database);
        if (target is null)
            return Problems.NotFound("database", $"No database is named '{database}'.");
        if (await act(target, ct) is { } refusal)
            return Problems.Conflict(refusal.Detail);
        var status = (await projections.GetStatusAsync(target, ct)).Single(s => s.Name == name);
        return TypedResults.Accepted("/api/admin/projections", status);
    }
}
