using Chapter.LocalPostgres;
using DotNet.Testcontainers.Configurations;
using Npgsql;
using Testcontainers.PostgreSql;

namespace Chapter.Testing;

/// <summary>Where the tests' PostgreSQL comes from.</summary>
public enum TestPostgresSource { Configured, Testcontainers, LocalCluster }

/// <summary>
/// Real PostgreSQL for tests: the server named by <c>CHAPTER_TEST_POSTGRES</c> (a connection string
/// with rights to create databases) when set; else a Testcontainers PostgreSQL when a Docker engine answers;
/// else one throwaway local cluster per test process. Either is stopped when the process exits. Each caller gets a
/// database of its own, so test classes run in parallel.
/// </summary>
public static class TestPostgres
{
    public const string ConnectionStringVariable = "CHAPTER_TEST_POSTGRES";

    private static readonly Lazy<Task<string>> AdminConnectionString = new(StartServerAsync);

    public static async Task<string> CreateDatabaseAsync()
    {
        var admin = await AdminConnectionString.Value;
        var name = $"test_{Guid.NewGuid():N}";
        await using (var connection = new NpgsqlConnection(admin))
        {
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand($"CREATE DATABASE {name}", connection);
            await command.ExecuteNonQueryAsync();
        }
        return new NpgsqlConnectionStringBuilder(admin) { Database = name }.ConnectionString;
    }

    /// <summary>What this test process uses, decided once: a configured server, Docker, or a local cluster.</summary>
    /// <summary>
    /// A throwaway cluster of the test's own, with a database <c>chapter</c>, for tests that stop or restart PostgreSQL; null
    /// unless tests run on local clusters (a configured server or a container is not the test's to stop).
    /// </summary>
    public static async Task<LocalPostgresCluster?> StartOwnClusterAsync()
    {
        if (Source != TestPostgresSource.LocalCluster)
            return null;
        var cluster = await LocalPostgresCluster.StartAsync(new LocalPostgresOptions { Throwaway = true, MaxConnections = 60 });
        await using var connection = new NpgsqlConnection(cluster.ConnectionString());
        await connection.OpenAsync();
        await using var create = new NpgsqlCommand("CREATE DATABASE chapter", connection);
        await create.ExecuteNonQueryAsync();
        return cluster;
    }

    public static TestPostgresSource Source { get; } =
        !string.IsNullOrWhiteSpace(Environment.GetEnvironmentVariable(ConnectionStringVariable)) ? TestPostgresSource.Configured
        : DockerAnswers() ? TestPostgresSource.Testcontainers
        : TestPostgresSource.LocalCluster;

    /// <summary>
    /// Testcontainers' own look-up of a Docker endpoint (environment, ~/.testcontainers.properties, the socket): null within
    /// about 150 ms when there is none, where building a container would throw DockerUnavailableException.
    /// </summary>
    public static bool DockerAnswers() => TestcontainersSettings.OS.DockerEndpointAuthConfig is not null;

    private static async Task<string> StartServerAsync()
    {
        if (Source == TestPostgresSource.Configured)
            return Environment.GetEnvironmentVariable(ConnectionStringVariable)!;

        if (Source == TestPostgresSource.Testcontainers)
        {
            var container = new PostgreSqlBuilder("postgres:15-alpine").WithCommand("-c", "fsync=off", "-c", "max_connections=300").Build();
            await container.StartAsync();
            AppDomain.CurrentDomain.ProcessExit += (_, _) => container.DisposeAsync().AsTask().GetAwaiter().GetResult();
            return container.GetConnectionString();
        }

        RemoveStoppedThrowawayClusters();
        var cluster = await LocalPostgresCluster.StartAsync(new LocalPostgresOptions { Throwaway = true, MaxConnections = 300 });
        AppDomain.CurrentDomain.ProcessExit += (_, _) => cluster.DisposeAsync().AsTask().GetAwaiter().GetResult();
        return cluster.ConnectionString();
    }

    // The test host may be killed before the exit handler has deleted its folder; sweep such leftovers.
    private static void RemoveStoppedThrowawayClusters()
    {
        foreach (var directory in Directory.GetDirectories(Path.GetTempPath(), "chapter-pg-*"))
        {
            if (LocalPostgresCluster.IsRunning(directory) || Directory.GetLastWriteTimeUtc(directory) > DateTime.UtcNow.AddMinutes(-1))
                continue;
            try { Directory.Delete(directory, recursive: true); }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }
        }
    }
}
