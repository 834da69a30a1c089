using Chapter.Domain.Shared;

namespace Chapter.Domain.Chapters;

public abstract record ChapterEvent(string ChapterId);

/// <param name="TieHalfLifeDays">How fast a relationship's strength fades without new interactions; null means the default.</param>
public sealed record ChapterCreated(string ChapterId, string Name, string TimeZone, string Currency, DateTimeOffset CreatedAt, int? TieHalfLifeDays = null)
    : ChapterEvent(ChapterId)
{
    public const int DefaultTieHalfLifeDays = 90;
}

/// <summary>Professions that serve the same clients (say, a realtor, a mortgage adviser and a mover): members who meet within one help each other most.</summary>
public sealed record ContactSphere(string Name, IReadOnlyList<string> Professions);

/// <summary>The chapter's contact spheres, all of them as they are now.</summary>
public sealed record ContactSpheresSet(string ChapterId, IReadOnlyList<ContactSphere> Spheres, DateTimeOffset SetAt) : ChapterEvent(ChapterId);

public abstract record ChapterCommand(string ChapterId, DateTimeOffset Now);

public sealed record CreateChapter(string ChapterId, string Name, string TimeZone, string Currency, DateTimeOffset Now, int? TieHalfLifeDays = null)
    : ChapterCommand(ChapterId, Now);

public sealed record SetContactSpheres(string ChapterId, IReadOnlyList<ContactSphere> Spheres, DateTimeOffset Now) : ChapterCommand(ChapterId, Now);

public abstract record ChapterState : DeciderState
{
    public static ChapterState Initial { get; } = new NotCreated();

    public sealed record NotCreated : ChapterState;
    public sealed record Created(ChapterCreated Creation) : ChapterState
    {
        public IReadOnlyList<ContactSphere> Spheres { get; init; } = [];
    }

    public static ChapterState Evolve(ChapterState state, ChapterEvent @event) => (state, @event) switch
    {
        (_, ChapterCreated created) => new Created(created),
        (Created c, ContactSpheresSet set) => c with { Spheres = set.Spheres },
        _ => state,
    };
}

public static class ChapterDecider
{
    public static string StreamId(string chapterId) => $"chapter-{chapterId}";

    public static ChapterEvent[] Decide(ChapterCommand command, ChapterState state) => (command, state) switch
    {
        (CreateChapter c, ChapterState.NotCreated) => [new ChapterCreated(c.ChapterId, c.Name, c.TimeZone, c.Currency, c.Now, c.TieHalfLifeDays)],
        (CreateChapter c, _) => throw new StateConflict($"Chapter '{c.ChapterId}' already exists."),
        (SetContactSpheres c, ChapterState.NotCreated) => throw new NotFound($"Chapter '{c.ChapterId}' does not exist."),
        (SetContactSpheres c, ChapterState.Created created) when Same(created.Spheres, c.Spheres) => [],
        (SetContactSpheres c, ChapterState.Created) => [Spheres(c)],
        _ => throw new InvalidOperationException($"No rule for {command.GetType().Name}."),
    };

    private static ContactSpheresSet Spheres(SetContactSpheres c)
    {
        var seen = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var sphere in c.Spheres)
            foreach (var profession in sphere.Professions)
                if (!seen.TryAdd(profession, sphere.Name) && !string.Equals(seen[profession], sphere.Name, StringComparison.Ordinal))
                    throw new RuleBroken("spheres", $"'{profession}' is in both '{seen[profession]}' and '{sphere.Name}': a profession belongs to one sphere.");
        if (c.Spheres.Select(s => s.Name).Distinct(StringComparer.OrdinalIgnoreCase).Count() != c.Spheres.Count)
            throw new RuleBroken("spheres", "Each sphere has a name of its own.");
        return new ContactSpheresSet(c.ChapterId, c.Spheres, c.Now);
    }

    private static bool Same(IReadOnlyList<ContactSphere> a, IReadOnlyList<ContactSphere> b) =>
        a.Count == b.Count && a.Zip(b).All(p => p.First.Name == p.Second.Name && p.First.Professions.SequenceEqual(p.Second.Professions));
}
