using Chapter.Api.Infrastructure;
using Chapter.Domain.Chapters;
using Wolverine.Marten;

namespace Chapter.Api.Chapters;

public sealed record DecideChapter(string StreamKey, ChapterCommand Command, EventMetadata Metadata) : StreamCommand(StreamKey, Metadata);

public sealed record ChapterStream(string Id, ChapterState State);

public static class ChapterHandler
{
    public static (Decided, Events) Handle(DecideChapter command, [WriteAggregate(nameof(DecideChapter.StreamKey), Required = false)] ChapterStream? stream) =>
        Decided.Append(() => ChapterDecider.Decide(command.Command, stream?.State ?? ChapterState.Initial));
}
