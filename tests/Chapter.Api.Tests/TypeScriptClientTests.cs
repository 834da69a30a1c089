using Chapter.Testing;

namespace Chapter.Api.Tests;

/// <summary>
/// An integrator's TypeScript client, made from the live service's OpenAPI document with generators from npm (pinned in
/// tests/typescript-client/package-lock.json), type-checked with tsc --strict, and run against that service: a referral's
/// lifecycle, a meeting and a webhook registration (tests/typescript-client/src/lifecycle.ts).
/// </summary>
public sealed class TypeScriptClientTests
{
    private static readonly TimeSpan Step = TimeSpan.FromMinutes(3);

    [Fact]
    public async Task A_client_generated_with_openapi_typescript_compiles_under_tsc_strict_and_runs_a_lifecycle_a_meeting_and_a_webhook()
    {
        var source = Path.Combine(Repository.Root, "tests", "typescript-client");
        var work = Directory.CreateTempSubdirectory("chapter-ts-client-");
        foreach (var file in new[] { "package.json", "package-lock.json", "tsconfig.json", "src/lifecycle.ts" })
        {
            Directory.CreateDirectory(Path.GetDirectoryName(Path.Combine(work.FullName, file))!);
            File.Copy(Path.Combine(source, file), Path.Combine(work.FullName, file));
        }
        using var service = ServiceProcess.Start(await TestPostgres.CreateDatabaseAsync(), out var address);
        try
        {
            await Run("npm", ["ci", "--no-audit", "--no-fund", "--prefer-offline"]);
            await ServiceProcess.WaitUntilListeningAsync(service, address);
            await Run("node", ["node_modules/openapi-typescript/bin/cli.js", new Uri(address, "/openapi/v1.json").ToString(), "--output", "src/schema.d.ts"]);
            await Run("node", ["node_modules/typescript/bin/tsc", "-p", "tsconfig.json"]);
            var output = await Run("node", ["dist/lifecycle.js"], new Dictionary<string, string>
            {
                ["BASE_URL"] = address.ToString().TrimEnd('/'),
                ["OPERATOR_TOKEN"] = ApiFixture.OperatorToken,
            });
            output.ShouldContain("the lifecycle, the meeting and the webhook went through");
        }
        finally
        {
            service.Kill(entireProcessTree: true);
            await service.WaitForExitAsync();
            work.Delete(recursive: true);
        }

        async Task<string> Run(string program, string[] arguments, IReadOnlyDictionary<string, string>? environment = null)
        {
            var (exitCode, output) = await ChildProcess.RunAsync(program, arguments, work.FullName, Step, environment);
            exitCode.ShouldBe(0, $"{program} {string.Join(' ', arguments)} failed:\n{output}");
            return output;
        }
    }
}
