using Chapter.Projections.Activity;
using Npgsql;
using Wolverine.Runtime;
using Wolverine.Runtime.Agents;

namespace Chapter.Api.Infrastructure;

public static class ProjectionAgentCommands
{
    /// <summary>
    /// Lets the node that runs the agent read the command off its control queue: Wolverine reads a message by its type's
    /// name among the types it knows, and registers its own agent commands so; ours has no handler that would make it known.
    /// </summary>
    public static void AcceptProjectionAgentCommands(this WebApplication app) =>
        ((WolverineRuntime)app.Services.GetRequiredService<IWolverineRuntime>()).Handlers.RegisterMessageType(typeof(ActivityAgentCommand));
}

/// <summary>
/// A rebuild of the activity projection, or its cancellation, carried out on the node whose Wolverine agent runs the
/// projection: only there does Marten's daemon hold the projection's agent, which <see cref="IEventSubscriptionAgent.RewindAsync"/>
/// rewinds (stopped, its progression set, started again, all by Marten).
/// </summary>
/// <remarks>
/// A rebuild makes an empty copy at position 0, then rewinds the agent to 0: from that page on the copy's position is the
/// page's floor, so the pages go to it (<see cref="ActivityProjection"/>), and it takes the live tables' place once level with
/// them. A cancellation rewinds the agent to the live tables' position first, then drops the copy. Between the two steps of
/// either, the pages still go to the tables whose position they start from; a node that dies in between leaves a state the
/// daemon goes on from, and asking for the same again finishes it.
/// </remarks>
/// <param name="Database">With several databases, the one whose projection is meant (its configured name).</param>
/// <param name="MartenDatabase">Marten's id of that database, as Wolverine's agent URI carries it.</param>
public sealed record ActivityAgentCommand(string Action, long RebuildUntil = 0, string? Database = null, string? MartenDatabase = null) : IAgentCommand
{
    public const string Rebuild = "rebuild";
    public const string Cancel = "cancel";

    public async Task<AgentCommands> ExecuteAsync(IWolverineRuntime runtime, CancellationToken cancellationToken)
    {
        if (AgentUri(runtime.Agents.AllRunningAgentUris(), MartenDatabase) is not { } uri
            || !runtime.Agents.TryFindActiveAgent<IEventSubscriptionAgent>(uri, out var agent))
            throw new InvalidOperationException($"The {ActivityProjection.ProjectionName} projection's agent does not run on this node.");
        var databases = runtime.Services.GetRequiredService<ChapterDatabases>();
        var db = Database is null ? databases.Main : (await databases.AllAsync()).Single(d => d.Name == Database);
        if (Action == Rebuild)
        {
            await using (var start = db.CreateCommand(ActivityProjection.StartRebuildSql(RebuildUntil)))
                await start.ExecuteNonQueryAsync(cancellationToken);
            // A copy the daemon already fills (past 0) goes on; an empty one (just made, or made by a node that died before
            // this step) gets the daemon from the first event.
            if ((await ActivityTables.ReadAsync(db, cancellationToken)).RebuildPosition == 0)
                await agent.RewindAsync(0, null, cancellationToken);
        }
        else
        {
            var tables = await ActivityTables.ReadAsync(db, cancellationToken);
            await agent.RewindAsync(tables.LivePosition, null, cancellationToken);
            await using var end = db.CreateCommand(ActivityProjection.EndRebuildSql);
            await end.ExecuteNonQueryAsync(cancellationToken);
        }
        return AgentCommands.Empty;
    }

    /// <summary>The activity projection's agent among these (Wolverine's agent URIs end with the shard's path, activity/all).</summary>
    /// <param name="database">With several databases, Marten's id of the one whose agent is meant (a segment of the URI).</param>
    private static Uri? AgentUri(IEnumerable<Uri> agents, string? database = null) =>
        agents.FirstOrDefault(u => u.Scheme == "event-subscriptions" && u.AbsolutePath.EndsWith($"/{ActivityProjection.ProjectionName}/all", StringComparison.OrdinalIgnoreCase)
            && (database is null || u.AbsolutePath.Contains($"/{database}/", StringComparison.OrdinalIgnoreCase)));

    public static bool RunsHere(IWolverineRuntime runtime, string? database = null) => AgentUri(runtime.Agents.AllRunningAgentUris(), database) is not null;

    /// <summary>How long the agent may take to start somewhere: a dead node's agents move once it is found stale.</summary>
    private static TimeSpan AgentMoveTime(IWolverineRuntime runtime) =>
        runtime.Options.Durability.StaleNodeTimeout + runtime.Options.Durability.CheckAssignmentPeriod * 3;

    /// <summary>Why the projection's agent stopped, when it runs on this node and has.</summary>
    public static JasperFx.Events.Daemon.ShardFailure? LocalFailure(IWolverineRuntime runtime, string? database = null) =>
        AgentUri(runtime.Agents.AllRunningAgentUris(), database) is { } uri && runtime.Agents.TryFindActiveAgent<IEventSubscriptionAgent>(uri, out var agent)
            ? agent.Failure
            : null;

    /// <summary>
    /// Runs the command here when the agent runs here, and otherwise on the node Wolverine's records say runs it. Just after
    /// a start, or while the agent moves to another node, no node runs it for a few seconds: the command waits that long.
    /// </summary>
    public static async Task<RebuildRefusal?> SendAsync(IWolverineRuntime runtime, ActivityAgentCommand command, CancellationToken ct)
    {
        var until = DateTime.UtcNow + AgentMoveTime(runtime);
        try
        {
            while (true)
            {
                if (RunsHere(runtime, command.MartenDatabase))
                {
                    await command.ExecuteAsync(runtime, ct);
                    return null;
                }
                var node = (await runtime.Storage.Nodes.LoadAllNodesAsync(ct))
                    .FirstOrDefault(n => n.NodeId != runtime.Options.UniqueNodeId && AgentUri(n.ActiveAgents, command.MartenDatabase) is not null);
                if (node is not null)
                {
                    await runtime.Agents.InvokeAsync(new NodeDestination(node.NodeId, node.ControlUri!), command);
                    return null;
                }
                if (DateTime.UtcNow > until)
                    return new RebuildRefusal(
                        $"No node runs the {ActivityProjection.ProjectionName} projection (every node has Chapter:Daemon:Enabled=false, or none took it over within {AgentMoveTime(runtime).TotalSeconds:N0} s).");
                await Task.Delay(TimeSpan.FromMilliseconds(200), ct);
            }
        }
        // What PostgreSQL refused the node that runs the projection (a role that may not create the copy's schema): the live
        // tables go on, and the operator hears why.
        catch (PostgresException e)
        {
            return new RebuildRefusal($"PostgreSQL refused the {command.Action}: {e.MessageText}.");
        }
        catch (Wolverine.Runtime.RemoteInvocation.WolverineRequestReplyException e)
        {
            return new RebuildRefusal($"The node that runs the projection could not carry out the {command.Action}: {e.Message}");
        }
    }
}
