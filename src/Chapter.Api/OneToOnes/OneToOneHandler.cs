using Chapter.Api.Infrastructure;
using Chapter.Domain.OneToOnes;
using Wolverine.Marten;

namespace Chapter.Api.OneToOnes;

public sealed record DecideOneToOne(string StreamKey, RecordOneToOne Command, EventMetadata Metadata) : StreamCommand(StreamKey, Metadata);

public sealed record OneToOneStream(string Id, OneToOne State);

public static class OneToOneHandler
{
    public static (Decided, Events) Handle(DecideOneToOne command, [WriteAggregate(nameof(DecideOneToOne.StreamKey), Required = false)] OneToOneStream? stream) =>
        Decided.Append(() => OneToOneDecider.Decide(command.Command, stream?.State ?? OneToOne.Initial));
}
