using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace Chapter.Api.Access;

/// <summary>Says in the OpenAPI document that every /api operation takes a bearer token.</summary>
public static class BearerSecurityInOpenApi
{
    public static void AddBearerSecurity(this OpenApiOptions options) =>
        options.AddDocumentTransformer((document, _, _) =>
        {
            document.Components ??= new OpenApiComponents();
            document.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>();
            document.Components.SecuritySchemes[TokenAuthenticationHandler.SchemeName] = new OpenApiSecurityScheme
            {
                Type = SecuritySchemeType.Http,
                Scheme = "bearer",
                Description =
                    "An opaque token (chapter_…): the operator's from configuration; a member's or leader's issued with " +
                    "POST /api/chapters/{chapterId}/members/{memberId}/tokens; an integration's (read-only) with POST /api/chapters/{chapterId}/integrations. " +
                    "Missing or invalid: 401. Not allowed: 403. Another chapter's resource: 404.",
            };
            document.Security = [new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(TokenAuthenticationHandler.SchemeName, document)] = [] }];
            return Task.CompletedTask;
        });
}
