namespace Chapter.EventStore;

/// <summary>Who and what caused an event; stored beside it, never inside the payload.</summary>
public sealed record EventMetadata(string? CorrelationId = null, string? CausationId = null, string? ActorId = null)
{
    public static EventMetadata None { get; } = new();
}

/// <summary>The events to add to one stream, and what its version must be beforehand.</summary>
public sealed record StreamAppend(string StreamId, string StreamType, string TenantId, ExpectedVersion ExpectedVersion, IReadOnlyList<object> Events);

/// <summary>An event as stored: its global position, its place in its stream, and its payload.</summary>
public sealed record RecordedEvent(
    long Sequence,
    string StreamId,
    long Version,
    string TypeName,
    object Data,
    EventMetadata Metadata,
    string TenantId,
    DateTimeOffset Timestamp);

public sealed record StreamEvents(string StreamId, long Version, IReadOnlyList<RecordedEvent> Events)
{
    public bool Exists => Version > 0;
}

public sealed record AppendResult(IReadOnlyList<RecordedEvent> Events)
{
    /// <summary>The version each appended stream reached.</summary>
    public IReadOnlyDictionary<string, long> StreamVersions { get; } =
        Events.GroupBy(e => e.StreamId).ToDictionary(g => g.Key, g => g.Max(e => e.Version));

    public long LastSequence => Events.Count == 0 ? 0 : Events.Max(e => e.Sequence);
}
