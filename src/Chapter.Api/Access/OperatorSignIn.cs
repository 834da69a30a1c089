using Chapter.Api.Infrastructure;

namespace Chapter.Api.Access;

/// <summary>
/// How the operator signs in. With <c>Chapter__AdminToken</c> configured, that token. In the embedded default
/// without one, a token generated at the first start of the database and printed once to the console.
/// </summary>
public static class OperatorSignIn
{
    public static async Task EnsureOperatorCanSignInAsync(this WebApplication app)
    {
        var configured = app.Services.GetRequiredService<ConfiguredOperatorToken>();
        var logger = app.Services.GetRequiredService<ILogger<ConfiguredOperatorToken>>();
        if (configured.IsConfigured)
            return;
        if (app.Services.GetService<EmbeddedPostgres.Started>() is null)
        {
            logger.LogWarning("No operator token: set Chapter__AdminToken (32+ characters) to create chapters and their first leaders.");
            return;
        }

        var tokens = app.Services.GetRequiredService<AccessTokens>();
        if (await tokens.AnyOperatorTokenAsync(CancellationToken.None))
        {
            Console.WriteLine(
                "Operator token: printed when this database was first started. Lost it? Start with Chapter__AdminToken=<32+ characters> instead.");
            return;
        }

        var issued = await tokens.IssueAsync(CallerKind.Operator, null, null, "generated at first start", "first start", CancellationToken.None);
        var url = app.Configuration["Chapter:PublicUrl"]?.TrimEnd('/') ?? app.Configuration["urls"]?.Split(';')[0] ?? "http://localhost:5000";
        // Printed to the console only, never logged: logs are shipped and kept, the console of a first start is not.
        Console.WriteLine(
            $$"""

            ============================================================================
            Operator token (shown once, keep it safe; it cannot be shown again):

                {{issued.Token}}

            Create a chapter, its first leader, and the leader's sign-in link:

                export CHAPTER_ADMIN={{issued.Token}}
                curl -X POST {{url}}/api/chapters -H "Authorization: Bearer $CHAPTER_ADMIN" -H 'Content-Type: application/json' \
                  -d '{"id":"stockholm-city","name":"Stockholm City","timeZone":"Europe/Stockholm","currency":"SEK"}'
                curl -X POST {{url}}/api/chapters/stockholm-city/members -H "Authorization: Bearer $CHAPTER_ADMIN" -H 'Content-Type: application/json' \
                  -d '{"name":"Lena Berg","profession":"Accountant","languages":["sv","en"],"role":"leader"}'
                curl -X POST {{url}}/api/chapters/stockholm-city/members/<id from above>/tokens -H "Authorization: Bearer $CHAPTER_ADMIN"

            The last answer holds the leader's token and signInUrl. README.md, "First tokens", says more.
            ============================================================================

            """);
    }
}
