using Marten;

namespace Chapter.Projections;

/// <summary>Where an async projection's next batch goes.</summary>
public enum ProjectionTarget
{
    /// <summary>The live tables.</summary>
    Live,
    /// <summary>The copy a rebuild is filling (Marten's checkpoint belongs to it until the swap).</summary>
    Rebuild,
    /// <summary>Nowhere: stopped at a poison event until a rebuild.</summary>
    Stopped,
}

/// <summary>
/// An async projection stopped at a poison event stays stopped (nothing after the event is applied) until it is
/// rebuilt: Marten's daemon would otherwise restart a failing raw projection every few seconds and fail again.
/// Whether a rebuild is under way is kept in the database too, so a restart in the middle of one never applies the
/// rebuild's positions to the live tables.
/// </summary>
public static class ProjectionState
{
    public static async Task<ProjectionTarget> TargetAsync(IQuerySession session, string projection, CancellationToken ct) =>
        (await session.AdvancedSql.QueryAsync<int>(
            "SELECT CASE WHEN failed_seq IS NOT NULL THEN 2 WHEN live_position IS NOT NULL THEN 1 ELSE 0 END FROM public.projection_state WHERE name = ?",
            ct, projection)).Select(t => (ProjectionTarget)t).SingleOrDefault(ProjectionTarget.Live);

    /// <summary>Queued with the batch, so the record of the poison commits with the events applied before it.</summary>
    public static void Stop(IDocumentOperations operations, string projection, long sequence, string error) =>
        operations.Sql(
            """
            INSERT INTO public.projection_state (name, failed_seq, error) VALUES ($1, $2, $3)
            ON CONFLICT (name) DO UPDATE SET failed_seq = $2, error = $3, updated_at = now()
            """, projection, sequence, error);
}
