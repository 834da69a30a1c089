using Chapter.Api.Infrastructure;
using Chapter.Domain.Meetings;
using Wolverine.Marten;

namespace Chapter.Api.Meetings;

public sealed record DecideMeeting(string StreamKey, MeetingCommand Command, EventMetadata Metadata) : StreamCommand(StreamKey, Metadata);

public sealed record MeetingStream(string Id, Meeting State);

public static class MeetingHandler
{
    public static (Decided, Events) Handle(DecideMeeting command, [WriteAggregate(nameof(DecideMeeting.StreamKey), Required = false)] MeetingStream? stream) =>
        Decided.Append(() => MeetingDecider.Decide(command.Command, stream?.State ?? Meeting.Initial));
}
