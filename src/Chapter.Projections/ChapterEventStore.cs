using Npgsql;
using System.Text.Json;
using System.Text.Json.Serialization;
using Chapter.Domain;
using Chapter.Projections.Activity;
using JasperFx.Events;
using JasperFx.Events.Projections;
using Marten;
using JasperFx;
using JasperFx.MultiTenancy;
using Weasel.Core;

namespace Chapter.Projections;

/// <summary>
/// Marten, set up as Chapter needs it. The API, the tests and the benchmarks all use this one configuration,
/// so what they measure and check is what runs.
/// </summary>
public static class ChapterEventStore
{
    public const string ActivityShard = ActivityProjection.ProjectionName + ":All";

    public const int DefaultActivityBatchSize = 10_000;

    public static void Configure(StoreOptions options, string connectionString, ActivityProjection? activity, int activityBatchSize = DefaultActivityBatchSize)
    {
        options.Connection(connectionString);
        Configure(options, activity, activityBatchSize);
    }

    /// <summary>On the service's own pool, so Marten's statements are auto-prepared too and a connection is one pool's.</summary>
    public static void Configure(StoreOptions options, NpgsqlDataSource dataSource, ActivityProjection? activity, int activityBatchSize = DefaultActivityBatchSize)
    {
        options.Connection(dataSource);
        Configure(options, activity, activityBatchSize);
    }

    /// <summary>
    /// Chapters over several databases: Marten's sharded tenancy, its registry (which databases, which chapter is in which) in
    /// the main database, each chapter's events and views in the database it was placed in, with the same conjoined tenancy
    /// inside each as with one database. A chapter is placed when it is created (<c>AddTenantToShardAsync</c>: in the database
    /// the operator names, or the one with the fewest chapters); the service asks the registry before it opens a session for a
    /// chapter id, so a request for an unknown one places nothing. The service makes no documents, so the per-tenant LIST partitions
    /// sharded tenancy keeps for document tables stay at none; events are not partitioned per tenant (thousands of chapters per
    /// database would be thousands of partitions: see README, "Scaling out").
    /// </summary>
    public static void ConfigureSharded(StoreOptions options, NpgsqlDataSource master, IEnumerable<(string Name, string ConnectionString)> databases,
        ActivityProjection? activity, int activityBatchSize = DefaultActivityBatchSize)
    {
        options.MultiTenantedWithShardedDatabases(sharding =>
        {
            sharding.DataSource = master;
            foreach (var (name, connectionString) in databases)
                sharding.AddDatabase(name, connectionString);
            sharding.UseSmallestDatabaseAssignment(new FewestChaptersThatAnswers());
        });
        Configure(options, activity, activityBatchSize);
    }

    /// <summary>
    /// Marten's smallest-database assignment, by chapters placed, passing over a database that does not answer now: while one
    /// is down, new chapters go to the others instead of failing with it.
    /// </summary>
    private sealed class FewestChaptersThatAnswers : Weasel.Core.MultiTenancy.IDatabaseSizingStrategy
    {
        public async ValueTask<string> FindSmallestDatabaseAsync(IReadOnlyList<Weasel.Core.MultiTenancy.PooledDatabase> databases)
        {
            var byChapters = databases.OrderBy(d => d.TenantCount).ThenBy(d => d.DatabaseId, StringComparer.Ordinal).ToList();
            foreach (var database in byChapters)
            {
                try
                {
                    await using var connection = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(database.ConnectionString) { Timeout = 2, Pooling = false }.ConnectionString);
                    await connection.OpenAsync();
                    return database.DatabaseId;
                }
                catch (Exception e) when (e is NpgsqlException or TimeoutException)
                {
                    // Not answering: the next smallest.
                }
            }
            // None answers: the smallest, and the write that follows fails as any write to a database that does not answer.
            return byChapters[0].DatabaseId;
        }
    }

    /// <summary>
    /// What Marten's event masking rewrites in a member's stream when their personal data is erased
    /// (<c>ApplyEventDataMasking</c>, over that stream only): the events keep their ids, times and order, so every
    /// projection rebuilt from them keeps its figures, and nothing in them names the member any more.
    /// </summary>
    public static void MaskWhatAFormerMemberAskedToForget(Marten.Events.IEventStoreOptions events)
    {
        events.AddMaskingRuleForProtectedInformation<Domain.Members.MemberJoined>(joined =>
            joined with { Name = Domain.Members.MemberPersonalDataErased.FormerMember, Profession = "", Languages = [] });
        events.AddMaskingRuleForProtectedInformation<Domain.Members.MemberDetailsChanged>(changed =>
            changed with { Name = Domain.Members.MemberPersonalDataErased.FormerMember, Profession = "", Languages = [] });
        events.AddMaskingRuleForProtectedInformation<Domain.Members.MemberProfileChanged>(changed =>
            changed with { Profile = Domain.Members.MemberProfile.Empty });
    }

    private static void Configure(StoreOptions options, ActivityProjection? activity, int activityBatchSize)
    {
        // Marten's tables beside ours in public; our async read models live in schemas of their own (proj_*).
        options.DatabaseSchemaName = "public";
        options.AutoCreateSchemaObjects = AutoCreate.CreateOrUpdate;

        // The stored JSON is what the event feed serves: camelCase, enums as camelCase names, as the API writes them.
        options.UseSystemTextJsonForSerialization(new JsonSerializerOptions(JsonSerializerDefaults.Web), EnumStorage.AsInteger, Casing.CamelCase,
            json => json.Converters.Add(new JsonStringEnumConverter(JsonNamingPolicy.CamelCase)));

        // Stream keys stay the readable ones the first store used ("referral-<id>"); every event belongs to one chapter.
        options.Events.StreamIdentity = StreamIdentity.AsString;
        options.Events.TenancyStyle = TenancyStyle.Conjoined;
        options.Policies.AllDocumentsAreMultiTenanted();
        foreach (var (type, name) in EventNames.All)
            options.Events.MapEventType(type, name);

        MaskWhatAFormerMemberAskedToForget(options.Events);

        options.Events.MetadataConfig.CorrelationIdEnabled = true;
        options.Events.MetadataConfig.CausationIdEnabled = true;
        // EnableAll() leaves this off, and without it there is no user_name column: the acting principal goes here.
        options.Events.MetadataConfig.UserNameEnabled = true;

        // Quick: no round trip for sequence numbers before each append (Rich's). The inline views still carry each stream's
        // version (a referral's ETag), because every write starts its stream or appends to one fetched for writing, whose
        // versions Marten knows on the client; a plain Append with no expected version would leave them without.
        // Timestamps are the service's clock, like the domain's own times. See README, "The event store".
        options.Events.AppendMode = EventAppendMode.Quick;

        // Read-your-writes: the views a command answers with are written in the append's transaction.
        options.Projections.Add(new Chapters.ChapterProjection(), ProjectionLifecycle.Inline);
        options.Projections.Add(new Members.MemberProjection(), ProjectionLifecycle.Inline);
        options.Projections.Add(new Referrals.ReferralProjection(), ProjectionLifecycle.Inline);
        options.Projections.Add(new OneToOnes.OneToOneProjection(), ProjectionLifecycle.Inline);
        options.Projections.Add(new Meetings.MeetingProjection(), ProjectionLifecycle.Inline);
        options.Projections.Add(new Visitors.VisitorProjection(), ProjectionLifecycle.Inline);

        // Their tables, and the activity projection's schema, are Weasel objects beside Marten's: one owner for the schema.
        foreach (var table in ReadModelSchema.Tables())
            options.Storage.ExtendedSchemaObjects.Add(table);
        options.Storage.ExtendedSchemaObjects.Add(ActivityProjection.SchemaObject());

        // A node that leaves projections to others does not register it: Wolverine assigns an agent only to nodes that know it.
        if (activity is not null)
        {
            activity.Options.BatchSize = activityBatchSize;
            options.Events.Subscribe(activity);
        }
        // Why a projection stopped (the event, its type, the failure's kind) is kept with its progression, so any node, the
        // status endpoint and /health read it from there, whichever node ran the projection.
        options.Events.EnableExtendedProgressionTracking = true;

        // Never skip a gap while a transaction that could fill it is alive (Marten 9's defaults, kept on purpose:
        // changing either lost a held-open append here). The price is lag while such a transaction is open,
        // which the status and /health show.
        options.Projections.UseTransactionEvidenceForGapSkipping = true;
        options.Projections.SkipStaleGapsDespiteLiveTransactionsAfter = null;
    }
}
