using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Chapter.Api.Tests;

/// <summary>The service as a process of its own (built beside the tests), for what an in-process host cannot show: kill -9, SIGTERM.</summary>
public static class ServiceProcess
{
    /// <param name="settings">Environment variables beside the ones every test service gets, e.g. Chapter__Webhooks__PollEvery.</param>
    public static Process Start(string connectionString, out Uri baseAddress, IReadOnlyDictionary<string, string>? settings = null)
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        var port = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        baseAddress = new Uri($"http://127.0.0.1:{port}");
        var start = new ProcessStartInfo("dotnet", [Path.Combine(AppContext.BaseDirectory, "Chapter.Api.dll"), "--urls", baseAddress.ToString()])
        {
            WorkingDirectory = AppContext.BaseDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.Environment["ConnectionStrings__Chapter"] = connectionString;
        start.Environment["Chapter__AdminToken"] = ApiFixture.OperatorToken;
        start.Environment["Chapter__Webhooks__SecretKey"] = ApiFixture.WebhookSecretKey;
        start.Environment["Chapter__RateLimit__WritesPerMinute"] = "1000000";
        start.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
        foreach (var (name, value) in settings ?? new Dictionary<string, string>())
            start.Environment[name] = value;
        var process = Process.Start(start)!;
        // A test that fails before it stops its service would leave it running (disposing a Process does not end it).
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            try { if (!process.HasExited) process.Kill(entireProcessTree: true); }
            catch (InvalidOperationException) { }
        };
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    public static HttpClient Client(Uri baseAddress, string? token)
    {
        var client = new HttpClient { BaseAddress = baseAddress };
        if (token is not null)
            client.DefaultRequestHeaders.Authorization = new("Bearer", token);
        return client;
    }

    /// <summary>Waits until the process answers /health (any status), or fails the test.</summary>
    public static async Task WaitUntilListeningAsync(Process process, Uri baseAddress)
    {
        using var client = Client(baseAddress, null);
        var until = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            process.HasExited.ShouldBeFalse("the service process stopped while starting");
            try
            {
                await client.GetAsync("/health");
                return;
            }
            catch (HttpRequestException) when (DateTime.UtcNow < until) { }
            await Task.Delay(200);
        }
    }

    /// <summary>Runs one of the service's commands (e.g. <c>import-previous-store</c>) to its end: its exit code and what it printed.</summary>
    public static async Task<(int ExitCode, string Output)> RunCommandAsync(string connectionString, params string[] args)
    {
        var start = new ProcessStartInfo("dotnet", [Path.Combine(AppContext.BaseDirectory, "Chapter.Api.dll"), .. args])
        {
            WorkingDirectory = AppContext.BaseDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.Environment["ConnectionStrings__Chapter"] = connectionString;
        start.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"'{string.Join(' ', args)}' did not end within 2 minutes.");
        }
        return (process.ExitCode, await output + await errors);
    }

    /// <summary>What a container runtime or systemd sends to stop a service.</summary>
    public static void Terminate(Process process) => Process.Start("kill", ["-TERM", process.Id.ToString()])!.WaitForExit();
}
