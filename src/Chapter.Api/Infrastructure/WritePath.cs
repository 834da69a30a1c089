using JasperFx;

using Marten;
using Marten.Exceptions;

namespace Chapter.Api.Infrastructure;

/// <summary>
/// The one way commands change state: read the stream, fold it with Evolve, Decide, and append the new events
/// expecting the version that was read. Marten runs the inline projections in the same transaction.
/// </summary>
public sealed class WritePath(IDocumentStore store)
{
    private const int Attempts = 3;

    /// <returns>The stream's version afterwards, and whether anything was appended (false: the command was a repeat).</returns>
    public async Task<(long Version, bool Appended)> DecideAsync<TState, TEvent>(
        string streamId,
        string chapterId,
        TState initial,
        Func<TState, TEvent, TState> evolve,
        Func<TState, IReadOnlyList<TEvent>> decide,
        EventMetadata metadata,
        CancellationToken cancellationToken) where TEvent : notnull
    {
        for (var attempt = 1; ; attempt++)
        {
            await using var session = store.LightweightSession(chapterId);
            session.CorrelationId = metadata.CorrelationId;
            session.CausationId = metadata.CausationId;
            session.LastModifiedBy = metadata.ActorId;

            var stream = await session.Events.FetchStreamAsync(streamId, token: cancellationToken);
            var state = stream.Select(e => (TEvent)e.Data).Aggregate(initial, evolve);
            var version = stream.Count == 0 ? 0 : stream[^1].Version;
            var events = decide(state);
            if (events.Count == 0)
                return (version, false);

            try
            {
                if (version == 0)
                    session.Events.StartStream(streamId, events.Cast<object>().ToArray());
                else
                    session.Events.Append(streamId, version + events.Count, events.Cast<object>().ToArray());
                await session.SaveChangesAsync(cancellationToken);
                return (version + events.Count, true);
            }
            catch (Exception e) when (IsConcurrencyConflict(e) && attempt < Attempts)
            {
                // Someone appended between our read and our write: decide again on what they wrote,
                // so a retried request meets the decider's idempotency rules rather than a bare 409.
            }
        }
    }

    /// <summary>Marten's ways of saying that another writer got there first.</summary>
    public static bool IsConcurrencyConflict(Exception e) =>
        e is ConcurrencyException or JasperFx.Events.EventStreamUnexpectedMaxEventIdException
            or ExistingStreamIdCollisionException or JasperFx.Events.ExistingStreamIdCollisionException;
}
