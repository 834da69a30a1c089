namespace Chapter.EventStore;

/// <summary>The stream's version was not the one the appender expected: someone else appended first.</summary>
public sealed class ConcurrencyException(string streamId, ExpectedVersion expected, long actual)
    : Exception($"Stream '{streamId}' is at version {actual}, not at the expected {expected}.")
{
    public string StreamId { get; } = streamId;
    public ExpectedVersion Expected { get; } = expected;
    public long ActualVersion { get; } = actual;
}

/// <summary>A new stream was started with an id that is already taken.</summary>
public sealed class StreamAlreadyExistsException(string streamId)
    : Exception($"Stream '{streamId}' already exists.")
{
    public string StreamId { get; } = streamId;
}
