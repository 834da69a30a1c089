using Chapter.Api.Access;
using Chapter.EventStore;

namespace Chapter.Api.Infrastructure;

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
