using Marten;
using Marten.Services;
using Npgsql;

namespace Chapter.Api.Infrastructure;

/// <summary>
/// Logs carry ids, never what people typed (needs, notes, reasons, names, profile texts): that is personal data, and a
/// log is kept, shipped and read where the database's rules on erasure do not reach. Writes are HTTP functions, not
/// messages Wolverine would log whole when they fail: a refusal is the caller's 4xx (<see cref="ProblemMapping"/>), never an
/// error in the log, and Wolverine names a notice it fails to deliver by its type and id.
/// </summary>
public static class PersonalDataFreeLogging
{
    /// <summary>
    /// Marten's own logger writes every parameter of every statement (the events' JSON among them) at Debug, and again at
    /// Error when a statement fails. This one keeps the statements and their timings, never the values. It is put in place
    /// once the store is built, before any session opens (sessions read the store's logger when they open): Marten hands
    /// its daemon, its leadership lock and its projections their loggers only when it chose its own statement logger
    /// (the logger factory it keeps for them is internal), so one configured up front would silence all of those.
    /// </summary>
    public static void UsePersonalDataFreeMartenLogging(this WebApplication app)
    {
        var store = (DocumentStore)app.Services.GetRequiredService<IDocumentStore>();
        store.Options.Logger(new StatementsOnlyMartenLogger(app.Services.GetRequiredService<ILogger<IDocumentStore>>()));
    }

    private sealed class StatementsOnlyMartenLogger(ILogger logger) : IMartenLogger, IMartenSessionLogger
    {
        public IMartenSessionLogger StartSession(IQuerySession session) => this;

        public void SchemaChange(string sql) => logger.LogInformation("Executed schema update SQL:\n{SQL}", sql);

        public void LogSuccess(NpgsqlCommand command)
        {
            if (logger.IsEnabled(LogLevel.Debug))
                logger.LogDebug("Marten executed: {SQL}", command.CommandText);
        }

        public void LogSuccess(NpgsqlBatch batch)
        {
            if (logger.IsEnabled(LogLevel.Debug))
                logger.LogDebug("Marten executed a batch: {SQL}", string.Join(";\n", batch.BatchCommands.Cast<NpgsqlBatchCommand>().Select(static c => c.CommandText)));
        }

        // Most failures are a writer that lost a race (the caller's 409) or the database gone (a 503): whatever is the
        // service's trouble is logged again, by ProblemMapping or the daemon, where it surfaces. No exception message here:
        // PostgreSQL's may quote a value.
        public void LogFailure(NpgsqlCommand command, Exception ex) => Failed(ex, command.CommandText);

        public void LogFailure(NpgsqlBatch batch, Exception ex) => Failed(ex, string.Join(";\n", batch.BatchCommands.Cast<NpgsqlBatchCommand>().Select(static c => c.CommandText)));

        public void LogFailure(Exception ex, string message) => Failed(ex, message);

        private void Failed(Exception ex, string sql) =>
            logger.LogInformation("Marten statement failed with {Exception} {SqlState}: {SQL}", ex.GetType().Name, (ex as PostgresException)?.SqlState, sql);

        public void RecordSavedChanges(IDocumentSession session, IChangeSet commit)
        {
        }

        public void OnBeforeExecute(NpgsqlCommand command)
        {
        }

        public void OnBeforeExecute(NpgsqlBatch batch)
        {
        }
    }
}
