using Chapter.Api.Infrastructure;
using Chapter.Domain.Members;
using Wolverine.Marten;

namespace Chapter.Api.Members;

public sealed record DecideMember(string StreamKey, MemberCommand Command, EventMetadata Metadata) : StreamCommand(StreamKey, Metadata);

public sealed record MemberStream(string Id, Member State);

public static class MemberHandler
{
    public static (Decided, Events) Handle(DecideMember command, [WriteAggregate(nameof(DecideMember.StreamKey), Required = false)] MemberStream? stream) =>
        Decided.Append(() => MemberDecider.Decide(command.Command, stream?.State ?? Member.Initial));
}
