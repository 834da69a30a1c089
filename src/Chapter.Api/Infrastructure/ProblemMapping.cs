using System.Text.Json;
using System.Text.RegularExpressions;
using Chapter.Domain.Shared;
using Marten.Exceptions;
using Npgsql;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Mvc;

namespace Chapter.Api.Infrastructure;

/// <summary>
/// Turns every exception into an RFC 9457 problem: domain refusals and concurrency conflicts into
/// 4xx answers that say what went wrong, anything else into a 500 that reveals nothing internal.
/// </summary>
public sealed partial class ProblemMapping(IProblemDetailsService problems, ILogger<ProblemMapping> logger) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext context, Exception exception, CancellationToken cancellationToken)
    {
        if (exception is RequestRefused refused)
        {
            await refused.Answer.ExecuteAsync(context);
            return true;
        }
        var problem = exception switch
        {
            RuleBroken e => Validation(StatusCodes.Status422UnprocessableEntity, "A rule of the chapter was broken.", e.Field, e.Message),
            StateConflict e => Problem(StatusCodes.Status409Conflict, "Conflict with what already happened.", e.Message),
            NotPermitted e => Problem(StatusCodes.Status403Forbidden, "Not allowed.", e.Message),
            NotFound e => Problem(StatusCodes.Status404NotFound, "Not found.", e.Message),
            UnknownChapter e => Problem(StatusCodes.Status404NotFound, "Not found.", e.Message),
            ExistingStreamIdCollisionException or JasperFx.Events.ExistingStreamIdCollisionException => Problem(StatusCodes.Status409Conflict, "Already exists.", "Something with this id already exists."),
            _ when Commands.IsConcurrencyConflict(exception) => Problem(StatusCodes.Status409Conflict, "Concurrent change.",
                "Someone else changed this at the same moment. Read it again and retry."),
            // An id taken in another chapter: each chapter's streams are its own, but a view's key is unique across chapters.
            _ when UniqueViolation(exception) => Problem(StatusCodes.Status409Conflict, "Already exists.", "Something with this id already exists."),
            BadHttpRequestException e => FromBadRequest(e),
            _ when DatabaseUnavailable(exception) => Problem(StatusCodes.Status503ServiceUnavailable, "The service is unavailable for a moment.",
                $"The database does not answer. Nothing of this request was stored; retry it in {RetryAfterSeconds} seconds."),
            _ => null,
        };
        if (problem?.Status == StatusCodes.Status503ServiceUnavailable)
        {
            logger.LogWarning("PostgreSQL unavailable on {Method} {Path}: {Error}", context.Request.Method, context.Request.Path, exception.Message);
            context.Response.Headers.RetryAfter = RetryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        if (problem is null)
        {
            logger.LogError(exception, "Unhandled error on {Method} {Path}", context.Request.Method, context.Request.Path);
            problem = Problem(StatusCodes.Status500InternalServerError, "Something went wrong on our side.",
                "The error was logged; quote the traceId when you report it.");
        }

        context.Response.StatusCode = problem.Status!.Value;
        if (!await problems.TryWriteAsync(new ProblemDetailsContext { HttpContext = context, ProblemDetails = problem }))
            await Problems.WriteAsync(context, problem);
        return true;
    }

    private const int RetryAfterSeconds = 5;

    /// <summary>
    /// PostgreSQL refused, dropped or did not answer in time (Npgsql calls that transient), however deep Marten or
    /// Wolverine wrapped it. Whatever the request wrote was in a transaction that did not commit.
    /// </summary>
    private static bool DatabaseUnavailable(Exception exception)
    {
        for (Exception? e = exception; e is not null; e = e.InnerException)
        {
            if (e is NpgsqlException { IsTransient: true } or TimeoutException or System.Net.Sockets.SocketException)
                return true;
            if (e is AggregateException aggregate && aggregate.InnerExceptions.Any(DatabaseUnavailable))
                return true;
        }
        return false;
    }

    private static bool UniqueViolation(Exception e) =>
        (e as PostgresException ?? e.InnerException as PostgresException) is { SqlState: PostgresErrorCodes.UniqueViolation };

    private static ProblemDetails Problem(int status, string title, string detail) => new() { Status = status, Title = title, Detail = detail };

    private static HttpValidationProblemDetails Validation(int status, string title, string field, string message) =>
        new(new Dictionary<string, string[]> { [field] = [message] }) { Status = status, Title = title, Detail = message };

    private static ProblemDetails FromBadRequest(BadHttpRequestException e)
    {
        if (e.InnerException is UnreadableTextException text)
        {
            var field = FieldFromJsonPath(text.Path);
            return Validation(StatusCodes.Status400BadRequest, "The request has invalid fields.", field, $"'{field}' {text.Message}");
        }
        if (e.InnerException is JsonException json)
        {
            var field = FieldFromJsonPath(json.Path);
            return Validation(StatusCodes.Status400BadRequest, "The request body is not valid JSON for this request.", field,
                field == "body"
                    ? "The body is not well-formed JSON."
                    : $"'{field}' has the wrong type or is not valid JSON.");
        }

        if (e.StatusCode == StatusCodes.Status400BadRequest)
        {
            var parameter = ParameterName().Match(e.Message);
            return parameter.Success
                ? Validation(StatusCodes.Status400BadRequest, "The request has invalid fields.", parameter.Groups[1].Value,
                    $"'{parameter.Groups[1].Value}' is missing or has the wrong format.")
                : Problem(StatusCodes.Status400BadRequest, "Bad request.", "The request could not be read: a JSON body is required.");
        }

        if (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
            return Problem(e.StatusCode, "The request body is too large.", "The request body is over the size limit.");
        if (e.StatusCode == StatusCodes.Status415UnsupportedMediaType)
            return Problem(e.StatusCode, "Unsupported media type.", "Send the body as JSON, with Content-Type: application/json.");
        return Problem(e.StatusCode, "Bad request.", "The request could not be read.");
    }

    // "$.prospect.consent" → "prospect.consent"; "$['value']['amount']" → "value.amount"; "$" → "body".
    internal static string FieldFromJsonPath(string? path)
    {
        if (string.IsNullOrEmpty(path) || path == "$")
            return "body";
        var field = path.TrimStart('$').Replace("['", ".").Replace("']", "").TrimStart('.');
        return field.Length == 0 ? "body" : field;
    }

    [GeneratedRegex("""parameter "(?:[^"]*\s)?(\w+)" """, RegexOptions.CultureInvariant)]
    private static partial Regex ParameterName();
}
