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
        // Last, where an operator looks: after the schema Marten writes out on a first start, the host's "Application started"
        // and Wolverine's agents starting on this node (each node's own durability agent is among them).
        var runtime = app.Services.GetRequiredService<Wolverine.Runtime.IWolverineRuntime>();
        app.Lifetime.ApplicationStarted.Register(() => _ = Task.Run(async () =>
        {
            // Once the agents this node runs have stayed the same for two seconds (or after half a minute at most), the
            // messages of their starting have been written.
            var (running, steadySince, until) = (-1, DateTime.UtcNow, DateTime.UtcNow.AddSeconds(30));
            while (DateTime.UtcNow < until && (running <= 0 || DateTime.UtcNow - steadySince < TimeSpan.FromSeconds(2)))
            {
                await Task.Delay(200);
                var now = runtime.Agents.AllRunningAgentUris().Length;
                if (now != running)
                    (running, steadySince) = (now, DateTime.UtcNow);
            }
            PrintFirstSteps(issued.Token, url);
        }));
    }

    /// <summary>Printed to the console only, never logged: logs are shipped and kept, the console of a first start is not.</summary>
    private static void PrintFirstSteps(string token, string url) =>
        Console.WriteLine(
            $$"""

            ============================================================================
            Operator token (shown once, keep it safe; it cannot be shown again):

                {{token}}

            Next steps, in a bash shell (with curl and jq):

                export CHAPTER_ADMIN={{token}}
                curl -sS -H "Authorization: Bearer $CHAPTER_ADMIN" {{url}}/api/me

            then README.md, "First tokens": its blocks, run in order in that shell, create a chapter, its
            leader and members, and take a referral through its life. The API's reference: {{url}}/docs
            ============================================================================

            """);
}
