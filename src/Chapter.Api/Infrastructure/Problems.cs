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
}
