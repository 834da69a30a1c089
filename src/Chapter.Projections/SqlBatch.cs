using System.Text;
using Marten;

namespace Chapter.Projections;

internal static class SqlBatch
{
    /// <summary>
    /// Queues a statement written with PostgreSQL's positional parameters ($1, $2, …) into Marten's unit of work,
    /// which takes "?" placeholders in order: the SQL stays readable where a parameter is used out of order or twice.
    /// </summary>
    public static void Sql(this IDocumentOperations operations, string sql, params object?[] values)
    {
        var text = new StringBuilder(sql.Length);
        var ordered = new List<object>();
        for (var i = 0; i < sql.Length; i++)
        {
            if (sql[i] == '$' && i + 1 < sql.Length && char.IsAsciiDigit(sql[i + 1]))
            {
                var start = ++i;
                while (i + 1 < sql.Length && char.IsAsciiDigit(sql[i + 1]))
                    i++;
                var index = int.Parse(sql.AsSpan(start, i - start + 1)) - 1;
                ordered.Add(values[index] ?? DBNull.Value);
                text.Append('?');
            }
            else
            {
                text.Append(sql[i]);
            }
        }
        operations.QueueSqlCommand(text.ToString(), [.. ordered]);
    }
}
