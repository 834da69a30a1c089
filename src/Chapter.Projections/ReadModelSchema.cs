using Chapter.EventStore;

namespace Chapter.Projections;

public static class ReadModelSchema
{
    public static IReadOnlyList<Migration> Migrations { get; } =
        Migration.FromEmbeddedScripts(typeof(ReadModelSchema).Assembly, "read_models");

    /// <summary>The event store's tables, then the read models', in the order they must be applied.</summary>
    public static IEnumerable<Migration> All => SchemaMigrator.EventStoreMigrations.Concat(Migrations);

    public static IInlineProjection[] InlineProjections() =>
        [new Chapters.ChapterProjection(), new Members.MemberProjection(), new Referrals.ReferralProjection()];
}
