using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;

namespace Chapter.Api.Infrastructure;

public static class Problems
{
    public static ProblemHttpResult NotFound(string detail) =>
        TypedResults.Problem(new ProblemDetails { Status = StatusCodes.Status404NotFound, Title = "Not found.", Detail = detail });

    /// <summary>A 404 for an id given in the body: names the field as well.</summary>
    public static ProblemHttpResult NotFound(string field, string detail) =>
        TypedResults.Problem(new HttpValidationProblemDetails(new Dictionary<string, string[]> { [field] = [detail] })
        {
            Status = StatusCodes.Status404NotFound,
            Title = "Not found.",
            Detail = detail,
        });

    /// <summary>A 422 for a rule the request breaks, naming the field.</summary>
    public static ProblemHttpResult Unprocessable(string field, string detail) =>
        TypedResults.Problem(new HttpValidationProblemDetails(new Dictionary<string, string[]> { [field] = [detail] })
        {
            Status = StatusCodes.Status422UnprocessableEntity,
            Title = "A rule of the chapter was broken.",
            Detail = detail,
        });

    public static ProblemHttpResult Conflict(string detail) =>
        TypedResults.Problem(new ProblemDetails { Status = StatusCodes.Status409Conflict, Title = "Conflict.", Detail = detail });

    public static ProblemHttpResult Forbidden(string detail) =>
        TypedResults.Problem(new ProblemDetails { Status = StatusCodes.Status403Forbidden, Title = "Not allowed.", Detail = detail });

    /// <summary>
    /// Writes a problem from middleware, as application/problem+json whatever the request accepts: a page that
    /// asked for HTML still gets an answer it can read, instead of the writer refusing and a 500.
    /// </summary>
    public static Task WriteAsync(HttpContext context, ProblemDetails problem) => TypedResults.Problem(problem).ExecuteAsync(context);

    public static Task WriteAsync(HttpContext context, int status, string title, string detail)
    {
        context.Response.StatusCode = status;
        return WriteAsync(context, new ProblemDetails { Status = status, Title = title, Detail = detail });
    }
}
