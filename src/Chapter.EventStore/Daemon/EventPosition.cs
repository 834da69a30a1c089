namespace Chapter.EventStore.Daemon;

/// <summary>
/// Where the daemon stands in the log: the appending transaction's id, then the sequence number.
/// Events are applied in this order because sequence numbers are taken before commit and so become
/// visible out of order, while a transaction id below the oldest running one can receive no more events.
/// </summary>
public readonly record struct EventPosition(ulong TransactionId, long Sequence) : IComparable<EventPosition>
{
    public static EventPosition Start { get; } = new(0, 0);

    public int CompareTo(EventPosition other) =>
        TransactionId != other.TransactionId ? TransactionId.CompareTo(other.TransactionId) : Sequence.CompareTo(other.Sequence);
}

public sealed record PositionedEvent(RecordedEvent Event, EventPosition Position);
