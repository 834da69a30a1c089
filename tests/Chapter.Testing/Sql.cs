using Npgsql;

namespace Chapter.Testing;

/// <summary>One statement on a connection of its own, for tests that act on a database beside (or without) a running service.</summary>
public static class Sql
{
    public static async Task ExecuteAsync(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        // Long enough to wait out a lock held by a transaction a test keeps open on purpose.
        await using var command = new NpgsqlCommand(sql, connection) { CommandTimeout = 60 };
        await command.ExecuteNonQueryAsync();
    }

    public static async Task<object?> ScalarAsync(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return await command.ExecuteScalarAsync();
    }

    public static async Task<long> CountAsync(string connectionString, string sql) => Convert.ToInt64(await ScalarAsync(connectionString, sql));
}
