using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;

namespace Chapter.Api.Tests;

/// <summary>The service started as README's first command starts it: no database configured, no operator token.</summary>
public sealed partial class FirstStartTests
{
    [Fact]
    public async Task The_first_start_prints_the_operator_token_and_the_next_steps_last_and_the_token_works()
    {
        var data = Directory.CreateTempSubdirectory("chapter-first-start-");
        // As root, the cluster runs as the postgres user, who must reach the folder.
        if (!OperatingSystem.IsWindows())
            data.UnixFileMode |= UnixFileMode.OtherRead | UnixFileMode.OtherExecute | UnixFileMode.OtherWrite;
        var (port, databasePort) = (FreePort(), FreePort());
        var start = new ProcessStartInfo("dotnet", [Path.Combine(AppContext.BaseDirectory, "Chapter.Api.dll"), "--urls", $"http://127.0.0.1:{port}"])
        {
            WorkingDirectory = AppContext.BaseDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.Environment.Remove("ConnectionStrings__Chapter");
        start.Environment["Chapter__EmbeddedPostgres__DataDirectory"] = Path.Combine(data.FullName, "postgres");
        start.Environment["Chapter__EmbeddedPostgres__Port"] = databasePort.ToString();
        start.Environment["Chapter__Mail__PickupDirectory"] = Path.Combine(data.FullName, "mail");
        start.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
        var lines = new List<string>();
        using var service = Process.Start(start)!;
        service.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (lines) lines.Add(e.Data); };
        service.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (lines) lines.Add(e.Data); };
        service.BeginOutputReadLine();
        service.BeginErrorReadLine();
        try
        {
            var until = DateTime.UtcNow.AddSeconds(120);
            while (!Printed(lines) && DateTime.UtcNow < until && !service.HasExited)
                await Task.Delay(200);
            Printed(lines).ShouldBeTrue($"the first start prints the operator token; it printed:\n{Tail(lines)}");
            // What the node does after it has started has had its time to be printed too.
            await Task.Delay(TimeSpan.FromSeconds(3));

            string[] output;
            lock (lines) output = [.. lines.Where(l => l.Trim().Length > 0)];
            var tokenAt = Array.FindIndex(output, l => l.StartsWith("Operator token"));
            Array.FindLastIndex(output, l => l.Contains("CREATE", StringComparison.Ordinal)).ShouldBeLessThan(tokenAt, "the schema's output comes before the token");
            Array.FindIndex(output, l => l.Contains("Application started", StringComparison.Ordinal)).ShouldBeLessThan(tokenAt);
            output[^1].ShouldStartWith("=====", customMessage: $"the token and the next steps are last; the output ends:\n{Tail(lines)}");
            var token = Token().Match(string.Join('\n', output[tokenAt..])).Value;
            token.ShouldStartWith("chapter_");
            output[tokenAt..].ShouldContain(l => l.Contains($"export CHAPTER_ADMIN={token}"));

            using var client = ServiceProcess.Client(new Uri($"http://127.0.0.1:{port}"), token);
            (await client.GetAsync("/api/me")).StatusCode.ShouldBe(HttpStatusCode.OK);
        }
        finally
        {
            ServiceProcess.Terminate(service);
            if (!service.WaitForExit(30_000))
                service.Kill(entireProcessTree: true);
            try { data.Delete(recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }

    private static bool Printed(List<string> lines)
    {
        lock (lines) return lines.Any(l => l.StartsWith("Operator token", StringComparison.Ordinal)) && lines.Count(l => l.StartsWith("=====")) >= 2;
    }

    private static string Tail(List<string> lines)
    {
        lock (lines) return string.Join('\n', lines.TakeLast(30));
    }

    [GeneratedRegex(@"chapter_[A-Za-z0-9_\-]+")]
    private static partial Regex Token();

    private static int FreePort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }
}
