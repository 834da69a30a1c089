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
    public static void AddChapterWriteEndpoints(this WebApplicationBuilder builder)
    {
        builder.Services.AddWolverineHttp();
        builder.Services.AddSingleton<Microsoft.AspNetCore.Mvc.ApiExplorer.IApiDescriptionProvider, StrictJsonBodyDescription>();
    }

    /// <summary>Called right after the app is built: <c>codegen write</c> generates the code only of endpoints mapped by then.</summary>
    public static void MapChapterWriteEndpoints(this WebApplication app) =>
        app.MapWolverineEndpoints(options =>
        {
            options.TenantId.IsRouteArgumentNamed("chapterId");
            options.AddParameterHandlingStrategy(new StrictJsonBody());
            options.AddParameterHandlingStrategy(new FromRequest(typeof(Caller)));
            options.AddParameterHandlingStrategy(new FromRequest(typeof(ChapterDatabase)));
            // The problems a write may answer with: a bad field, a caller not allowed, something missing, a conflict, and (unless
            // its decider has no such rule) a rule of the chapter broken.
            options.ConfigureEndpoints(chain =>
            {
                chain.Metadata.ProducesValidationProblem().ProducesProblem(StatusCodes.Status403Forbidden)
                    .ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict);
                if (!chain.Method.Method.IsDefined(typeof(BreaksNoRuleAttribute)))
                    chain.Metadata.ProducesProblem(StatusCodes.Status422UnprocessableEntity);
            });
            // Every write but a chapter's creation names its chapter in the route, and Wolverine's session is that chapter's.
            options.AddMiddleware(typeof(EventCauseMiddleware), chain => !chain.HttpMethods.Contains("GET") && chain.RoutePattern!.RawText!.Contains("{chapterId}"));
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

/// <summary>A write whose decider has no rule a request could break: its OpenAPI operation declares no 422.</summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class BreaksNoRuleAttribute : Attribute;

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
    public static void Before(HttpContext context, Caller caller, IDocumentSession session)
    {
        var cause = RequestMetadata.For(context, caller);
        session.CorrelationId = cause.CorrelationId;
        session.CausationId = cause.CausationId;
        session.LastModifiedBy = cause.ActorId;
    }
}

/// <summary>
/// An endpoint's parameter of a type read from the request by its static <c>Of</c> (<see cref="Caller.Of"/>: who the bearer token
/// says is calling; <see cref="ChapterDatabase.Of"/>: the database of the request's chapter), as Minimal API endpoints bind them
/// by their <c>BindAsync</c>.
/// </summary>
internal sealed class FromRequest(Type type) : IParameterStrategy
{
    // One per endpoint, however many of its methods (a Load step, the function) take it.
    private readonly System.Runtime.CompilerServices.ConditionalWeakTable<HttpChain, Variable> _values = new();

    public bool TryMatch(HttpChain chain, IServiceContainer container, ParameterInfo parameter, out Variable? variable)
    {
        variable = parameter.ParameterType == type
            ? _values.GetValue(chain, _ => new MethodCall(type, type.GetMethod("Of", BindingFlags.Public | BindingFlags.Static)!).ReturnVariable!)
            : null;
        return variable is not null;
    }
}

/// <summary>
/// A request body read as the Minimal API endpoints read theirs, with the service's JSON options (strict numbers, no duplicate
/// keys, no unreadable text): what cannot be read is thrown as ASP.NET Core throws it, and <see cref="ProblemMapping"/>
/// answers with a problem naming the field. Wolverine's own reader answers with a 400 of its own that names no field, and
/// logs the body's error at Error. The body is the parameter whose type's name ends in "Request" (GiveReferralRequest, …): the
/// request shapes are named so, and nothing else an endpoint takes is.
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
        // Wolverine describes a body in OpenAPI only when its own reader reads it: say it for StrictJsonBodyDescription.
        chain.Metadata.WithMetadata(new StrictJsonBodyMetadata(parameter, optional));
        return true;
    }
}

/// <summary>
/// The body of each endpoint that reads one through <see cref="StrictJsonBody"/>, in ASP.NET Core's API description, where the
/// OpenAPI document finds it: Wolverine describes a body only when its own reader reads it.
/// </summary>
internal sealed class StrictJsonBodyDescription : Microsoft.AspNetCore.Mvc.ApiExplorer.IApiDescriptionProvider
{
    public int Order => 1000;

    public void OnProvidersExecuting(Microsoft.AspNetCore.Mvc.ApiExplorer.ApiDescriptionProviderContext context) { }

    public void OnProvidersExecuted(Microsoft.AspNetCore.Mvc.ApiExplorer.ApiDescriptionProviderContext context)
    {
        foreach (var description in context.Results)
        {
            if (description.ActionDescriptor.EndpointMetadata.OfType<StrictJsonBodyMetadata>().FirstOrDefault() is not { } body)
                continue;
            description.ParameterDescriptions.Add(new Microsoft.AspNetCore.Mvc.ApiExplorer.ApiParameterDescription
            {
                Name = body.Parameter.Name!,
                Source = Microsoft.AspNetCore.Mvc.ModelBinding.BindingSource.Body,
                Type = body.Parameter.ParameterType,
                IsRequired = !body.Optional,
                ParameterDescriptor = new BodyParameterDescriptor
                {
                    Name = body.Parameter.Name!, ParameterType = body.Parameter.ParameterType, ParameterInfo = body.Parameter,
                },
            });
            description.SupportedRequestFormats.Add(new Microsoft.AspNetCore.Mvc.ApiExplorer.ApiRequestFormat { MediaType = "application/json" });
        }
    }
}

internal sealed record StrictJsonBodyMetadata(ParameterInfo Parameter, bool Optional);

/// <summary>The body's parameter, for the OpenAPI document to read its nullability as it does a Minimal API endpoint's.</summary>
internal sealed class BodyParameterDescriptor : Microsoft.AspNetCore.Mvc.Abstractions.ParameterDescriptor,
    Microsoft.AspNetCore.Mvc.Infrastructure.IParameterInfoParameterDescriptor
{
    public required ParameterInfo ParameterInfo { get; init; }
}

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
