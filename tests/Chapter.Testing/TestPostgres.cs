using Chapter.LocalPostgres;
using Npgsql;

namespace Chapter.Testing;

/// <summary>
/// Real PostgreSQL for tests: the server named by <c>CHAPTER_TEST_POSTGRES</c> (a connection string
/// with rights to create databases) when set, otherwise one throwaway local cluster per test process,
/// stopped when the process exits. Each caller gets a database of its own, so test classes run in parallel.
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

    private static async Task<string> StartServerAsync()
    {
        var configured = Environment.GetEnvironmentVariable(ConnectionStringVariable);
        if (!string.IsNullOrWhiteSpace(configured))
            return configured;

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
