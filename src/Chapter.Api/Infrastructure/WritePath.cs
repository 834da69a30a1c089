using Chapter.EventStore;

namespace Chapter.Api.Infrastructure;

/// <summary>
/// The one way commands change state: read the stream, fold it with Evolve, Decide, and append the
/// new events at the version that was read (inline projections run in the same transaction).
/// </summary>
public sealed class WritePath(EventStore.EventStore store)
{
    private const int Attempts = 3;

    /// <returns>The stream's version afterwards, and whether anything was appended (false: the command was a repeat).</returns>
    public async Task<(long Version, bool Appended)> DecideAsync<TState, TEvent>(
        string streamId,
        string streamType,
        string chapterId,
        TState initial,
        Func<TState, TEvent, TState> evolve,
        Func<TState, IReadOnlyList<TEvent>> decide,
        EventMetadata metadata,
        CancellationToken cancellationToken) where TEvent : notnull
    {
        for (var attempt = 1; ; attempt++)
        {
            var stream = await store.ReadStreamAsync(streamId, cancellationToken);
            var state = stream.Events.Select(e => (TEvent)e.Data).Aggregate(initial, evolve);
            var events = decide(state);
            if (events.Count == 0)
                return (stream.Version, false);

            try
            {
                var append = new StreamAppend(streamId, streamType, chapterId, ExpectedVersion.Exactly(stream.Version), events.Cast<object>().ToList());
                var result = await store.AppendAsync(append, metadata, cancellationToken);
                return (result.StreamVersions[streamId], true);
            }
            catch (Exception e) when (e is ConcurrencyException or StreamAlreadyExistsException && attempt < Attempts)
            {
                // Someone appended between our read and our write: decide again on what they wrote,
                // so a retried request meets the decider's idempotency rules rather than a bare 409.
            }
        }
    }
}
