using Npgsql;

namespace Chapter.EventStore;

/// <summary>
/// A read model updated in the same transaction as the append, so whoever appended reads their own
/// write at once; if it throws, the append rolls back with it.
/// </summary>
public interface IInlineProjection
{
    /// <summary>Adds this projection's statements for the events to a batch run inside the append transaction.</summary>
    void Apply(IReadOnlyList<RecordedEvent> events, NpgsqlBatch batch);
}
