using System.ComponentModel.DataAnnotations;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace Chapter.Api.Infrastructure;

/// <summary>
/// The values a request's text field takes: the names of <paramref name="values"/>, camelCase, as <see cref="Validation.OneOf{T}"/>
/// reads them. The OpenAPI document lists them as the field's enum.
/// </summary>
[AttributeUsage(AttributeTargets.Property | AttributeTargets.Parameter)]
public sealed class OneOfAttribute(Type values) : Attribute
{
    public IReadOnlyList<string> Names { get; } = Enum.GetNames(values).Select(JsonNamingPolicy.CamelCase.ConvertName).ToList();
}

/// <summary>
/// What the OpenAPI document promises, exactly, for client generators (and `tsc --strict` over what they make):
/// <list type="bullet">
/// <item>A request's field is required when the service refuses to go without it, which its record says with
/// <see cref="RequiredAttribute"/>; every other field may be left out or null. (ASP.NET Core marks every constructor
/// parameter required, and the request records' fields are all nullable, because <see cref="Validation"/> names each missing
/// one in a problem instead of failing the whole body.) <c>RequestContractTests</c> checks each field against the service.</item>
/// <item>An answer's field is always present (required), null only where its type says so, except a field left out when null.</item>
/// <item>Every operation declares the problems it may answer with: 401 and 403 where a token is needed, 404 for a path that
/// names something, 400 for input, 429 where writes are rate limited, 503 when the database does not answer.</item>
/// </list>
/// </summary>
public static class OpenApiContract
{
    public static OpenApiOptions AddExactContract(this OpenApiOptions options) =>
        options.AddSchemaTransformer((schema, context, _) =>
            {
                if (schema is not OpenApiSchema { Properties.Count: > 0 } objectSchema)
                    return Task.CompletedTask;
                var type = context.JsonTypeInfo;
                if (type.Kind != JsonTypeInfoKind.Object)
                    return Task.CompletedTask;
                if (type.Type.Name.EndsWith("Request", StringComparison.Ordinal))
                    DescribeRequest(objectSchema, type);
                else
                    DescribeAnswer(objectSchema, type);
                return Task.CompletedTask;
            })
            .AddOperationTransformer((operation, context, _) =>
            {
                DeclareProblems(operation, context);
                return Task.CompletedTask;
            })
            .AddDocumentTransformer((document, _, _) =>
            {
                // Wolverine describes a function that returns an IResult as answering 200 with "IResult"; its own attributes say what
                // it answers instead.
                foreach (var operation in document.Paths?.Values.SelectMany(path => path.Operations?.Values.AsEnumerable() ?? []) ?? [])
                    foreach (var (code, response) in operation.Responses?.ToList() ?? [])
                        if (response.Content?.Values.Any(c => c.Schema is OpenApiSchemaReference { Reference.Id: "IResult" }) == true)
                            operation.Responses!.Remove(code);
                document.Components?.Schemas?.Remove("IResult");
                return Task.CompletedTask;
            });

    private static void DescribeRequest(OpenApiSchema schema, JsonTypeInfo type)
    {
        schema.Required = new HashSet<string>();
        foreach (var property in type.Properties)
        {
            if (!schema.Properties!.TryGetValue(property.Name, out var found) || found is not OpenApiSchema described)
                continue;
            var attributes = property.AttributeProvider?.GetCustomAttributes(inherit: true) ?? [];
            if (attributes.OfType<RequiredAttribute>().Any())
            {
                schema.Required.Add(property.Name);
                if (described.Type is { } required)
                    described.Type = required & ~JsonSchemaType.Null;
            }
            else if (described.Type is { } optional)
                described.Type = optional | JsonSchemaType.Null;
            if (attributes.OfType<OneOfAttribute>().FirstOrDefault() is { } oneOf)
                described.Enum = [.. oneOf.Names.Select(name => (System.Text.Json.Nodes.JsonNode)name)];
        }
    }

    private static void DescribeAnswer(OpenApiSchema schema, JsonTypeInfo type)
    {
        // Left out when null (JsonIgnoreCondition.WhenWritingNull): the one kind of field an answer may not hold.
        var always = type.Properties.Where(p => p.ShouldSerialize is null).Select(p => p.Name).Where(schema.Properties!.ContainsKey);
        schema.Required = new HashSet<string>(always);
    }

    private static void DeclareProblems(OpenApiOperation operation, OpenApiOperationTransformerContext context)
    {
        var metadata = context.Description.ActionDescriptor.EndpointMetadata;
        // Every endpoint needs a token unless it says otherwise: the fallback policy asks for one (ChapterAccess).
        var needsToken = !metadata.OfType<IAllowAnonymous>().Any();
        var isWrite = context.Description.HttpMethod is not ("GET" or "HEAD");
        var parameters = context.Description.ParameterDescriptions;
        operation.Responses ??= new OpenApiResponses();
        if (needsToken)
        {
            Problem(operation, context, 401, "Unauthorized: no token, or one revoked or of a member who left.");
            Problem(operation, context, 403, "Forbidden: allowed in the chapter, but not this.");
        }
        if (parameters.Any(p => p.Source == Microsoft.AspNetCore.Mvc.ModelBinding.BindingSource.Path))
            Problem(operation, context, 404, "Not Found: what the path names does not exist, or is another chapter's.");
        if (parameters.Any(p => p.Source != Microsoft.AspNetCore.Mvc.ModelBinding.BindingSource.Path && p.Source?.Id != "Services") || isWrite)
            Problem(operation, context, 400, "Bad Request: a field, named in 'errors', is missing or not as it should be.");
        if (isWrite && needsToken)
            Problem(operation, context, 429, "Too Many Requests: this token's writes are over the limit for now; Retry-After says when to try again.");
        Problem(operation, context, 503, "Service Unavailable: the database does not answer; Retry-After says when to try again.");
    }

    private static void Problem(OpenApiOperation operation, OpenApiOperationTransformerContext context, int status, string description)
    {
        var code = status.ToString(System.Globalization.CultureInfo.InvariantCulture);
        if (operation.Responses!.ContainsKey(code))
            return;
        operation.Responses[code] = new OpenApiResponse
        {
            Description = description,
            Content = new Dictionary<string, OpenApiMediaType>
            {
                ["application/problem+json"] = new() { Schema = new OpenApiSchemaReference(status == 400 ? "HttpValidationProblemDetails" : "ProblemDetails", context.Document) },
            },
        };
    }
}
