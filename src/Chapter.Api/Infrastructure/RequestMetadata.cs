using Chapter.Api.Access;

namespace Chapter.Api.Infrastructure;

/// <summary>Who and what caused an event; stored in Marten's metadata columns beside it, never inside the payload.</summary>
public sealed record EventMetadata(string? CorrelationId = null, string? CausationId = null, string? ActorId = null);

public static class RequestMetadata
{
    public const string CorrelationHeader = "X-Correlation-Id";

    /// <summary>Correlation id from the caller when given, else this request's trace id; the acting principal, by id.</summary>
    public static EventMetadata For(HttpContext context, Caller caller)
    {
        var correlation = context.Request.Headers[CorrelationHeader].FirstOrDefault();
        return new EventMetadata(
            CorrelationId: string.IsNullOrWhiteSpace(correlation) || correlation.Length > 100 ? context.TraceIdentifier : correlation,
            CausationId: context.TraceIdentifier,
            ActorId: caller.Actor);
    }
}
