using Chapter.Domain.Shared;

namespace Chapter.Domain.Chapters;

public abstract record ChapterEvent(string ChapterId);

/// <param name="TieHalfLifeDays">How fast a relationship's strength fades without new interactions; null means the default.</param>
public sealed record ChapterCreated(string ChapterId, string Name, string TimeZone, string Currency, DateTimeOffset CreatedAt, int? TieHalfLifeDays = null)
    : ChapterEvent(ChapterId)
{
    public const int DefaultTieHalfLifeDays = 90;
}

public sealed record CreateChapter(string ChapterId, string Name, string TimeZone, string Currency, DateTimeOffset Now, int? TieHalfLifeDays = null);

public abstract record ChapterState
{
    public static ChapterState Initial { get; } = new NotCreated();

    public sealed record NotCreated : ChapterState;
    public sealed record Created(ChapterCreated Creation) : ChapterState;

    public static ChapterState Evolve(ChapterState state, ChapterEvent @event) => @event switch
    {
        ChapterCreated created => new Created(created),
        _ => state,
    };
}

public static class ChapterDecider
{
    public static string StreamId(string chapterId) => $"chapter-{chapterId}";

    public static ChapterEvent[] Decide(CreateChapter command, ChapterState state) => state switch
    {
        ChapterState.NotCreated => [new ChapterCreated(command.ChapterId, command.Name, command.TimeZone, command.Currency, command.Now, command.TieHalfLifeDays)],
        _ => throw new StateConflict($"Chapter '{command.ChapterId}' already exists."),
    };
}
