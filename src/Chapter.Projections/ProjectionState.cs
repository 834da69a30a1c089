using Marten;

namespace Chapter.Projections;

/// <summary>
/// An async projection stopped at a poison event stays stopped (nothing after the event is applied) until it is
/// rebuilt: Marten's daemon would otherwise restart a failing raw projection every few seconds and fail again.
/// </summary>
public static class ProjectionState
{
    public static async Task<bool> IsStoppedAsync(IQuerySession session, string projection, CancellationToken ct) =>
        (await session.AdvancedSql.QueryAsync<long>(
            "SELECT failed_seq FROM public.projection_state WHERE name = ? AND failed_seq IS NOT NULL", ct, projection)).Count > 0;

    /// <summary>Queued with the batch, so the record of the poison commits with the events applied before it.</summary>
    public static void Stop(IDocumentOperations operations, string projection, long sequence, string error) =>
        operations.Sql(
            """
            INSERT INTO public.projection_state (name, failed_seq, error) VALUES ($1, $2, $3)
            ON CONFLICT (name) DO UPDATE SET failed_seq = $2, error = $3, updated_at = now()
            """, projection, sequence, error);
}
