using System.Collections.Concurrent;
using Chapter.Api.Infrastructure;
using Chapter.Api.Members;
using Chapter.Domain.Members;
using JasperFx.CodeGeneration;
using Microsoft.Extensions.DependencyInjection;
using Wolverine;
using Wolverine.Marten;

namespace Chapter.Api.Tests;

/// <summary>A command that appends events and publishes a message, as notifications will; and one that fails.</summary>
public sealed record RenameAndTell(string StreamKey, Guid MemberId, string Name, bool FailAfterDeciding);

public sealed record MemberTold(Guid MemberId, string Name);

public static class RenameAndTellHandler
{
    public static (Events, OutgoingMessages) Handle(RenameAndTell command, [WriteAggregate(nameof(RenameAndTell.StreamKey))] Member member)
    {
        if (command.FailAfterDeciding)
            throw new InvalidOperationException("The command fails after deciding: nothing may be appended or sent.");
        var joined = ((Member.Active)member).Joining;
        return ([new MemberDetailsChanged(command.MemberId, command.Name, joined.Profession, joined.Languages, joined.Role, DateTimeOffset.UtcNow)],
            [new MemberTold(command.MemberId, command.Name)]);
    }
}

public static class MemberToldHandler
{
    public static readonly ConcurrentDictionary<Guid, int> Received = new();

    public static void Handle(MemberTold message) => Received.AddOrUpdate(message.MemberId, 1, (_, count) => count + 1);
}

/// <summary>Wolverine's transactional outbox on Marten: a message commits with the events that caused it, or not at all.</summary>
public sealed class OutboxApiTests(OutboxApiTests.Fixture api) : IClassFixture<OutboxApiTests.Fixture>
{
    public sealed class Fixture : IAsyncLifetime
    {
        public ApiFixture Api { get; } = new()
        {
            ExtraServices = services => services.ConfigureWolverine(options =>
            {
                options.Discovery.IncludeType(typeof(RenameAndTellHandler)).IncludeType(typeof(MemberToldHandler));
                // These two handlers are the tests' own, so they are compiled here; the service's come pre-generated.
                options.CodeGeneration.TypeLoadMode = TypeLoadMode.Auto;
                options.CodeGeneration.SourceCodeWritingEnabled = false;
            }),
        };

        public Task InitializeAsync() => Api.InitializeAsync();
        public Task DisposeAsync() => ((IAsyncLifetime)Api).DisposeAsync();
    }

    [Fact]
    public async Task A_message_published_by_a_command_is_handled_exactly_once_and_never_when_the_command_fails()
    {
        var scenario = await new Scenario(api.Api).WithChapterAsync();
        var (anna, bram) = (await scenario.AddMemberAsync("Anna"), await scenario.AddMemberAsync("Bram"));
        var bus = api.Api.Services.GetRequiredService<IMessageBus>();

        await bus.InvokeForTenantAsync(scenario.ChapterId, new RenameAndTell(MemberDecider.StreamId(anna), anna, "Anna B", false));
        await Should.ThrowAsync<InvalidOperationException>(() =>
            bus.InvokeForTenantAsync(scenario.ChapterId, new RenameAndTell(MemberDecider.StreamId(bram), bram, "Bram B", true)));

        var until = DateTime.UtcNow.AddSeconds(20);
        while (!MemberToldHandler.Received.ContainsKey(anna) && DateTime.UtcNow < until)
            await Task.Delay(50);
        await Task.Delay(TimeSpan.FromSeconds(2)); // time enough for a second delivery, or a delivery of the failed one
        MemberToldHandler.Received.GetValueOrDefault(anna).ShouldBe(1);
        MemberToldHandler.Received.ContainsKey(bram).ShouldBeFalse();

        (await api.Api.ScalarAsync("SELECT count(*) FROM mt_events WHERE stream_id = $1", MemberDecider.StreamId(anna))).ShouldBe(2);
        (await api.Api.ScalarAsync("SELECT count(*) FROM mt_events WHERE stream_id = $1", MemberDecider.StreamId(bram))).ShouldBe(1);
        var members = await (await scenario.Operator.GetAsync($"/api/chapters/{scenario.ChapterId}/members")).Content.ReadAsStringAsync();
        members.ShouldContain("Anna B");
        members.ShouldNotContain("Bram B");
        // It went through the durable inbox in PostgreSQL, stored in the command's own transaction: once, for Anna only.
        (await api.Api.ScalarAsync("SELECT count(*) FROM information_schema.tables WHERE table_name = 'wolverine_incoming_envelopes'")).ShouldBe(1);
        var schema = await api.Api.ScalarTextAsync("SELECT table_schema FROM information_schema.tables WHERE table_name = 'wolverine_incoming_envelopes'");
        (await api.Api.ScalarAsync($"SELECT count(*) FROM {schema}.wolverine_incoming_envelopes WHERE message_type LIKE '%member%told%' OR message_type LIKE '%MemberTold%'")).ShouldBe(1);
    }
}
