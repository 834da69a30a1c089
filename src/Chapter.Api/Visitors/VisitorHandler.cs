using Chapter.Api.Infrastructure;
using Chapter.Domain.Visitors;
using Wolverine.Marten;

namespace Chapter.Api.Visitors;

public sealed record DecideVisitor(string StreamKey, VisitorCommand Command, EventMetadata Metadata) : StreamCommand(StreamKey, Metadata);

public sealed record VisitorStream(string Id, Visitor State);

public static class VisitorHandler
{
    public static (Decided, Events) Handle(DecideVisitor command, [WriteAggregate(nameof(DecideVisitor.StreamKey), Required = false)] VisitorStream? stream) =>
        Decided.Append(() => VisitorDecider.Decide(command.Command, stream?.State ?? Visitor.Initial));
}
