using System.Text;
using System.Text.RegularExpressions;
using Chapter.Testing;

namespace Chapter.Api.Tests;

/// <summary>
/// README is a promise: every shell block from "First tokens" on, run in order in one bash session against a fresh service
/// of its own, as a reader would after the one export README asks for. A bash error or an answer of 400 or above fails it.
/// </summary>
public sealed partial class ReadmeExamplesTests
{
    private const string ReadmeAddress = "http://127.0.0.1:5080";

    /// <summary>The ```sh blocks after the heading "## First tokens", in order.</summary>
    internal static IReadOnlyList<string> ShellBlocks(string readme)
    {
        var start = readme.IndexOf("\n## First tokens", StringComparison.Ordinal);
        start.ShouldBeGreaterThan(0, "README has a section 'First tokens'");
        return [.. ShellBlock().Matches(readme[start..]).Select(m => m.Groups[1].Value)];
    }

    [GeneratedRegex(@"^```sh\n(.*?)^```", RegexOptions.Singleline | RegexOptions.Multiline)]
    private static partial Regex ShellBlock();

    [Fact]
    public async Task Every_shell_example_from_first_tokens_on_runs_as_written_on_a_fresh_service()
    {
        var blocks = ShellBlocks(await File.ReadAllTextAsync(Path.Combine(Repository.Root, "README.md")));
        blocks.Count.ShouldBeGreaterThan(10);
        var mail = Directory.CreateTempSubdirectory("chapter-readme-mail-");
        var work = Directory.CreateTempSubdirectory("chapter-readme-");
        using var service = ServiceProcess.Start(await TestPostgres.CreateDatabaseAsync(), out var address, new Dictionary<string, string>
        {
            // README's webhook example delivers to a receiver on this machine, which it says needs this setting.
            ["Chapter__Webhooks__AllowInsecureTargets"] = "true",
            ["Chapter__Mail__PickupDirectory"] = mail.FullName,
        });
        try
        {
            await ServiceProcess.WaitUntilListeningAsync(service, address);
            var script = new StringBuilder()
                .AppendLine("set -euo pipefail")
                // Background jobs a block started (the webhook receiver) end with the session, whatever happens.
                .AppendLine("trap 'kill $(jobs -p) 2>/dev/null || true' EXIT")
                // Any curl, the README's or a raw one, fails the session on an answer of 400 or above.
                .AppendLine("curl() { command curl --fail-with-body \"$@\"; }")
                .AppendJoin('\n', blocks.Select((block, i) => $"echo '--- README block {i + 1}'\n{block}"))
                .ToString()
                .Replace(ReadmeAddress, address.ToString().TrimEnd('/'), StringComparison.Ordinal);
            var scriptFile = Path.Combine(work.FullName, "readme.sh");
            await File.WriteAllTextAsync(scriptFile, script);

            // The one export README asks for: the operator token the service was started with.
            var (exitCode, output) = await ChildProcess.RunAsync("bash", [scriptFile], work.FullName, TimeSpan.FromMinutes(2),
                new Dictionary<string, string> { ["CHAPTER_ADMIN"] = ApiFixture.OperatorToken });

            exitCode.ShouldBe(0, $"README's examples stopped (exit {exitCode}); the session's output:\n{output}");
            output.ShouldContain($"--- README block {blocks.Count}");
            output.ShouldContain("delivered:", Case.Sensitive, "the webhook example's receiver got a delivery");
        }
        finally
        {
            service.Kill(entireProcessTree: true);
            await service.WaitForExitAsync();
            mail.Delete(recursive: true);
            work.Delete(recursive: true);
        }
    }
}
