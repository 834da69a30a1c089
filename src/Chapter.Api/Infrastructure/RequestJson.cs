using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http.Json;

namespace Chapter.Api.Infrastructure;

/// <summary>A text in a request that no reader (or PostgreSQL's jsonb, which cannot hold NUL) can take.</summary>
public sealed class UnreadableTextException(string message) : JsonException(message);

/// <summary>
/// How request bodies are read: strictly. Every string of every body is checked once, here, before any endpoint or
/// decider sees it: no control characters but tab and line breaks (names refuse those too, in <see cref="Validation"/>),
/// no lone UTF-16 surrogates. Duplicate keys are refused rather than one silently winning, and numbers must be numbers.
/// </summary>
public static class RequestJson
{
    public static void AddChapterJson(this WebApplicationBuilder builder)
    {
        // Bad JSON becomes an exception that ProblemMapping turns into a problem naming the field.
        builder.Services.Configure<RouteHandlerOptions>(options => options.ThrowOnBadRequest = true);
        builder.Services.Configure<JsonOptions>(options =>
        {
            options.SerializerOptions.Converters.Add(new JsonStringEnumConverter(JsonNamingPolicy.CamelCase));
            options.SerializerOptions.Converters.Add(new ReadableTextConverter());
            options.SerializerOptions.AllowDuplicateProperties = false;
            // A number is a number: ASP.NET Core's web defaults also read "12" as 12, and then describe every number in the
            // OpenAPI document as "a number or a string of digits", which client generators turn into types of their own.
            options.SerializerOptions.NumberHandling = JsonNumberHandling.Strict;
        });
    }

    /// <summary>
    /// The request strings' converter, and the enums' camelCase converter, hide from ASP.NET Core's schema generation that they
    /// are strings (a custom converter's JSON could be anything: the schema comes out as <c>{}</c>, or only an enum's values);
    /// say so again in the OpenAPI document, which client generators read.
    /// </summary>
    public static void DescribeTextAsStrings(this Microsoft.AspNetCore.OpenApi.OpenApiOptions options) =>
        options.AddSchemaTransformer((schema, context, _) =>
        {
            if (context.JsonTypeInfo.Type == typeof(string) && schema.Type is null)
                schema.Type = context.JsonPropertyInfo is { IsGetNullable: true }
                    ? Microsoft.OpenApi.JsonSchemaType.String | Microsoft.OpenApi.JsonSchemaType.Null
                    : Microsoft.OpenApi.JsonSchemaType.String;
            // Enums are written as camelCase names by a converter too: say they are strings.
            else if ((Nullable.GetUnderlyingType(context.JsonTypeInfo.Type) ?? context.JsonTypeInfo.Type).IsEnum && schema.Type is null && schema.Enum is { Count: > 0 })
                schema.Type = Microsoft.OpenApi.JsonSchemaType.String;
            else if (context.JsonTypeInfo.ElementType == typeof(string) && schema.Items is null or Microsoft.OpenApi.OpenApiSchema { Type: null })
                schema.Items = new Microsoft.OpenApi.OpenApiSchema { Type = Microsoft.OpenApi.JsonSchemaType.String };
            return Task.CompletedTask;
        })
        .AddDocumentTransformer((document, _, _) =>
        {
            // A nullable enum comes out as oneOf [{enum: [null]}, $ref] and its enum lists null among its values: 3.1's way
            // of saying it, which 3.0 readers (NSwag among them) turn into a second enum that cannot read a value. In 3.0
            // terms: the enum holds its values, and the property is allOf [$ref] with nullable.
            foreach (var component in document.Components?.Schemas?.Values.OfType<Microsoft.OpenApi.OpenApiSchema>() ?? [])
            {
                if (component.Enum is { Count: > 0 } values)
                    foreach (var none in values.Where(v => v is null).ToList())
                        values.Remove(none);
                foreach (var (name, property) in component.Properties?.ToList() ?? [])
                    component.Properties![name] = NullableIn30(property);
            }
            foreach (var operation in document.Paths?.Values.SelectMany(path => path.Operations?.Values.AsEnumerable() ?? []) ?? [])
                foreach (var content in operation.RequestBody?.Content?.Values ?? [])
                    if (content.Schema is { } body)
                        content.Schema = NullableIn30(body);
            return Task.CompletedTask;
        });

    private static Microsoft.OpenApi.IOpenApiSchema NullableIn30(Microsoft.OpenApi.IOpenApiSchema schema) =>
        schema is Microsoft.OpenApi.OpenApiSchema { OneOf: [Microsoft.OpenApi.OpenApiSchema { Type: Microsoft.OpenApi.JsonSchemaType.Null }, Microsoft.OpenApi.OpenApiSchemaReference reference] }
            ? new Microsoft.OpenApi.OpenApiSchema { AllOf = [reference], Type = Microsoft.OpenApi.JsonSchemaType.Null }
            : schema;

    /// <summary>A GET or HEAD with a body is a client's mistake (a proxy may drop the body): say so instead of ignoring it.</summary>
    public static void UseNoBodyOnReads(this WebApplication app) =>
        app.Use(async (context, next) =>
        {
            var request = context.Request;
            if ((HttpMethods.IsGet(request.Method) || HttpMethods.IsHead(request.Method))
                && (request.ContentLength > 0 || request.Headers.TransferEncoding.Count > 0))
            {
                await Problems.WriteAsync(context, StatusCodes.Status400BadRequest, "Bad request.",
                    $"A {request.Method} request has no body; send the parameters in the query string.");
                return;
            }
            await next();
        });

    /// <returns>Why the text cannot be stored or shown, or null when it can.</returns>
    public static string? WhyUnreadable(string text)
    {
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                i++;
                continue;
            }
            if (char.IsSurrogate(c))
                return $"holds a lone UTF-16 surrogate (U+{(int)c:X4}) at position {i}.";
            if ((c < ' ' && c is not ('\t' or '\n' or '\r')) || c == '\u007F')
                return $"holds the control character U+{(int)c:X4} at position {i}.";
        }
        return null;
    }

    private sealed class ReadableTextConverter : JsonConverter<string>
    {
        public override bool HandleNull => false;

        public override string Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
        {
            if (reader.TokenType != JsonTokenType.String)
                throw new JsonException();
            string text;
            try
            {
                text = reader.GetString()!;
            }
            catch (InvalidOperationException)
            {
                throw new UnreadableTextException("is not valid Unicode: it holds a lone UTF-16 surrogate or an escape that makes none.");
            }
            return WhyUnreadable(text) is { } why ? throw new UnreadableTextException(why) : text;
        }

        public override void Write(Utf8JsonWriter writer, string value, JsonSerializerOptions options) => writer.WriteStringValue(value);
    }
}
