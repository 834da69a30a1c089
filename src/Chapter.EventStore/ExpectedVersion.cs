namespace Chapter.EventStore;

/// <summary>What the appender believes the stream's version is before its events are added.</summary>
public readonly record struct ExpectedVersion
{
    private const long AnyValue = -1;

    private ExpectedVersion(long value) => Value = value;

    /// <summary>-1 for any, 0 for a new stream, otherwise the exact version.</summary>
    public long Value { get; }

    /// <summary>Append whatever the stream's version; creates the stream when missing.</summary>
    public static ExpectedVersion Any { get; } = new(AnyValue);

    /// <summary>The stream must not exist yet.</summary>
    public static ExpectedVersion NoStream { get; } = new(0);

    public static ExpectedVersion Exactly(long version) =>
        version >= 0 ? new(version) : throw new ArgumentOutOfRangeException(nameof(version), version, "A stream version is 0 or more.");

    public bool IsAny => Value == AnyValue;

    public override string ToString() => IsAny ? "any" : Value == 0 ? "no stream" : Value.ToString();
}
