using System.Text.Json;
using Chapter.Domain.Chapters;
using Chapter.Domain.Members;
using Chapter.Domain.OneToOnes;
using Chapter.Domain.Referrals;
using Chapter.Domain.Shared;
using JasperFx.Events;
using Marten;
using JasperFx.Events.Daemon;
using JasperFx.Events.Projections;
using Marten.Services;
using Marten.Subscriptions;
using Npgsql;

namespace Chapter.Projections.Activity;

/// <summary>
/// Async projection of the facts behind relationships, giving profiles, circulation and weekly reports, run by
/// Marten's daemon. It keeps no prospect data: who the prospect was does not matter to how help circulates.
/// Its tables live in a schema of their own (<see cref="Schema"/>) with the position they have applied up to, so a rebuild
/// fills a second copy (<see cref="RebuildSchema"/>, from position 0) while the first keeps serving, and the copy takes the
/// first one's name in the transaction of the page that brings it level (<see cref="PlaceAsync"/>).
/// It is a Marten subscription rather than an <c>IProjection</c>: a raw projection is handed each batch in slices, one per
/// tenant (chapter), and each slice paid its own statements; a subscription gets the whole page, and its writes commit with
/// its progress in one transaction all the same.
/// </summary>
public sealed class ActivityProjection : SubscriptionBase
{
    public const string ProjectionName = "activity";
    public const string Schema = "proj_activity";
    public const string RebuildSchema = "proj_activity__rebuild";

    public ActivityProjection(int batchSize = ChapterEventStore.DefaultActivityBatchSize)
    {
        Name = ProjectionName;
        Options.BatchSize = batchSize;
    }

    /// <summary>How many hash partitions referrals and their steps are spread over (a power of two).</summary>
    public const int Partitions = 32;

    // A report reads one chapter's whole history. Rows of many chapters appended in time order would put nearly each of
    // a chapter's referrals on a page of its own, so referrals and their later steps are hash-partitioned by chapter: a
    // chapter's rows share a partition with those of about one in 32 of the other chapters. (A partition per chapter read
    // faster still, but a batch spanning a couple of thousand chapters then locked more partitions than PostgreSQL's lock
    // table holds on its default settings: 53200.) Later steps are inserted as rows of their own instead of updating the
    // referral: no statement looks rows up to change them, and steps need no index.
    public static string SchemaSql =>
        $"""
        CREATE TABLE chapters (id text PRIMARY KEY, time_zone text NOT NULL, currency text NOT NULL, tie_half_life_days int NOT NULL);
        CREATE TABLE members (chapter_id text NOT NULL, id uuid NOT NULL, name text NOT NULL, joined_at timestamptz NOT NULL, left_at timestamptz,
            PRIMARY KEY (chapter_id, id));
        CREATE TABLE referrals (
            chapter_id text NOT NULL, id uuid NOT NULL, giver_id uuid NOT NULL, receiver_id uuid NOT NULL, given_at timestamptz NOT NULL,
            accepted_at timestamptz, declined_at timestamptz, closed_at timestamptz, outcome text, value_amount numeric, value_currency text,
            thanked_at timestamptz, withdrawn_at timestamptz,
            PRIMARY KEY (chapter_id, id)) PARTITION BY HASH (chapter_id);
        CREATE TABLE referral_steps (
            chapter_id text NOT NULL, referral_id uuid NOT NULL,
            accepted_at timestamptz, declined_at timestamptz, closed_at timestamptz, outcome text, value_amount numeric, value_currency text,
            thanked_at timestamptz, {StepColumnsAddedSql.Replace("ADD COLUMN IF NOT EXISTS ", "")}) PARTITION BY HASH (chapter_id);
        {string.Concat(Enumerable.Range(0, Partitions).Select(i =>
            $"CREATE TABLE referrals_{i} PARTITION OF referrals FOR VALUES WITH (MODULUS {Partitions}, REMAINDER {i});\n" +
            $"CREATE TABLE referral_steps_{i} PARTITION OF referral_steps FOR VALUES WITH (MODULUS {Partitions}, REMAINDER {i});\n"))}
        CREATE TABLE one_to_ones (chapter_id text NOT NULL, id uuid NOT NULL, member_a uuid NOT NULL, member_b uuid NOT NULL, held_on date NOT NULL,
            PRIMARY KEY (chapter_id, id));
        {AppliedTableSql}
        INSERT INTO applied (position) VALUES (0);
        """;

    // Later steps that change what an earlier one said: the giver withdrew the referral, passed it to another member
    // (receiver_id, at redirected_at), or a correction set the outcome and value anew (at corrected_at). When a referral's rows
    // are folded, the latest redirect and the latest correction win, whatever order the rows come in.
    private const string StepColumnsAddedSql =
        "ADD COLUMN IF NOT EXISTS withdrawn_at timestamptz, ADD COLUMN IF NOT EXISTS receiver_id uuid, " +
        "ADD COLUMN IF NOT EXISTS redirected_at timestamptz, ADD COLUMN IF NOT EXISTS corrected_at timestamptz";

    // The position these tables have applied up to and the time of that event, and, while a rebuild fills a copy, the copy's
    // position and up to where it must get before it takes these tables' place (the end of the log when the rebuild was
    // asked for). Written with every page, in Marten's transaction, so the position of the copy being filled always equals
    // Marten's progression. One row, read once per page.
    private const string AppliedTableSql =
        """
        CREATE TABLE applied (only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row), position bigint NOT NULL, event_at timestamptz,
            rebuild_position bigint, rebuild_until bigint);
        """;

    /// <summary>
    /// Drops one of this projection's schemas, its partitions a few hundred at a time: a schema built by the previous layout
    /// (a partition pair per chapter) held thousands, more than one transaction can lock on PostgreSQL's default settings.
    /// </summary>
    public static async Task DropSchemaAsync(NpgsqlDataSource db, string schema, CancellationToken ct = default)
    {
        if (schema is not (Schema or RebuildSchema) && !schema.StartsWith(Schema + "__", StringComparison.Ordinal))
            throw new ArgumentException($"Not a schema of this projection: {schema}");
        while (true)
        {
            await using var partitions = db.CreateCommand(
                """
                SELECT string_agg(format('%I.%I', n.nspname, c.relname), ', ')
                FROM (SELECT c.relname, c.relnamespace FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                      WHERE n.nspname = $1 AND c.relkind = 'r' AND c.relispartition LIMIT 200) c
                JOIN pg_namespace n ON n.oid = c.relnamespace
                """);
            partitions.Parameters.Add(new NpgsqlParameter { Value = schema });
            if (await partitions.ExecuteScalarAsync(ct) is not string names)
                break;
            await using var drop = db.CreateCommand($"DROP TABLE {names}");
            await drop.ExecuteNonQueryAsync(ct);
        }
        await using var dropSchema = db.CreateCommand($"DROP SCHEMA IF EXISTS {schema} CASCADE");
        await dropSchema.ExecuteNonQueryAsync(ct);
    }

    /// <summary>
    /// The live schema, as a Weasel schema object: Marten creates it with its own tables when it is missing (at start, or in
    /// <c>db-patch</c>'s script for an operator). A rebuild makes its copy with the same <see cref="SchemaSql"/>.
    /// </summary>
    public static Weasel.Core.ISchemaObject SchemaObject() => new LiveSchema();

    private sealed class LiveSchema : Weasel.Core.ISchemaObject
    {
        public Weasel.Core.DbObjectName Identifier { get; } = new Weasel.Postgresql.PostgresqlObjectName(Schema, "referrals", Weasel.Postgresql.SchemaUtils.IdentifierUsage.General);

        // Weasel makes the schema itself (it is this object's identifier's); the tables go in it.
        public void WriteCreateStatement(Weasel.Core.Migrator migrator, TextWriter writer) => writer.WriteLine(CreateWhenMissingSql + ";");

        public void WriteDropStatement(Weasel.Core.Migrator rules, TextWriter writer) => writer.WriteLine($"DROP SCHEMA IF EXISTS {Schema} CASCADE;");

        public void ConfigureQueryCommand(Weasel.Core.DbCommandBuilder builder) =>
            builder.Append($"select 1 from pg_attribute where attrelid = to_regclass('{Schema}.referral_steps') and attname = 'corrected_at' and to_regclass('{Schema}.applied') is not null;");

        public async Task<Weasel.Core.ISchemaObjectDelta> CreateDeltaAsync(System.Data.Common.DbDataReader reader, CancellationToken ct = default) =>
            new Weasel.Core.SchemaObjectDelta(this, await reader.ReadAsync(ct) ? Weasel.Core.SchemaPatchDifference.None : Weasel.Core.SchemaPatchDifference.Create);

        public IEnumerable<Weasel.Core.DbObjectName> AllNames() => [Identifier];
    }

    /// <summary>
    /// The live tables when they are missing, and their position when only it is: a database from before positions were kept
    /// with the tables has applied exactly what Marten's progression for the projection says (read once, in this migration).
    /// </summary>
    private static string CreateWhenMissingSql =>
        $"""
        DO $do$
        DECLARE previous text := current_setting('search_path');
        BEGIN
          IF to_regnamespace('{Schema}') IS NULL THEN
            CREATE SCHEMA {Schema};
          END IF;
          PERFORM set_config('search_path', '{Schema}', true);
          IF to_regclass('{Schema}.referrals') IS NULL THEN
            {SchemaSql.Replace("$$", "$fn$")}
          ELSIF to_regclass('{Schema}.applied') IS NULL THEN
            {AppliedTableSql}
            INSERT INTO applied (position) SELECT coalesce(max(last_seq_id), 0) FROM public.mt_event_progression WHERE name = '{ChapterEventStore.ActivityShard}';
            -- Where the versions before kept a stop at a poison event and a rebuild's state: Marten's progression has both now.
            DROP TABLE IF EXISTS public.projection_state;
          END IF;
          -- Tables made before withdrawals, redirects and corrections: the columns they need, empty (no event of theirs is older).
          IF NOT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = '{Schema}.referral_steps'::regclass AND attname = 'corrected_at') THEN
            ALTER TABLE referrals ADD COLUMN IF NOT EXISTS withdrawn_at timestamptz;
            ALTER TABLE referral_steps {StepColumnsAddedSql};
          END IF;
          PERFORM set_config('search_path', previous, true);
        END $do$
        """;

    /// <summary>
    /// The live tables when they are missing (Marten makes them at start; a test, a benchmark or the previous store's import may
    /// have dropped them since); several instances may run it at once.
    /// </summary>
    public static async Task EnsureSchemaAsync(NpgsqlDataSource db, CancellationToken ct = default)
    {
        await using var connection = await db.OpenConnectionAsync(ct);
        await using var transaction = await connection.BeginTransactionAsync(ct);
        await using var command = new NpgsqlCommand($"SELECT pg_advisory_xact_lock(4448); {CreateWhenMissingSql};", connection, transaction);
        await command.ExecuteNonQueryAsync(ct);
        await transaction.CommitAsync(ct);
    }

    /// <summary>
    /// A fresh, empty copy to rebuild into, to fill from position 0 up to <paramref name="until"/> at least, recorded with the
    /// live tables' position in one transaction. Nothing when a copy is being filled already (it has got past 0).
    /// </summary>
    public static string StartRebuildSql(long until) =>
        $"""
        DO $do$ BEGIN
          IF coalesce((SELECT rebuild_position FROM {Schema}.applied), 0) = 0 THEN
            DROP SCHEMA IF EXISTS {RebuildSchema} CASCADE;
            CREATE SCHEMA {RebuildSchema};
            SET LOCAL search_path TO {RebuildSchema};
            {SchemaSql.Replace("$$", "$fn$")}
            UPDATE {Schema}.applied SET rebuild_position = 0, rebuild_until = {until};
          END IF;
        END $do$
        """;

    /// <summary>The copy dropped and forgotten, in one transaction: run once Marten's daemon applies to the live tables again.</summary>
    public static string EndRebuildSql =>
        $"""
        DO $do$ BEGIN
          DROP SCHEMA IF EXISTS {RebuildSchema} CASCADE;
          UPDATE {Schema}.applied SET rebuild_position = NULL, rebuild_until = NULL;
        END $do$
        """;

    /// <summary>
    /// Set-based: one statement per kind of event for the whole page. Creations run first; each later step writes columns of
    /// its own, so applying them kind by kind equals applying them in order.
    /// A poison event (one the tables cannot take) fails the page with an <see cref="ApplyEventException"/> naming it: Marten's
    /// daemon pauses the projection there, records why with its progression, and applies nothing more until it is rewound
    /// (a rebuild); the other projections go on.
    /// </summary>
    public override async Task<IChangeListener> ProcessEventsAsync(EventRange page, ISubscriptionController controller,
        IDocumentOperations operations, CancellationToken cancellation)
    {
        var placement = await PlaceAsync(operations, page.SequenceFloor, cancellation);
        if (page.Events.FirstOrDefault(e => WhyPoison(e) is not null) is { } poison)
            throw new ApplyEventException(poison, new InvalidDataException(WhyPoison(poison)));

        // Set only for this transaction: unqualified names below go to the copy the page belongs to. Marten names its own tables in full.
        operations.QueueSqlCommand($"SET LOCAL search_path TO {(placement.ToCopy ? RebuildSchema : Schema)}, public");
        Apply(operations, page.Events);
        var at = page.Events.Count > 0 ? page.Events[^1].Timestamp : (object)DBNull.Value;
        if (!placement.ToCopy)
            operations.Sql($"UPDATE {Schema}.applied SET position = $1, event_at = coalesce($2, event_at)", page.SequenceCeiling, at);
        else if (page.SequenceCeiling < Math.Max(placement.LivePosition, placement.RebuildUntil))
            operations.Sql($"UPDATE {Schema}.applied SET rebuild_position = $1", page.SequenceCeiling);
        else
        {
            // Caught up with the log as it was when the rebuild was asked for, and level with the live tables (frozen since
            // the copy's first page): the copy takes their name in this page's transaction, so reads switch to it with the
            // position it has reached, and the daemon goes on applying to it. The old tables go with the next page.
            operations.Sql($"UPDATE {RebuildSchema}.applied SET position = $1, event_at = $2", page.SequenceCeiling, at);
            foreach (var swap in (string[])[$"DROP SCHEMA IF EXISTS {ReplacedSchema} CASCADE", $"ALTER SCHEMA {Schema} RENAME TO {ReplacedSchema}", $"ALTER SCHEMA {RebuildSchema} RENAME TO {Schema}"])
                operations.QueueSqlCommand(swap);
        }
        return NullChangeListener.Instance;
    }

    /// <summary>The live tables a rebuild replaced, until the next page drops them.</summary>
    public const string ReplacedSchema = "proj_activity__replaced";

    private sealed record AppliedRow(long Live, long? Copy, long? Until, bool ReplacedLeft);

    /// <summary>Where a page goes (the copy, or the live tables), and where the live tables and the copy's target stand.</summary>
    private sealed record Placement(bool ToCopy, long LivePosition, long RebuildUntil);

    /// <summary>
    /// A page belongs to the copy whose position is the page's floor: the rebuild's copy from the moment Marten's daemon was
    /// rewound to 0 for it (<c>RewindAsync</c>), the live tables otherwise, and again once a cancelled rebuild rewound the
    /// daemon to their position. Positions are written with the pages, in Marten's transaction, so exactly one matches;
    /// none matching means the daemon's progression and the tables disagree, and the page fails rather than leave a hole.
    /// </summary>
    private static async Task<Placement> PlaceAsync(IDocumentOperations operations, long floor, CancellationToken ct)
    {
        var row = (await operations.AdvancedSql.QueryAsync<AppliedRow>(
            $"""
            SELECT json_build_object('live', position, 'copy', rebuild_position, 'until', rebuild_until,
                                     'replacedLeft', to_regnamespace('{ReplacedSchema}') IS NOT NULL)
            FROM {Schema}.applied
            """, ct)).Single();
        var (live, copy, until, replacedLeft) = (row.Live, row.Copy ?? -1, row.Until ?? 0, row.ReplacedLeft);
        if (replacedLeft)
            operations.QueueSqlCommand($"DROP SCHEMA IF EXISTS {ReplacedSchema} CASCADE");
        if (copy == floor)
            return new Placement(true, live, until);
        if (live == floor)
            return new Placement(false, live, until);
        throw new InvalidOperationException(
            $"The {ProjectionName} projection's tables are at event {live}, Marten's progression for it at {floor}: rebuild it.");
    }

    /// <summary>What a stored payload lacks that the facts need; null when the event can be applied.</summary>
    internal static string? WhyPoison(IEvent e) => e.Data switch
    {
        ChapterCreated c when string.IsNullOrEmpty(c.ChapterId) || c.TimeZone is null || c.Currency is null =>
            $"{e.EventTypeName} lacks its chapter, time zone or currency",
        MemberJoined j when string.IsNullOrEmpty(j.ChapterId) || j.MemberId == Guid.Empty || j.Name is null =>
            $"{e.EventTypeName} lacks its member, chapter or name",
        MemberDetailsChanged d when d.MemberId == Guid.Empty || d.Name is null => $"{e.EventTypeName} lacks its member or name",
        ReferralGiven g when string.IsNullOrEmpty(g.ChapterId) || g.ReferralId == Guid.Empty || g.GiverId == Guid.Empty || g.ReceiverId == Guid.Empty =>
            $"{e.EventTypeName} lacks its referral, chapter, giver or receiver",
        OneToOneHeld o when string.IsNullOrEmpty(o.ChapterId) || o.OneToOneId == Guid.Empty => $"{e.EventTypeName} lacks its meeting or chapter",
        _ => null,
    };

    private static void Apply(IDocumentOperations batch, IReadOnlyList<IEvent> events)
    {
        var chapters = events.Select(e => e.Data).OfType<ChapterCreated>().ToList();
        if (chapters.Count > 0)
            batch.Sql("INSERT INTO chapters SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::int[]) ON CONFLICT (id) DO NOTHING",
                chapters.Select(c => c.ChapterId).ToArray(), chapters.Select(c => c.TimeZone).ToArray(), chapters.Select(c => c.Currency).ToArray(),
                chapters.Select(c => c.TieHalfLifeDays ?? ChapterCreated.DefaultTieHalfLifeDays).ToArray());

        var joined = events.Select(e => e.Data).OfType<MemberJoined>().ToList();
        if (joined.Count > 0)
            batch.Sql("INSERT INTO members (chapter_id, id, name, joined_at) SELECT * FROM unnest($1::text[], $2::uuid[], $3::text[], $4::timestamptz[]) ON CONFLICT DO NOTHING",
                joined.Select(j => j.ChapterId).ToArray(), joined.Select(j => j.MemberId).ToArray(), joined.Select(j => j.Name).ToArray(), joined.Select(j => j.JoinedAt).ToArray());

        // Names shown in reports follow corrections; within a batch the last one counts.
        var renamed = events.Select(e => (Chapter: e.TenantId, Data: e.Data)).Where(e => e.Data is MemberDetailsChanged)
            .Select(e => (e.Chapter, Changed: (MemberDetailsChanged)e.Data)).GroupBy(e => e.Changed.MemberId).Select(g => g.Last()).ToList();
        if (renamed.Count > 0)
            batch.Sql(
                """
                UPDATE members t SET name = u.name FROM unnest($1::text[], $2::uuid[], $3::text[]) AS u (chapter_id, id, name)
                WHERE t.chapter_id = u.chapter_id AND t.id = u.id
                """,
                renamed.Select(r => r.Chapter).ToArray(), renamed.Select(r => r.Changed.MemberId).ToArray(), renamed.Select(r => r.Changed.Name).ToArray());

        var forgotten = events.Select(e => (Chapter: e.TenantId, Data: e.Data)).Where(e => e.Data is MemberPersonalDataErased)
            .Select(e => (e.Chapter, ((MemberPersonalDataErased)e.Data).MemberId)).ToList();
        if (forgotten.Count > 0)
            batch.Sql("UPDATE members t SET name = $3 FROM unnest($1::text[], $2::uuid[]) AS u (chapter_id, id) WHERE t.chapter_id = u.chapter_id AND t.id = u.id",
                forgotten.Select(f => f.Chapter).ToArray(), forgotten.Select(f => f.MemberId).ToArray(), MemberPersonalDataErased.FormerMember);

        var oneToOnes = events.Select(e => e.Data).OfType<OneToOneHeld>().ToList();
        if (oneToOnes.Count > 0)
            batch.Sql("INSERT INTO one_to_ones SELECT * FROM unnest($1::text[], $2::uuid[], $3::uuid[], $4::uuid[], $5::date[]) ON CONFLICT DO NOTHING",
                oneToOnes.Select(o => o.ChapterId).ToArray(), oneToOnes.Select(o => o.OneToOneId).ToArray(), oneToOnes.Select(o => o.MemberA).ToArray(),
                oneToOnes.Select(o => o.MemberB).ToArray(), oneToOnes.Select(o => o.Date).ToArray());

        var withdrawnMeetings = events.Where(e => e.Data is OneToOneWithdrawn).Select(e => (Chapter: e.TenantId, ((OneToOneWithdrawn)e.Data).OneToOneId)).ToList();
        if (withdrawnMeetings.Count > 0)
            batch.Sql("DELETE FROM one_to_ones t USING unnest($1::text[], $2::uuid[]) AS u (chapter_id, id) WHERE t.chapter_id = u.chapter_id AND t.id = u.id",
                withdrawnMeetings.Select(w => w.Chapter).ToArray(), withdrawnMeetings.Select(w => w.OneToOneId).ToArray());

        AddStep<MemberLeft>(batch, events, "members", "left_at", l => (l.MemberId, l.LeftAt));
        AddReferralSteps(batch, events);
    }

    /// <summary>A referral as the events of one batch describe it: given in the batch, or only later steps of it.</summary>
    private sealed class ReferralInBatch(string chapterId, Guid id)
    {
        public string ChapterId { get; } = chapterId;
        public Guid Id { get; } = id;
        public ReferralGiven? Given { get; set; }
        public DateTimeOffset? AcceptedAt { get; set; }
        public DateTimeOffset? DeclinedAt { get; set; }
        public ReferralClosed? Closed { get; set; }
        public DateTimeOffset? ThankedAt { get; set; }
        public DateTimeOffset? WithdrawnAt { get; set; }
        public ReferralRedirected? Redirected { get; set; }
        /// <summary>The closing's outcome and value as last corrected in the batch, and when.</summary>
        public ReferralCorrected? Corrected { get; set; }

        public Guid? ReceiverId => Redirected?.ToReceiverId ?? Given?.ReceiverId;
        public Outcome? Outcome => Corrected?.Outcome ?? Closed?.Outcome;
        public Money? Value => Corrected is not null ? Corrected.Value : Closed?.Value;
    }

    /// <summary>
    /// All referral events of a batch in two inserts, and one row per referral: referrals given in the batch
    /// with whatever later steps the batch also holds, and for older ones a row of referral_steps with every step
    /// the batch holds for them (folded into the referral when read). A referral's steps never undo one another,
    /// so merging them equals applying them in order. The larger the batch (a long backlog, a rebuild), the more
    /// steps merge.
    /// The insert has no ON CONFLICT clause (a speculative insert costs a quarter more): the daemon applies each
    /// event once, and a referral is given once, so a duplicate is a fault to stop at, not to skip.
    /// A given referral's row takes the chapter its payload names, so a payload without one stops the
    /// projection at that event (poison) instead of being filed under the event's tenant.
    /// </summary>
    private static void AddReferralSteps(IDocumentOperations batch, IReadOnlyList<IEvent> events)
    {
        var referrals = new Dictionary<Guid, ReferralInBatch>();
        ReferralInBatch Of(IEvent e, Guid id)
        {
            if (!referrals.TryGetValue(id, out var referral))
                referrals[id] = referral = new ReferralInBatch(e.TenantId, id);
            return referral;
        }
        foreach (var e in events)
        {
            switch (e.Data)
            {
                case ReferralGiven g: Of(e, g.ReferralId).Given = g; break;
                case ReferralAccepted a: Of(e, a.ReferralId).AcceptedAt = a.AcceptedAt; break;
                case ReferralDeclined d: Of(e, d.ReferralId).DeclinedAt = d.DeclinedAt; break;
                case ReferralClosed c: Of(e, c.ReferralId).Closed = c; break;
                case ReferralThanked t: Of(e, t.ReferralId).ThankedAt = t.ThankedAt; break;
                case ReferralWithdrawn w: Of(e, w.ReferralId).WithdrawnAt = w.WithdrawnAt; break;
                case ReferralRedirected r: Of(e, r.ReferralId).Redirected = r; break;
                case ReferralCorrected { Outcome: not null } c: Of(e, c.ReferralId).Corrected = c; break;
            }
        }
        if (referrals.Count == 0)
            return;

        static string? OutcomeName(Outcome? outcome) => outcome is { } o ? JsonNamingPolicy.CamelCase.ConvertName(o.ToString()) : null;
        var given = referrals.Values.Where(r => r.Given is not null).ToList();
        if (given.Count > 0)
            batch.Sql(
                """
                INSERT INTO referrals (chapter_id, id, giver_id, receiver_id, given_at, accepted_at, declined_at, closed_at, outcome, value_amount, value_currency,
                                       thanked_at, withdrawn_at)
                SELECT * FROM unnest($1::text[], $2::uuid[], $3::uuid[], $4::uuid[], $5::timestamptz[], $6::timestamptz[], $7::timestamptz[],
                                     $8::timestamptz[], $9::text[], $10::numeric[], $11::text[], $12::timestamptz[], $13::timestamptz[])
                """,
                given.Select(r => r.Given!.ChapterId).ToArray(), given.Select(r => r.Id).ToArray(), given.Select(r => r.Given!.GiverId).ToArray(),
                given.Select(r => r.ReceiverId!.Value).ToArray(), given.Select(r => r.Given!.GivenAt).ToArray(),
                given.Select(r => r.AcceptedAt).ToArray(), given.Select(r => r.DeclinedAt).ToArray(), given.Select(r => r.Closed?.ClosedAt).ToArray(),
                given.Select(r => OutcomeName(r.Outcome)).ToArray(), given.Select(r => r.Value?.Amount).ToArray(),
                given.Select(r => r.Value?.Currency).ToArray(), given.Select(r => r.ThankedAt).ToArray(), given.Select(r => r.WithdrawnAt).ToArray());

        var stepped = referrals.Values.Where(r => r.Given is null).ToList();
        if (stepped.Count > 0)
            batch.Sql(
                """
                INSERT INTO referral_steps (chapter_id, referral_id, accepted_at, declined_at, closed_at, outcome, value_amount, value_currency, thanked_at,
                                            withdrawn_at, receiver_id, redirected_at, corrected_at)
                SELECT * FROM unnest($1::text[], $2::uuid[], $3::timestamptz[], $4::timestamptz[], $5::timestamptz[], $6::text[], $7::numeric[], $8::text[],
                                     $9::timestamptz[], $10::timestamptz[], $11::uuid[], $12::timestamptz[], $13::timestamptz[])
                """,
                stepped.Select(r => r.ChapterId).ToArray(), stepped.Select(r => r.Id).ToArray(),
                stepped.Select(r => r.AcceptedAt).ToArray(), stepped.Select(r => r.DeclinedAt).ToArray(), stepped.Select(r => r.Closed?.ClosedAt).ToArray(),
                stepped.Select(r => OutcomeName(r.Outcome)).ToArray(), stepped.Select(r => r.Value?.Amount).ToArray(),
                stepped.Select(r => r.Value?.Currency).ToArray(), stepped.Select(r => r.ThankedAt).ToArray(), stepped.Select(r => r.WithdrawnAt).ToArray(),
                stepped.Select(r => r.Redirected?.ToReceiverId).ToArray(), stepped.Select(r => r.Redirected?.RedirectedAt).ToArray(),
                stepped.Select(r => r.Corrected?.CorrectedAt).ToArray());
    }

    /// <summary>A later step sets one timestamp column of a row created before; the event's tenant is its chapter.</summary>
    private static void AddStep<TEvent>(IDocumentOperations batch, IReadOnlyList<IEvent> events, string table, string column, Func<TEvent, (Guid Id, DateTimeOffset At)> step)
    {
        var steps = events.Where(e => e.Data is TEvent).Select(e => (Chapter: e.TenantId, Step: step((TEvent)e.Data))).ToList();
        if (steps.Count > 0)
            batch.Sql(
                $"""
                UPDATE {table} t SET {column} = u.at FROM unnest($1::text[], $2::uuid[], $3::timestamptz[]) AS u (chapter_id, id, at)
                WHERE t.chapter_id = u.chapter_id AND t.id = u.id
                """,
                steps.Select(s => s.Chapter).ToArray(), steps.Select(s => s.Step.Id).ToArray(), steps.Select(s => s.Step.At).ToArray());
    }

    /// <summary>
    /// A chapter's facts, or null when the projection has not seen the chapter (yet). With
    /// <paramref name="activeSince"/>: only referrals with a step at or after it, and one-to-ones from that day
    /// (enough for circulation figures over a window starting then; not for nudges about older referrals).
    /// </summary>
    public static async Task<ChapterFacts?> LoadAsync(NpgsqlDataSource db, string chapterId, CancellationToken ct, DateTimeOffset? activeSince = null)
    {
        await using var batch = db.CreateBatch();
        foreach (var sql in new[]
                 {
                     $"SELECT time_zone, currency, tie_half_life_days FROM {Schema}.chapters WHERE id = $1",
                     $"SELECT id, name, joined_at, left_at FROM {Schema}.members WHERE chapter_id = $1 ORDER BY joined_at",
                     $"""
                      SELECT id, giver_id, receiver_id, given_at, accepted_at, declined_at, closed_at, outcome, value_amount, value_currency, thanked_at,
                             withdrawn_at
                      FROM {Schema}.referrals WHERE chapter_id = $1
                      """,
                     $"""
                      SELECT referral_id, accepted_at, declined_at, closed_at, outcome, value_amount, value_currency, thanked_at,
                             withdrawn_at, receiver_id, redirected_at, corrected_at
                      FROM {Schema}.referral_steps WHERE chapter_id = $1
                      """,
                     $"SELECT id, member_a, member_b, held_on FROM {Schema}.one_to_ones WHERE chapter_id = $1 AND ($2::date IS NULL OR held_on >= $2) ORDER BY held_on, id",
                 })
        {
            var command = new NpgsqlBatchCommand(sql);
            command.Parameters.Add(new NpgsqlParameter { Value = chapterId });
            if (sql.Contains("$2::date"))
                command.Parameters.Add(new NpgsqlParameter { Value = activeSince is { } since ? DateOnly.FromDateTime(since.UtcDateTime.AddDays(-1)) : DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Date });
            batch.BatchCommands.Add(command);
        }

        await using var reader = await batch.ExecuteReaderAsync(ct);
        if (!await reader.ReadAsync(ct))
            return null;
        var timeZone = TimeZoneInfo.FindSystemTimeZoneById(reader.GetString(0));
        var currency = reader.GetString(1);
        var halfLife = reader.GetInt32(2);

        await reader.NextResultAsync(ct);
        var members = new List<MemberFact>();
        while (await reader.ReadAsync(ct))
            members.Add(new MemberFact(reader.GetGuid(0), reader.GetString(1), reader.GetFieldValue<DateTimeOffset>(2),
                reader.IsDBNull(3) ? null : reader.GetFieldValue<DateTimeOffset>(3)));

        DateTimeOffset? At(int i) => reader.IsDBNull(i) ? null : reader.GetFieldValue<DateTimeOffset>(i);
        Outcome? OutcomeAt(int i) => reader.IsDBNull(i) ? null : reader.GetString(i) switch
        {
            "won" => Outcome.Won,
            "lost" => Outcome.Lost,
            var other => throw new InvalidDataException($"Unknown outcome '{other}' in {Schema}.referrals or {Schema}.referral_steps."),
        };
        Money? ValueAt(int i) => reader.IsDBNull(i) ? null : new Money(reader.GetDecimal(i), reader.GetString(i + 1));

        await reader.NextResultAsync(ct);
        var referrals = new List<ReferralFact>();
        var withdrawn = new HashSet<Guid>();
        while (await reader.ReadAsync(ct))
        {
            referrals.Add(new ReferralFact(
                reader.GetGuid(0), reader.GetGuid(1), reader.GetGuid(2), reader.GetFieldValue<DateTimeOffset>(3),
                At(4), At(5), At(6), OutcomeAt(7), ValueAt(8), At(10)));
            if (!reader.IsDBNull(11))
                withdrawn.Add(reader.GetGuid(0));
        }
        var ids = new Guid[referrals.Count];
        var indexes = new int[referrals.Count];
        for (var i = 0; i < referrals.Count; i++)
            (ids[i], indexes[i]) = (referrals[i].Id, i);
        Array.Sort(ids, indexes);

        // A row of steps holds what one batch learned of a referral given before it. Each step but a redirect and a correction
        // happens once (the decider refuses a second), so those columns are never set twice, in whatever order the rows come;
        // of the receivers and of the closings (outcome and value), the latest redirect's and the latest correction's win.
        var receiverSince = new Dictionary<int, DateTimeOffset>();
        var closingSince = new Dictionary<int, DateTimeOffset>();
        await reader.NextResultAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            var found = Array.BinarySearch(ids, reader.GetGuid(0));
            if (found < 0)
                continue; // steps filed under another chapter than the referral's: they never belonged to this one
            var index = indexes[found];
            var r = referrals[index];
            if (At(8) is not null)
                withdrawn.Add(r.Id);
            if (!reader.IsDBNull(9) && At(10) is { } redirectedAt && redirectedAt >= receiverSince.GetValueOrDefault(index, DateTimeOffset.MinValue))
            {
                receiverSince[index] = redirectedAt;
                r = r with { ReceiverId = reader.GetGuid(9) };
            }
            var closingAt = At(11) ?? DateTimeOffset.MinValue; // the closing itself ranks below any correction of it
            if (OutcomeAt(4) is { } outcome && closingAt >= closingSince.GetValueOrDefault(index, DateTimeOffset.MinValue))
            {
                closingSince[index] = closingAt;
                r = r with { Outcome = outcome, Value = ValueAt(5) };
            }
            referrals[index] = r with
            {
                AcceptedAt = At(1) ?? r.AcceptedAt,
                DeclinedAt = At(2) ?? r.DeclinedAt,
                ClosedAt = At(3) ?? r.ClosedAt,
                ThankedAt = At(7) ?? r.ThankedAt,
            };
        }
        // A referral its giver took back before it was accepted is no longer part of how help circulated.
        if (withdrawn.Count > 0)
            referrals.RemoveAll(r => withdrawn.Contains(r.Id));
        if (activeSince is { } start)
            referrals.RemoveAll(r => !(r.GivenAt >= start || r.AcceptedAt >= start || r.DeclinedAt >= start || r.ClosedAt >= start || r.ThankedAt >= start));
        // In the order the server sorts (given_at, id): Guid compares as PostgreSQL's uuid does, byte by byte.
        referrals.Sort(static (a, b) => a.GivenAt != b.GivenAt ? a.GivenAt.CompareTo(b.GivenAt) : a.Id.CompareTo(b.Id));

        await reader.NextResultAsync(ct);
        var oneToOnes = new List<OneToOneFact>();
        while (await reader.ReadAsync(ct))
            oneToOnes.Add(new OneToOneFact(reader.GetGuid(0), reader.GetGuid(1), reader.GetGuid(2), reader.GetFieldValue<DateOnly>(3)));

        return new ChapterFacts(chapterId, timeZone, currency, halfLife, members, referrals, oneToOnes);
    }
}

/// <summary>How fresh a read from an async projection is: the last event its live tables applied.</summary>
public sealed record AsOf(long Position, DateTimeOffset? Timestamp)
{
    public static async Task<AsOf> OfAsync(NpgsqlDataSource db, CancellationToken ct)
    {
        await using var command = db.CreateCommand($"SELECT position, event_at FROM {ActivityProjection.Schema}.applied");
        await using var reader = await command.ExecuteReaderAsync(ct);
        return await reader.ReadAsync(ct)
            ? new AsOf(reader.GetInt64(0), reader.IsDBNull(1) ? null : reader.GetFieldValue<DateTimeOffset>(1))
            : new AsOf(0, null);
    }
}
