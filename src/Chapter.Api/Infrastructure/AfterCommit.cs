using Npgsql;

namespace Chapter.Api.Infrastructure;

/// <summary>
/// A write's answer read when it is written. Wolverine writes a function's answer after it has committed the function's events,
/// so what is read here shows their effect in the inline views.
/// </summary>
public sealed class AfterCommit<T>(Func<NpgsqlDataSource, CancellationToken, Task<T>> read, string? createdAt = null,
    Action<HttpContext, T>? headers = null, bool accepted = false)
    : IResult, Microsoft.AspNetCore.Http.Metadata.IEndpointMetadataProvider
{
    /// <summary>
    /// Nothing: the function's own attributes declare its answers. Without this, Wolverine would describe a function that
    /// returns this type as answering 200 with it as the body, beside the 201 it answers.
    /// </summary>
    public static void PopulateMetadata(System.Reflection.MethodInfo method, EndpointBuilder builder) { }

    public async Task ExecuteAsync(HttpContext context)
    {
        var answer = await read(ChapterDatabase.Of(context), context.RequestAborted);
        headers?.Invoke(context, answer);
        await (accepted ? TypedResults.Accepted((string?)null, answer)
            : createdAt is null ? TypedResults.Ok(answer)
            : (IResult)TypedResults.Created(createdAt, answer)).ExecuteAsync(context);
    }
}

public static class AfterCommit
{
    /// <summary>
    /// 200 with what <paramref name="read"/> finds once the events are committed; 201 at <paramref name="createdAt"/> when given;
    /// <paramref name="headers"/> sets what the answer says of itself (an ETag).
    /// </summary>
    public static AfterCommit<T> Read<T>(Func<NpgsqlDataSource, CancellationToken, Task<T>> read, string? createdAt = null,
        Action<HttpContext, T>? headers = null) => new(read, createdAt, headers);

    /// <summary>202 with what <paramref name="read"/> finds once the events are committed: the rest follows from a message they sent.</summary>
    public static AfterCommit<T> Accepted<T>(Func<NpgsqlDataSource, CancellationToken, Task<T>> read) => new(read, accepted: true);
}
