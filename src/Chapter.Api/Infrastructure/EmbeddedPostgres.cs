using Chapter.LocalPostgres;
using Npgsql;

namespace Chapter.Api.Infrastructure;

/// <summary>
/// The embedded default for development: a PostgreSQL cluster kept under <c>.data/postgres</c> in the
/// repository, started with the API and stopped with it. Configure <c>ConnectionStrings:Chapter</c> to use a real server instead.
/// </summary>
public static class EmbeddedPostgres
{
    /// <param name="DataDirectory">The folder the cluster's data is in, and beside it the keys the service generated for itself.</param>
    public sealed record Started(string ConnectionString, LocalPostgresCluster? Cluster, string DataDirectory);

    public static async Task<Started> StartAsync(IConfiguration configuration, IHostEnvironment environment)
    {
        var dataDirectory = configuration["Chapter:EmbeddedPostgres:DataDirectory"] ?? DefaultDataDirectory(environment);
        var port = configuration.GetValue("Chapter:EmbeddedPostgres:Port", 54329);
        Console.WriteLine($"No ConnectionStrings:Chapter configured: using the embedded PostgreSQL in {dataDirectory} on 127.0.0.1:{port}.");

        LocalPostgresCluster? cluster = null;
        var serverConnection = $"Host=127.0.0.1;Port={port};Username=postgres;Database=postgres";
        if (!await AnswersAsync(serverConnection))
        {
            cluster = await LocalPostgresCluster.StartAsync(new LocalPostgresOptions { DataDirectory = dataDirectory, Port = port });
            serverConnection = cluster.ConnectionString();
        }

        await using (var connection = new NpgsqlConnection(serverConnection))
        {
            await connection.OpenAsync();
            await using var exists = new NpgsqlCommand("SELECT 1 FROM pg_database WHERE datname = 'chapter'", connection);
            if (await exists.ExecuteScalarAsync() is null)
            {
                await using var create = new NpgsqlCommand("CREATE DATABASE chapter", connection);
                await create.ExecuteNonQueryAsync();
            }
        }
        return new Started(new NpgsqlConnectionStringBuilder(serverConnection) { Database = "chapter" }.ConnectionString, cluster,
            Path.GetDirectoryName(Path.GetFullPath(dataDirectory))!);
    }

    private static async Task<bool> AnswersAsync(string connectionString)
    {
        try
        {
            await using var connection = new NpgsqlConnection(connectionString + ";Timeout=2");
            await connection.OpenAsync();
            return true;
        }
        catch (Exception e) when (e is NpgsqlException or TimeoutException or System.Net.Sockets.SocketException)
        {
            return false;
        }
    }

    private static string DefaultDataDirectory(IHostEnvironment environment)
    {
        var repositoryRoot = FindRepositoryRoot(environment.ContentRootPath) ?? FindRepositoryRoot(Directory.GetCurrentDirectory());
        var inRepository = Path.Combine(repositoryRoot ?? Directory.GetCurrentDirectory(), ".data", "postgres");
        // As root the server runs as the postgres user, who must be able to reach the folder;
        // a checkout under /root is not reachable, so fall back to a system folder.
        return Environment.IsPrivilegedProcess && !ReachableByOthers(Path.GetDirectoryName(inRepository)!)
            ? "/var/lib/chapter/postgres"
            : inRepository;
    }

    internal static string? FindRepositoryRoot(string start)
    {
        for (var directory = new DirectoryInfo(start); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Chapter.sln")))
                return directory.FullName;
        }
        return null;
    }

    private static bool ReachableByOthers(string path)
    {
        for (var directory = new DirectoryInfo(path); directory is not null; directory = directory.Parent)
        {
            if (directory.Exists && !directory.UnixFileMode.HasFlag(UnixFileMode.OtherExecute))
                return false;
        }
        return true;
    }
}
