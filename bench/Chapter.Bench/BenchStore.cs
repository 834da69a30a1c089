using System.Text.Json;
using Chapter.Domain;
using Chapter.Projections;
using Chapter.Projections.Activity;
using Marten;
using Npgsql;

namespace Chapter.Bench;

/// <summary>The API's own Marten configuration over the bench database, and our tables beside Marten's.</summary>
internal static class BenchStore
{
    public static DocumentStore Create(string connectionString, int activityBatchSize = ChapterEventStore.DefaultActivityBatchSize) =>
        DocumentStore.For(options => ChapterEventStore.Configure(options, connectionString, new ActivityProjection(activityBatchSize), activityBatchSize));

    public static async Task<DocumentStore> CreateSchemaAsync(string connectionString, NpgsqlDataSource dataSource)
    {
        var store = Create(connectionString);
        await store.Storage.ApplyAllConfiguredChangesToDatabaseAsync();
        await ActivityProjection.EnsureSchemaAsync(dataSource);
        return store;
    }

    public static string NameOf(object @event) => EventNames.All[@event.GetType()];

    public static string Serialize(object @event) => JsonSerializer.Serialize(@event, @event.GetType(), ChapterEventTypes.SerializerOptions);

    private static readonly Dictionary<string, Type> TypesByName = EventNames.All.ToDictionary(p => p.Value, p => p.Key);

    public static object? Deserialize(string name, string json) =>
        TypesByName.TryGetValue(name, out var type) ? JsonSerializer.Deserialize(json, type, ChapterEventTypes.SerializerOptions) : null;
}
