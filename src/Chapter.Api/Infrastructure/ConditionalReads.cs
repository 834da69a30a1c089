using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.Options;

namespace Chapter.Api.Infrastructure;

/// <summary>
/// Conditional reads for integrations that poll: a read's 200 carries a strong ETag, a hash of the JSON it answers, and a
/// request whose If-None-Match holds it gets 304 with no body. A hash rather than a version, because these answers fold
/// many streams (and a tie's strength decays with time, so that answer changes whenever it is read at a new moment).
/// </summary>
public static class ConditionalReads
{
    public static TBuilder WithContentETag<TBuilder>(this TBuilder builder) where TBuilder : IEndpointConventionBuilder =>
        builder.AddEndpointFilter(async (context, next) =>
        {
            var result = await next(context);
            var inner = result is INestedHttpResult nested ? nested.Result : result as IResult;
            if (inner is not (IValueHttpResult { Value: { } value } and IStatusCodeHttpResult { StatusCode: StatusCodes.Status200OK or null }))
                return result;

            var http = context.HttpContext;
            var json = http.RequestServices.GetRequiredService<IOptions<JsonOptions>>().Value.SerializerOptions;
            var body = JsonSerializer.SerializeToUtf8Bytes(value, value.GetType(), json);
            var etag = $"\"{WebEncoders.Base64UrlEncode(SHA256.HashData(body), 0, 16)}\"";
            http.Response.Headers.ETag = etag;
            // The same address answers each caller as they may see it.
            http.Response.Headers.Append("Vary", "Authorization");
            if (http.Request.Headers.IfNoneMatch.Any(tags => tags is not null && tags.Split(',').Any(tag => tag.Trim() is var t && (t == etag || t == "*"))))
                return TypedResults.StatusCode(StatusCodes.Status304NotModified);
            return TypedResults.Bytes(body, "application/json; charset=utf-8");
        });
}
