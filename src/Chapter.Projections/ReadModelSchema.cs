namespace Chapter.Projections;

public static class ReadModelSchema
{
    public static IReadOnlyList<Migration> Migrations { get; } =
        Migration.FromEmbeddedScripts(typeof(ReadModelSchema).Assembly, "read_models");
}
