using JasperFx.MultiTenancy;
using Marten;
using Npgsql;

namespace Chapter.Api.Infrastructure;

/// <summary>
/// One of the PostgreSQL databases chapters live in: a chapter's events, views, webhooks and notification settings are all in
/// its own, so its feed positions and webhook positions are that database's sequence numbers and never another's.
/// </summary>
public sealed class ChapterDatabase(string name, NpgsqlDataSource dataSource, NpgsqlDataSource? standby = null)
{
    public string Name { get; } = name;

    public NpgsqlDataSource DataSource { get; } = dataSource;

    private readonly ChapterDatabase? _standby = standby is null ? null : new ChapterDatabase(name, standby);

    public bool HasStandby => _standby is not null;

    /// <summary>
    /// Where reads go that the API does not promise to show the latest writes (reports, reciprocity, exports): the database's
    /// standby when it has one that answers (Npgsql's multi-host data source, preferring a standby), else the database itself.
    /// Writes, their answers and the pages' reads right after a write stay on <see cref="DataSource"/>; so does Marten.
    /// </summary>
    public ChapterDatabase ForReadsThatMayLag => _standby ?? this;

    public NpgsqlCommand CreateCommand(string sql) => DataSource.CreateCommand(sql);

    public NpgsqlBatch CreateBatch() => DataSource.CreateBatch();

    public ValueTask<NpgsqlConnection> OpenConnectionAsync(CancellationToken ct = default) => DataSource.OpenConnectionAsync(ct);

    /// <summary>The views' helpers in Chapter.Projections read from a data source; a chapter's database is one.</summary>
    public static implicit operator NpgsqlDataSource(ChapterDatabase database) => database.DataSource;

    /// <summary>The database of the request's chapter (or the main one, on a route without a chapter): set by <see cref="ChapterDatabaseOfRequest.UseChapterDatabase"/>.</summary>
    public static ChapterDatabase Of(HttpContext context) =>
        context.Features.Get<ChapterDatabase>() ?? throw new InvalidOperationException("The request's database was not resolved.");

    /// <summary>Binds the request's database as a Minimal API endpoint's parameter.</summary>
    public static ValueTask<ChapterDatabase?> BindAsync(HttpContext context) => ValueTask.FromResult<ChapterDatabase?>(Of(context));

    public override string ToString() => Name;
}

/// <summary>The database a chapter was placed in has no chapter by this id: it was never created (or not on this service).</summary>
public sealed class UnknownChapter(string chapterId) : Exception($"Chapter '{chapterId}' does not exist.")
{
    public string ChapterId { get; } = chapterId;
}

/// <summary>
/// Where chapters live. With one database (<c>ConnectionStrings:Chapter</c> alone) every chapter and every row of the
/// service's own is in it. With several (<c>Chapter:Databases:{name}:ConnectionString</c>), the main database is Marten's
/// and Wolverine's master (the registry of databases and of which chapter is in which, Wolverine's node table) and holds
/// what belongs to no chapter (access tokens, sign-in codes); each chapter lives in the database it was placed in by
/// Marten's sharded tenancy.
/// </summary>
public sealed class ChapterDatabases(DatabaseLayout layout, ChapterDatabase main, IReadOnlyDictionary<string, NpgsqlDataSource> standbys,
    IServiceProvider services) : IAsyncDisposable
{
    public const string MainName = "main";

    /// <summary>The database of the connection string: every chapter's with one database, the master with several.</summary>
    public ChapterDatabase Main { get; } = main;

    public bool AreSeveral => layout.AreSeveral;

    public DatabaseLayout Layout => layout;

    private IDocumentStore Store => services.GetRequiredService<IDocumentStore>();

    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, ChapterDatabase> _byName = new(StringComparer.Ordinal);
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, ChapterDatabase> _byChapter = new(StringComparer.Ordinal);

    private Marten.Storage.ShardedTenancy Pool => (Marten.Storage.ShardedTenancy)Store.Options.Tenancy;

    /// <summary>
    /// The database a chapter was placed in; <see cref="UnknownChapter"/> when none has it. Marten's tenancy would place an
    /// unknown id on first sight: asking its registry first keeps a mistyped chapter id from becoming a chapter.
    /// </summary>
    public async ValueTask<ChapterDatabase> ForChapterAsync(string chapterId)
    {
        if (!AreSeveral)
            return Main;
        if (_byChapter.TryGetValue(chapterId, out var known))
            return known;
        if (await Pool.FindDatabaseForTenantAsync(chapterId, CancellationToken.None) is null)
            throw new UnknownChapter(chapterId);
        var tenant = await Store.Options.Tenancy.GetTenantAsync(chapterId);
        return _byChapter[chapterId] = Wrap(tenant.Database);
    }

    /// <summary>
    /// Places a new chapter: in the database the operator names, or else by Marten's smallest-database assignment (the one
    /// with the fewest chapters, of those not marked full). A chapter placed already stays where it is.
    /// </summary>
    public async ValueTask<ChapterDatabase> PlaceAsync(string chapterId, string? databaseName, CancellationToken ct)
    {
        if (!AreSeveral)
        {
            if (databaseName is not null && databaseName != MainName)
                Refuse("database", $"This service has one database, '{MainName}': leave 'database' out.");
            return Main;
        }
        if (await Pool.FindDatabaseForTenantAsync(chapterId, ct) is null)
        {
            if (databaseName is null)
            {
                if ((await Pool.ListDatabasesAsync(ct)).All(d => d.IsFull))
                    throw new RequestRefused(Problems.Unprocessable("database", "Every database is marked full: add one (README, \"Scaling out\") before creating chapters."));
                await Store.Advanced.AddTenantToShardAsync(chapterId, ct);
            }
            else
            {
                var named = (await Pool.ListDatabasesAsync(ct)).FirstOrDefault(d => d.DatabaseId == databaseName);
                if (named is null)
                    Refuse("database", $"No database is named '{databaseName}'; GET /api/admin/databases lists them.");
                if (named.IsFull)
                    throw new RequestRefused(Problems.Unprocessable("database", $"Database '{databaseName}' is marked full: name another, or leave 'database' out."));
                await Store.Advanced.AddTenantToShardAsync(chapterId, databaseName, ct);
            }
        }
        return await ForChapterAsync(chapterId);
    }

    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    private static void Refuse(string field, string detail)
    {
        var check = new Validation();
        check.Add(field, detail);
        throw new RequestRefused(check.Problem());
    }

    /// <summary>Each database, and whether Marten's registry has it marked full; with one database, that one.</summary>
    public async ValueTask<IReadOnlyList<(ChapterDatabase Database, bool Full)>> PoolAsync(CancellationToken ct)
    {
        if (!AreSeveral)
            return [(Main, false)];
        var full = (await Pool.ListDatabasesAsync(ct)).Where(r => r.IsFull).Select(r => r.DatabaseId).ToHashSet(StringComparer.Ordinal);
        return (await AllAsync()).Select(d => (d, full.Contains(d.Name))).ToList();
    }

    /// <summary>No new chapter is placed in this database (its chapters stay and work); false when it is not one of them.</summary>
    public async ValueTask<bool> MarkFullAsync(string databaseName, CancellationToken ct)
    {
        if (!AreSeveral || (await Pool.ListDatabasesAsync(ct)).All(d => d.DatabaseId != databaseName))
            return false;
        await Store.Advanced.MarkDatabaseFullAsync(databaseName, ct);
        return true;
    }

    /// <summary>Every database chapters live in, for the work that goes over all of them (webhooks, digests, status).</summary>
    public async ValueTask<IReadOnlyList<ChapterDatabase>> AllAsync()
    {
        if (!AreSeveral)
            return [Main];
        var databases = await Store.Storage.AllDatabases();
        return databases.Select(Wrap).OrderBy(d => d.Name, StringComparer.Ordinal).ToList();
    }

    /// <summary>Marten's handle on a database: its projection progress, sessions on it.</summary>
    public async ValueTask<Marten.Storage.IMartenDatabase> MartenDatabaseAsync(ChapterDatabase database) =>
        AreSeveral ? await Store.Storage.FindOrCreateDatabase(database.Name) : Store.Storage.Database;

    private ChapterDatabase Wrap(Marten.Storage.IMartenDatabase database) =>
        _byName.GetOrAdd(NameOf(database), name =>
            new ChapterDatabase(name, ((Weasel.Postgresql.PostgresqlDatabase)database).DataSource, standbys.GetValueOrDefault(name)));

    /// <summary>The main database's pool and the standbys' are the service's; Marten disposes the pools it made.</summary>
    public async ValueTask DisposeAsync()
    {
        foreach (var standby in standbys.Values)
            await standby.DisposeAsync();
        await Main.DataSource.DisposeAsync();
    }

    /// <summary>The name the database was configured by (Marten's identifier of a database in its pool).</summary>
#pragma warning disable CS0618 // Identifier is the pool's database id; Marten's DatabaseId names server and database instead
    public static string NameOf(Marten.Storage.IMartenDatabase database) => database.Identifier;
#pragma warning restore CS0618
}

public static class ChapterDatabaseOfRequest
{
    /// <summary>
    /// Resolves the request's database before anything reads: a route with a chapter gets that chapter's (404 when no database
    /// has it), any other the main one.
    /// </summary>
    public static void UseChapterDatabase(this WebApplication app) =>
        app.Use(async (context, next) =>
        {
            var databases = context.RequestServices.GetRequiredService<ChapterDatabases>();
            var database = databases.Main;
            if (databases.AreSeveral && context.GetRouteValue("chapterId") is string chapterId)
            {
                try
                {
                    database = await databases.ForChapterAsync(chapterId);
                }
                catch (UnknownChapter)
                {
                    await Problems.WriteAsync(context, new Microsoft.AspNetCore.Mvc.ProblemDetails
                    {
                        Status = StatusCodes.Status404NotFound,
                        Title = "Not found.",
                        Detail = $"Chapter '{chapterId}' does not exist.",
                    });
                    return;
                }
            }
            context.Features.Set(database);
            await next();
        });
}

/// <summary>The databases configured: none beside the main one, or several by name (<c>Chapter:Databases</c>).</summary>
public sealed record DatabaseLayout(IReadOnlyList<ConfiguredDatabase> Databases)
{
    public bool AreSeveral => Databases.Count > 0;

    public static DatabaseLayout From(IConfiguration configuration, string mainConnectionString)
    {
        var databases = new List<ConfiguredDatabase>();
        var seen = new Dictionary<string, string> { [Identity(mainConnectionString)] = "ConnectionStrings:Chapter" };
        foreach (var section in configuration.GetSection("Chapter:Databases").GetChildren())
        {
            var connectionString = section["ConnectionString"];
            if (string.IsNullOrWhiteSpace(connectionString))
                throw new InvalidOperationException($"Chapter:Databases:{section.Key}:ConnectionString is not set: each database named there needs one.");
            if (!System.Text.RegularExpressions.Regex.IsMatch(section.Key, "^[a-z][a-z0-9_]{0,39}$"))
                throw new InvalidOperationException($"Chapter:Databases:{section.Key}: a database's name is lowercase letters, digits and '_', starting with a letter.");
            if (section.Key == ChapterDatabases.MainName)
                throw new InvalidOperationException($"Chapter:Databases:{section.Key}: '{ChapterDatabases.MainName}' is the name of ConnectionStrings:Chapter's database.");
            // Marten and Wolverine know a database by its host and name (not its port): two alike would share one projection agent.
            if (seen.TryGetValue(Identity(connectionString), out var same))
                throw new InvalidOperationException(
                    $"Chapter:Databases:{section.Key} is database '{Identity(connectionString)}', as {same} is: give each database a name of its own, or a host.");
            seen[Identity(connectionString)] = $"Chapter:Databases:{section.Key}";
            databases.Add(new ConfiguredDatabase(section.Key, connectionString, section["Standby"]));
        }
        return new DatabaseLayout(databases);
    }

    private static string Identity(string connectionString)
    {
        var builder = new Npgsql.NpgsqlConnectionStringBuilder(connectionString);
        return $"{builder.Host}.{builder.Database}";
    }
}

public sealed record ConfiguredDatabase(string Name, string ConnectionString, string? Standby);
