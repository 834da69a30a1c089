using System.Text.Json;
using System.Text.Json.Serialization;
using Chapter.Domain;
using Chapter.EventStore;

namespace Chapter.Projections;

/// <summary>How Chapter's events are named and serialised in the store.</summary>
public static class ChapterEventTypes
{
    public static JsonSerializerOptions SerializerOptions { get; } = new(JsonSerializerDefaults.Web)
    {
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.CamelCase) },
    };

    public static EventTypeMap Create() => new(EventNames.All, SerializerOptions);
}
