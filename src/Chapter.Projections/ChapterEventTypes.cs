using System.Text.Json;
using System.Text.Json.Serialization;

namespace Chapter.Projections;

/// <summary>How Chapter's events are serialised: the JSON integrations read in the event feed.</summary>
public static class ChapterEventTypes
{
    public static JsonSerializerOptions SerializerOptions { get; } = new(JsonSerializerDefaults.Web)
    {
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.CamelCase) },
    };
}
