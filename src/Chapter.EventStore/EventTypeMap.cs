using System.Text.Json;

namespace Chapter.EventStore;

/// <summary>
/// Maps event classes to the stable names stored with them, so a class can be renamed or moved
/// without breaking the events already written.
/// </summary>
public sealed class EventTypeMap
{
    private readonly Dictionary<Type, string> _namesByType = new();
    private readonly Dictionary<string, Type> _typesByName = new(StringComparer.Ordinal);

    public EventTypeMap(IEnumerable<KeyValuePair<Type, string>> names, JsonSerializerOptions serializerOptions)
    {
        SerializerOptions = serializerOptions;
        foreach (var (type, name) in names)
        {
            if (!_typesByName.TryAdd(name, type))
                throw new ArgumentException($"Event name '{name}' is mapped to both {_typesByName[name].Name} and {type.Name}.");
            if (!_namesByType.TryAdd(type, name))
                throw new ArgumentException($"Event type {type.Name} is mapped twice.");
        }
    }

    public JsonSerializerOptions SerializerOptions { get; }

    public string NameOf(Type type) =>
        _namesByType.TryGetValue(type, out var name)
            ? name
            : throw new ArgumentException($"Event type {type.FullName} has no stored name; add it to the event type map.");

    public bool TryGetType(string name, out Type type) => _typesByName.TryGetValue(name, out type!);

    public string Serialize(object @event) => JsonSerializer.Serialize(@event, @event.GetType(), SerializerOptions);

    public object Deserialize(string name, string json) =>
        TryGetType(name, out var type)
            ? JsonSerializer.Deserialize(json, type, SerializerOptions)!
            : throw new UnknownEventTypeException(name);

    /// <summary>Like <see cref="Deserialize"/>, but an unknown name gives an <see cref="UnknownEvent"/> to skip or refuse.</summary>
    public object DeserializeOrUnknown(string name, string json) =>
        TryGetType(name, out var type) ? JsonSerializer.Deserialize(json, type, SerializerOptions)! : new UnknownEvent(name);
}

/// <summary>The payload of a stored event whose name this version of the code does not know.</summary>
public sealed record UnknownEvent(string TypeName);

/// <summary>A stored event whose name no code in this process knows (written by a newer version).</summary>
public sealed class UnknownEventTypeException(string name) : Exception($"No event type is mapped to the stored name '{name}'.")
{
    public string Name { get; } = name;
}
