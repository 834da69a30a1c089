using Chapter.Domain;
using Chapter.Domain.Referrals;
using Chapter.Projections;
using Chapter.Projections.Prospects;
using Chapter.Projections.Referrals;
using JasperFx;
using JasperFx.Events;
using JasperFx.Events.Projections;
using Marten;
using Marten.Events.Aggregation;
using Marten.Schema;
using JasperFx.MultiTenancy;
using Npgsql;
using Weasel.Core;

namespace Chapter.Bench;

/// <summary>A referral as a Marten document: the same fields the referral view's table holds.</summary>
public sealed class ReferralDocument
{
    public string Id { get; set; } = "";
    public string ChapterId { get; set; } = "";
    public Guid GiverId { get; set; }
    public Guid ReceiverId { get; set; }
    public string Status { get; set; } = "";
    public string Need { get; set; } = "";
    public Temperature Temperature { get; set; }
    public string Language { get; set; } = "";
    public bool ProspectConsent { get; set; }
    public string? ProspectSealed { get; set; }
    public DateTimeOffset GivenAt { get; set; }
    public DateTimeOffset? AcceptedAt { get; set; }
    public long Version { get; set; }
}

/// <summary>The document kept inline with its stream, as the referral view's SQL projection keeps its row.</summary>
public sealed class ReferralDocumentProjection : SingleStreamProjection<ReferralDocument, string>
{
    public override ReferralDocument? Evolve(ReferralDocument? snapshot, string id, IEvent e) => e.Data switch
    {
        ReferralGiven g => new ReferralDocument
        {
            Id = id, ChapterId = g.ChapterId, GiverId = g.GiverId, ReceiverId = g.ReceiverId, Status = "given", Need = g.Need,
            Temperature = g.Temperature, Language = g.Language, ProspectConsent = g.ProspectConsent, ProspectSealed = g.SealedProspect,
            GivenAt = g.GivenAt, Version = e.Version,
        },
        ReferralAccepted a when snapshot is not null => Accepted(snapshot, a.AcceptedAt, e.Version),
        _ => snapshot,
    };

    private static ReferralDocument Accepted(ReferralDocument referral, DateTimeOffset at, long version)
    {
        referral.Status = "accepted";
        referral.AcceptedAt = at;
        referral.Version = version;
        return referral;
    }
}

/// <summary>
/// Issue 21's question for the views: would a view cost more as a Marten document, read through <c>IQuerySession</c>, than as
/// the SQL table its projection writes now? The referral view, both ways, on the same server in the same run: gives appended with
/// each view kept inline, then reads of one referral and of a chapter's newest page (50, as the API's default).
/// </summary>
internal static class ViewBenchmark
{
    private const int Chapters = 50;

    public static async Task RunAsync(string connectionString, int seconds, int referrals)
    {
        await using var dataSource = new NpgsqlDataSourceBuilder(connectionString) { ConnectionStringBuilder = { MaxPoolSize = 64, MaxAutoPrepare = 50, AutoPrepareMinUsages = 2 } }.Build();
        var tableDatabase = await CreateDatabaseAsync(dataSource, "views_table");
        var documentDatabase = await CreateDatabaseAsync(dataSource, "views_document");

        // The same event store, with the referral view kept either as the table or as the document (nothing else inline).
        await using var tableStore = DocumentStore.For(options =>
        {
            Base(options, tableDatabase);
            foreach (var table in ReadModelSchema.Tables())
                options.Storage.ExtendedSchemaObjects.Add(table);
            options.Projections.Add(new ReferralProjection(), ProjectionLifecycle.Inline);
        });
        await using var documentStore = DocumentStore.For(options =>
        {
            Base(options, documentDatabase);
            options.Projections.Add(new ReferralDocumentProjection(), ProjectionLifecycle.Inline);
            // The list reads a chapter's newest first: an index per tenant on the give's time, as the table has.
            options.Schema.For<ReferralDocument>().Index(x => x.GivenAt, index => index.TenancyScope = Marten.Schema.Indexing.Unique.TenancyScope.PerTenant);
        });
        await tableStore.Storage.ApplyAllConfiguredChangesToDatabaseAsync();
        await documentStore.Storage.ApplyAllConfiguredChangesToDatabaseAsync();
        await using var tableReads = NpgsqlDataSource.Create(tableDatabase);

        Console.WriteLine($"PostgreSQL {await AppendBenchmark.ScalarAsync(dataSource, "SHOW server_version")}, fsync={await AppendBenchmark.ScalarAsync(dataSource, "SHOW fsync")}, " +
                          $"{Environment.ProcessorCount} cores, {seconds} s per measurement, {referrals:N0} referrals in {Chapters} chapters");
        Console.WriteLine();

        var ids = new List<(string Chapter, Guid Id)>();
        var given = DateTimeOffset.UtcNow.AddDays(-400);
        for (var i = 0; i < referrals; i++)
            ids.Add(($"chapter-{i % Chapters}", Guid.NewGuid()));

        Console.WriteLine("| what | table (per s) | document (per s) | document ÷ table |");
        Console.WriteLine("|---|--:|--:|--:|");

        // Writes: the gives that fill both views, 8 writers, each a new stream with its view in the append's transaction.
        Func<Task<bool>> Gives(DocumentStore store)
        {
            var next = new System.Runtime.CompilerServices.StrongBox<int>(-1);
            return async () =>
            {
                var i = Interlocked.Increment(ref next.Value);
                if (i >= ids.Count)
                    return false;
                var (chapter, id) = ids[i];
                await using var session = store.LightweightSession(chapter);
                session.Events.StartStream(ReferralDecider.StreamId(id), Referral(chapter, id, given.AddMinutes(i)));
                await session.SaveChangesAsync();
                return true;
            };
        }
        var tableWrites = await TimeAllAsync(8, Gives(tableStore));
        var documentWrites = await TimeAllAsync(8, Gives(documentStore));
        Row("give (append with the view inline), 8 writers", tableWrites, documentWrites);

        var random = new Random(7);
        (string Chapter, Guid Id) Any() => ids[random.Next(ids.Count)];
        foreach (var readers in new[] { 1, 8 })
        {
            var tableGets = await CountAsync(readers, seconds, async () =>
            {
                var (chapter, id) = Any();
                _ = await ReferralProjection.GetAsync(tableReads, chapter, id, CancellationToken.None) ?? throw new InvalidOperationException("missing");
            });
            var documentGets = await CountAsync(readers, seconds, async () =>
            {
                var (chapter, id) = Any();
                await using var session = documentStore.QuerySession(chapter);
                _ = await session.LoadAsync<ReferralDocument>(ReferralDecider.StreamId(id)) ?? throw new InvalidOperationException("missing");
            });
            Row($"read one referral, {readers} reader(s)", tableGets, documentGets);

            var tableLists = await CountAsync(readers, seconds, async () =>
            {
                var (chapter, _) = Any();
                var (page, _) = await ReferralProjection.ListAsync(tableReads, chapter, null, null, new PageRequest(50, null), CancellationToken.None);
                if (page.Count == 0) throw new InvalidOperationException("empty");
            });
            var documentLists = await CountAsync(readers, seconds, async () =>
            {
                var (chapter, _) = Any();
                await using var session = documentStore.QuerySession(chapter);
                var page = await session.Query<ReferralDocument>().OrderByDescending(r => r.GivenAt).ThenBy(r => r.Id).Take(51).ToListAsync();
                if (page.Count == 0) throw new InvalidOperationException("empty");
            });
            Row($"read a chapter's newest 50, {readers} reader(s)", tableLists, documentLists);
        }
        Console.WriteLine();
        Console.WriteLine("The table's reads open the sealed prospect with its key (a join to prospect_keys) as the API's do; the document's do not.");
    }

    private static void Row(string what, double table, double document) =>
        Console.WriteLine($"| {what} | {table:N0} | {document:N0} | {document / table:F2} |");

    private static void Base(StoreOptions options, string connectionString)
    {
        options.Connection(connectionString);
        options.DatabaseSchemaName = "public";
        options.AutoCreateSchemaObjects = AutoCreate.CreateOrUpdate;
        options.UseSystemTextJsonForSerialization(new System.Text.Json.JsonSerializerOptions(System.Text.Json.JsonSerializerDefaults.Web), EnumStorage.AsInteger,
            Casing.CamelCase, json => json.Converters.Add(new System.Text.Json.Serialization.JsonStringEnumConverter(System.Text.Json.JsonNamingPolicy.CamelCase)));
        options.Events.StreamIdentity = StreamIdentity.AsString;
        options.Events.TenancyStyle = TenancyStyle.Conjoined;
        options.Policies.AllDocumentsAreMultiTenanted();
        options.Events.AppendMode = EventAppendMode.Quick;
        foreach (var (type, name) in EventNames.All)
            options.Events.MapEventType(type, name);
    }

    private static readonly string SealedProspect = ProspectSeal.Seal(ProspectSeal.NewKey(), Guid.NewGuid(),
        new ProspectContact("Sara Lind", "sara.lind@example.se", "+46 70 123 45 67", "Lind Bygg AB"));

    private static ReferralGiven Referral(string chapter, Guid id, DateTimeOffset at) => new(
        id, chapter, Guid.NewGuid(), Guid.NewGuid(), true, SealedProspect,
        "Looking for a new office lease in Södermalm, 200 m², from March", Temperature.Warm, "sv", at);

    private static async Task<string> CreateDatabaseAsync(NpgsqlDataSource server, string name)
    {
        await using (var drop = server.CreateCommand($"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            await drop.ExecuteNonQueryAsync();
        await using (var create = server.CreateCommand($"CREATE DATABASE {name}"))
            await create.ExecuteNonQueryAsync();
        return new NpgsqlConnectionStringBuilder(server.ConnectionString) { Database = name }.ConnectionString;
    }

    /// <summary>Runs until the operation says there is nothing left; how many it did per second.</summary>
    private static async Task<double> TimeAllAsync(int workers, Func<Task<bool>> operation)
    {
        var stopwatch = System.Diagnostics.Stopwatch.StartNew();
        long count = 0;
        await Task.WhenAll(Enumerable.Range(0, workers).Select(_ => Task.Run(async () =>
        {
            while (await operation())
                Interlocked.Increment(ref count);
        })));
        return count / stopwatch.Elapsed.TotalSeconds;
    }

    private static async Task<double> CountAsync(int workers, int seconds, Func<Task> operation)
    {
        long count = 0;
        var warmUntil = DateTime.UtcNow.AddSeconds(1);
        while (DateTime.UtcNow < warmUntil)
            await operation();
        var stopwatch = System.Diagnostics.Stopwatch.StartNew();
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        await Task.WhenAll(Enumerable.Range(0, workers).Select(_ => Task.Run(async () =>
        {
            while (DateTime.UtcNow < deadline)
            {
                await operation();
                Interlocked.Increment(ref count);
            }
        })));
        return count / stopwatch.Elapsed.TotalSeconds;
    }
}
