using System.Reflection;
using System.Text.Json;
using Chapter.Api.Access;
using JasperFx;
using JasperFx.CodeGeneration.Frames;
using JasperFx.CodeGeneration.Model;
using Marten;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.Extensions.Options;
using Wolverine.Http;
using Wolverine.Http.CodeGen;

namespace Chapter.Api.Infrastructure;

/// <summary>
/// Writes are WolverineFx.Http endpoints: one static function per command, in the aggregate handler workflow. Wolverine
/// opens the chapter's session (the tenant is the <c>chapterId</c> route value), fetches the stream for writing, appends the
/// events the function returns and commits them with the outbox's messages. What Wolverine leaves to the application is
/// configured here: how a body is read, who the caller is, what each event records about its cause, and a retry when
/// another writer got to the stream first.
/// </summary>
public static class WriteEndpoints
{
    public static void AddChapterWriteEndpoints(this WebApplicationBuilder builder) => builder.Services.AddWolverineHttp();

    /// <summary>Called right after the app is built: <c>codegen write</c> generates the code only of endpoints mapped by then.</summary>
    public static void MapChapterWriteEndpoints(this WebApplication app) =>
        app.MapWolverineEndpoints(options =>
        {
            options.TenantId.IsRouteArgumentNamed("chapterId");
            options.AddParameterHandlingStrategy(new StrictJsonBody());
            options.AddParameterHandlingStrategy(new CallerFromPrincipal());
            // The problems every write may answer with, as the Minimal API groups declared them.
            options.ConfigureEndpoints(chain => chain.Metadata.ProducesValidationProblem()
                .ProducesProblem(StatusCodes.Status403Forbidden).ProducesProblem(StatusCodes.Status404NotFound)
                .ProducesProblem(StatusCodes.Status409Conflict).ProducesProblem(StatusCodes.Status422UnprocessableEntity));
            options.AddMiddleware(typeof(EventCauseMiddleware),
                chain => chain.Method.Method.GetParameters().Any(p => p.GetCustomAttributes().Any(a => a is Wolverine.Marten.WriteAggregateAttribute)));
        });

    /// <summary>
    /// A retry of the whole request when Marten refuses an append because the stream moved since it was read. The function
    /// then decides on what the other writer did, so the retried request gets the decider's idempotent answer (the same
    /// accept twice is 200) instead of a bare 409. Wolverine retries messages on such conflicts, not HTTP requests.
    /// The third conflict in a row is the caller's 409.
    /// </summary>
    public static void UseRetryOnConcurrencyConflict(this WebApplication app) =>
        app.Use(async (context, next) =>
        {
            if (HttpMethods.IsGet(context.Request.Method) || context.GetEndpoint()?.Metadata.GetMetadata<HttpChain>() is null)
            {
                await next();
                return;
            }
            context.Request.EnableBuffering();
            for (var attempt = 1; ; attempt++)
            {
                try
                {
                    await next();
                    return;
                }
                catch (Exception e) when (attempt < 3 && Commands.IsConcurrencyConflict(e) && !context.Response.HasStarted)
                {
                    context.Response.Clear();
                    context.Request.Body.Position = 0;
                }
            }
        });
}

/// <summary>
/// A request refused before its command was made: thrown by a function's Load step, so Wolverine goes no further (no stream is
/// fetched, nothing decided); <see cref="ProblemMapping"/> writes the answer it carries.
/// </summary>
public sealed class RequestRefused(IResult answer) : Exception("The request was refused before it was decided.")
{
    public IResult Answer { get; } = answer;
}

/// <summary>The caller's correlation and causation ids and acting principal, onto every event the request appends.</summary>
public static class EventCauseMiddleware
{
    public static void Before(HttpContext context, IDocumentSession session)
    {
        if (Caller.From(context.User) is not { } caller)
            return;
        var cause = RequestMetadata.For(context, caller);
        session.CorrelationId = cause.CorrelationId;
        session.CausationId = cause.CausationId;
        session.LastModifiedBy = cause.ActorId;
    }
}

/// <summary>An endpoint's <see cref="Caller"/> parameter: who the bearer token says is calling.</summary>
internal sealed class CallerFromPrincipal : IParameterStrategy
{
    public bool TryMatch(HttpChain chain, IServiceContainer container, ParameterInfo parameter, out Variable? variable)
    {
        variable = parameter.ParameterType == typeof(Caller)
            ? new MethodCall(typeof(Caller), typeof(Caller).GetMethod(nameof(Caller.Of))!).ReturnVariable
            : null;
        return variable is not null;
    }
}

/// <summary>
/// A request body read as the Minimal API endpoints read theirs, with the service's JSON options (strict numbers, no duplicate
/// keys, no unreadable text): what cannot be read is thrown as ASP.NET Core throws it, and <see cref="ProblemMapping"/>
/// answers with a problem naming the field. Wolverine's own reader answers with a 400 of its own that names no field, and
/// logs the body's error at Error.
/// </summary>
internal sealed class StrictJsonBody : IParameterStrategy
{
    public bool TryMatch(HttpChain chain, IServiceContainer container, ParameterInfo parameter, out Variable? variable)
    {
        variable = null;
        if (chain.HttpMethods.Contains("GET") || !parameter.ParameterType.Name.EndsWith("Request", StringComparison.Ordinal))
            return false;
        var optional = new NullabilityInfoContext().Create(parameter).WriteState == NullabilityState.Nullable;
        var read = new MethodCall(typeof(RequestBody), typeof(RequestBody).GetMethod(nameof(RequestBody.ReadAsync))!.MakeGenericMethod(parameter.ParameterType));
        read.Arguments[1] = Constant.For(parameter.Name!);
        read.Arguments[2] = new Variable(typeof(bool), optional ? "true" : "false");
        variable = read.ReturnVariable;
        // Wolverine describes a body in OpenAPI only when its own reader reads it: say so for OpenAPI (DescribeStrictJsonBodies).
        chain.Metadata.WithMetadata(new StrictJsonBodyMetadata(parameter.ParameterType, optional));
        return true;
    }

    /// <summary>The request body of each endpoint that reads one this way, in the OpenAPI document as Minimal APIs describe theirs.</summary>
    public static void DescribeStrictJsonBodies(Microsoft.AspNetCore.OpenApi.OpenApiOptions options) =>
        options.AddOperationTransformer(async (operation, context, ct) =>
        {
            if (context.Description.ActionDescriptor.EndpointMetadata.OfType<StrictJsonBodyMetadata>().FirstOrDefault() is not { } body)
                return;
            var schema = await context.GetOrCreateSchemaAsync(body.Type, null, ct);
            context.Document!.AddComponent(body.Type.Name, schema);
            operation.RequestBody = new Microsoft.OpenApi.OpenApiRequestBody
            {
                Required = !body.Optional,
                Content = new Dictionary<string, Microsoft.OpenApi.OpenApiMediaType>
                {
                    ["application/json"] = new() { Schema = new Microsoft.OpenApi.OpenApiSchemaReference(body.Type.Name, context.Document) },
                },
            };
        });
}

internal sealed record StrictJsonBodyMetadata(Type Type, bool Optional);

public static class RequestBody
{
    /// <summary>The body as <typeparamref name="T"/>; null only for an optional body left empty.</summary>
    public static async Task<T?> ReadAsync<T>(HttpContext context, string name, bool optional) where T : class
    {
        var request = context.Request;
        var described = $"\"{typeof(T).Name} {name}\"";
        if (request.ContentLength is 0 || (request.ContentLength is null && !request.Headers.TransferEncoding.Any()))
            return optional ? null : throw new BadHttpRequestException($"Required parameter {described} was not provided from body.");
        if (!request.HasJsonContentType())
            throw new BadHttpRequestException($"Expected a supported JSON media type but got \"{request.ContentType}\".", StatusCodes.Status415UnsupportedMediaType);
        var options = context.RequestServices.GetRequiredService<IOptions<JsonOptions>>().Value.SerializerOptions;
        try
        {
            return await JsonSerializer.DeserializeAsync<T>(request.Body, options, context.RequestAborted)
                ?? (optional ? null : throw new BadHttpRequestException($"Required parameter {described} was not provided from body."));
        }
        catch (JsonException e)
        {
            throw new BadHttpRequestException($"Failed to read parameter {described} from the request body as JSON.", e);
        }
    }
}
