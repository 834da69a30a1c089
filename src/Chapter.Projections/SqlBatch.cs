using Npgsql;

namespace Chapter.Projections;

internal static class SqlBatch
{
    /// <summary>Adds a statement with positional parameters ($1, $2, …) to the batch.</summary>
    public static void Add(this NpgsqlBatch batch, string sql, params object?[] values)
    {
        var command = new NpgsqlBatchCommand(sql);
        foreach (var value in values)
            command.Parameters.Add(new NpgsqlParameter { Value = value ?? DBNull.Value });
        batch.BatchCommands.Add(command);
    }
}
