using Npgsql;

namespace Chapter.EventStore.Daemon;

/// <summary>
/// A read model kept up to date by the <see cref="ProjectionDaemon"/>, behind the event log. Its tables live
/// in a schema of their own (<c>proj_{Name}</c>), so a rebuild can fill a second copy and swap it in.
/// </summary>
public interface IAsyncProjection
{
    /// <summary>Lowercase letters, digits and underscores; names the schema and the checkpoint.</summary>
    string Name { get; }

    /// <summary>The tables' DDL with unqualified names: run with the search path set to the target schema.</summary>
    string SchemaSql { get; }

    /// <summary>
    /// Applies a batch inside the daemon's transaction (the search path points at the target schema;
    /// use unqualified table names). The checkpoint is written in the same transaction.
    /// </summary>
    Task ApplyAsync(NpgsqlConnection connection, IReadOnlyList<RecordedEvent> events, CancellationToken cancellationToken);

    /// <summary>
    /// Whether <see cref="RecordedEvent.Metadata"/> is read for this projection. Off by default: neither reading
    /// nor decoding it is free at a million events, and a projection of facts rarely needs who did what.
    /// </summary>
    bool ReadsMetadata => false;
}
