using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Chapter.LocalPostgres;

public sealed record LocalPostgresOptions
{
    /// <summary>Where the cluster lives; a fresh temporary folder when null.</summary>
    public string? DataDirectory { get; init; }

    /// <summary>The loopback port; 0 picks a free one.</summary>
    public int Port { get; init; }

    /// <summary>Trade durability for speed (fsync off): for throwaway test clusters only.</summary>
    public bool Throwaway { get; init; }

    public int MaxConnections { get; init; } = 100;
}

/// <summary>
/// A PostgreSQL cluster started from the machine's server binaries, listening on 127.0.0.1 only,
/// with trust authentication for the <c>postgres</c> user. For development and tests, never production.
/// </summary>
public sealed class LocalPostgresCluster : IAsyncDisposable
{
    private readonly string _binDirectory;
    private readonly bool _deleteOnDispose;
    private string _serverOptions = "";

    private LocalPostgresCluster(string binDirectory, string dataDirectory, int port, bool deleteOnDispose)
    {
        _binDirectory = binDirectory;
        DataDirectory = dataDirectory;
        Port = port;
        _deleteOnDispose = deleteOnDispose;
    }

    public string DataDirectory { get; }
    public int Port { get; }

    public string ConnectionString(string database = "postgres") =>
        $"Host=127.0.0.1;Port={Port};Username=postgres;Database={database};Keepalive=30";

    public static async Task<LocalPostgresCluster> StartAsync(LocalPostgresOptions options, CancellationToken cancellationToken = default)
    {
        var bin = FindServerBinaries();
        var throwawayDirectory = options.DataDirectory is null;
        var dataDirectory = options.DataDirectory ?? Path.Combine(Path.GetTempPath(), $"chapter-pg-{Guid.NewGuid():N}");
        var port = options.Port == 0 ? FreeLoopbackPort() : options.Port;
        var cluster = new LocalPostgresCluster(bin, Path.GetFullPath(dataDirectory), port, throwawayDirectory);
        await cluster.InitializeAndStartAsync(options, cancellationToken);
        return cluster;
    }

    private async Task InitializeAndStartAsync(LocalPostgresOptions options, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(DataDirectory);
        if (RunningAsRoot)
        {
            // initdb refuses to run as root; the cluster belongs to the postgres user.
            await RunAsync("chown", ["-R", "postgres:postgres", DataDirectory], cancellationToken);
        }
        await RunAsync("chmod", ["0700", DataDirectory], cancellationToken);

        if (!File.Exists(Path.Combine(DataDirectory, "PG_VERSION")))
        {
            await RunServerToolAsync("initdb",
                ["-D", DataDirectory, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-locale", "--no-instructions"],
                cancellationToken);
        }

        var serverOptions = string.Join(' ',
            $"-p {Port}",
            "-c listen_addresses=127.0.0.1",
            "-c unix_socket_directories=''",
            $"-c max_connections={options.MaxConnections}",
            options.Throwaway ? "-c fsync=off -c synchronous_commit=off -c full_page_writes=off" : "");
        _serverOptions = serverOptions;
        await StartAgainAsync(cancellationToken);
    }

    /// <summary>
    /// A streaming standby of this cluster (<c>pg_basebackup -R</c>: a copy that follows the primary's WAL), on a port of its own,
    /// read-only, deleted when disposed. For tests of reads from a standby.
    /// </summary>
    public async Task<LocalPostgresCluster> StartStandbyAsync(CancellationToken cancellationToken = default)
    {
        var dataDirectory = Path.Combine(Path.GetTempPath(), $"chapter-pg-standby-{Guid.NewGuid():N}");
        var standby = new LocalPostgresCluster(_binDirectory, dataDirectory, FreeLoopbackPort(), deleteOnDispose: true);
        Directory.CreateDirectory(dataDirectory);
        if (RunningAsRoot)
            await RunAsync("chown", ["-R", "postgres:postgres", dataDirectory], cancellationToken);
        await RunAsync("chmod", ["0700", dataDirectory], cancellationToken);
        // initdb's trust rules admit replication from 127.0.0.1; -R writes primary_conninfo and standby.signal; a fast checkpoint
        // starts the copy at once (a spread one waits for up to checkpoint_timeout).
        await RunServerToolAsync("pg_basebackup", ["-D", dataDirectory, "-h", "127.0.0.1", "-p", Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "-U", "postgres", "-X", "stream", "-R", "--checkpoint=fast"], cancellationToken);
        standby._serverOptions = System.Text.RegularExpressions.Regex.Replace(_serverOptions, @"-p \d+", $"-p {standby.Port}");
        await standby.StartAgainAsync(cancellationToken);
        return standby;
    }

    /// <summary>A clean shutdown: what is committed stays (a throwaway cluster runs with synchronous_commit off).</summary>
    public Task StopAsync(CancellationToken cancellationToken = default) => StopAsync("fast", cancellationToken);

    private Task StopAsync(string mode, CancellationToken cancellationToken) =>
        RunServerToolAsync("pg_ctl", ["-D", DataDirectory, "-m", mode, "-w", "stop"], cancellationToken);

    /// <summary>Starts the server again after <see cref="StopAsync"/>, with the same settings (for outage tests).</summary>
    public Task StartAgainAsync(CancellationToken cancellationToken = default) =>
        RunServerToolAsync("pg_ctl",
            ["-D", DataDirectory, "-l", Path.Combine(DataDirectory, "server.log"), "-o", _serverOptions, "-w", "-t", "60", "start"],
            cancellationToken);

    /// <summary>Restarts the server with the same settings, dropping every connection (for resilience tests).</summary>
    public Task RestartAsync(CancellationToken cancellationToken = default) =>
        RunServerToolAsync("pg_ctl", ["-D", DataDirectory, "-m", "fast", "-w", "-t", "60", "restart"], cancellationToken);

    public async ValueTask DisposeAsync()
    {
        try
        {
            // A throwaway cluster's data is deleted next: no need to write it out first. One stopped already (an outage test
            // that failed before starting it again) has nothing to stop.
            if (IsRunning(DataDirectory))
                await StopAsync(_deleteOnDispose ? "immediate" : "fast", CancellationToken.None);
        }
        finally
        {
            if (_deleteOnDispose && Directory.Exists(DataDirectory))
                Directory.Delete(DataDirectory, recursive: true);
        }
    }

    /// <summary>True when a cluster already runs from this data directory (e.g. left by an earlier run).</summary>
    public static bool IsRunning(string dataDirectory) => File.Exists(Path.Combine(dataDirectory, "postmaster.pid"));

    private static bool RunningAsRoot => Environment.IsPrivilegedProcess;

    private Task RunServerToolAsync(string tool, IReadOnlyList<string> arguments, CancellationToken cancellationToken)
    {
        var path = Path.Combine(_binDirectory, tool);
        return RunningAsRoot
            ? RunAsync("runuser", ["-u", "postgres", "--", path, .. arguments], cancellationToken)
            : RunAsync(path, arguments, cancellationToken);
    }

    private static async Task RunAsync(string fileName, IReadOnlyList<string> arguments, CancellationToken cancellationToken)
    {
        var startInfo = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            // Run from a folder the postgres user can enter, whatever the caller's working directory.
            WorkingDirectory = "/",
        };
        foreach (var argument in arguments)
            startInfo.ArgumentList.Add(argument);

        using var process = Process.Start(startInfo) ?? throw new InvalidOperationException($"Could not start {fileName}.");
        var output = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var error = process.StandardError.ReadToEndAsync(cancellationToken);
        await process.WaitForExitAsync(cancellationToken);
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException(
                $"{fileName} {string.Join(' ', arguments)} exited with {process.ExitCode}:\n{await output}\n{await error}");
        }
    }

    /// <summary>
    /// The newest installed server's bin folder: <c>CHAPTER_PG_BIN</c> when set, else Debian's
    /// <c>/usr/lib/postgresql/N/bin</c>, else wherever <c>initdb</c> is on the PATH.
    /// </summary>
    public static string FindServerBinaries()
    {
        var configured = Environment.GetEnvironmentVariable("CHAPTER_PG_BIN");
        if (!string.IsNullOrEmpty(configured))
            return configured;

        const string debianRoot = "/usr/lib/postgresql";
        if (Directory.Exists(debianRoot))
        {
            var newest = Directory.GetDirectories(debianRoot)
                .Select(dir => (dir, version: int.TryParse(Path.GetFileName(dir), out var v) ? v : -1))
                .Where(d => File.Exists(Path.Combine(d.dir, "bin", "initdb")))
                .OrderByDescending(d => d.version)
                .Select(d => Path.Combine(d.dir, "bin"))
                .FirstOrDefault();
            if (newest is not null)
                return newest;
        }

        var onPath = (Environment.GetEnvironmentVariable("PATH") ?? "")
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .FirstOrDefault(dir => File.Exists(Path.Combine(dir, "initdb")) && File.Exists(Path.Combine(dir, "pg_ctl")));
        return onPath ?? throw new InvalidOperationException(
            "No PostgreSQL server binaries found (initdb, pg_ctl). Run `./chapter setup` (installs Debian's postgresql package), " +
            "set CHAPTER_PG_BIN to their folder, or configure ConnectionStrings:Chapter to use an existing server.");
    }

    private static int FreeLoopbackPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
