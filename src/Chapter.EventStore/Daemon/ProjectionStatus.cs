namespace Chapter.EventStore.Daemon;

/// <summary>What an operator needs to know about one async projection.</summary>
/// <param name="State">running, failed (stopped at a poison event), or rebuilding (running, with a rebuild under way).</param>
/// <param name="Position">The highest sequence number applied.</param>
/// <param name="LagEvents">Committed events not applied yet (counted up to 1,000,000).</param>
/// <param name="LagSeconds">Age of the oldest committed event not applied yet; 0 when caught up.</param>
/// <param name="HeldBackBy">An old open transaction that keeps committed events from being applied, if any.</param>
public sealed record ProjectionStatus(
    string Name,
    string State,
    long Position,
    long LagEvents,
    double LagSeconds,
    long AppliedEvents,
    long SkippedUnknownEvents,
    string? Error,
    long? ErrorSequence,
    string? Leader,
    bool RebuildRequested,
    string? RebuildError,
    DateTimeOffset UpdatedAt,
    BlockingTransaction? HeldBackBy);

public sealed record BlockingTransaction(int ProcessId, string? State, double AgeSeconds);

/// <summary>A projection stopped at an event it could not apply.</summary>
public sealed class ProjectionFailedException(string projection, long? sequence, string? error)
    : Exception($"Projection '{projection}' stopped at event {sequence}: {error}")
{
    public string Projection { get; } = projection;
}
