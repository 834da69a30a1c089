using Chapter.Api.Chapters;
using Chapter.Api.Meetings;
using Chapter.Api.Members;
using Chapter.Api.Notifications;
using Chapter.Api.OneToOnes;
using Chapter.Api.Referrals;
using Chapter.Domain.Chapters;
using Chapter.Domain.Meetings;
using Chapter.Domain.Members;
using Chapter.Domain.OneToOnes;
using Chapter.Domain.Referrals;
using Chapter.Domain.Shared;
using JasperFx;
using JasperFx.CodeGeneration;
using JasperFx.Events;
using JasperFx.Events.Projections;
using Marten;
using Marten.Events.Aggregation;
using Marten.Exceptions;
using Wolverine;
using Wolverine.ErrorHandling;
using Wolverine.Marten;

namespace Chapter.Api.Infrastructure;

public static class Commands
{
    /// <summary>Commands go through Wolverine: its aggregate handler workflow on Marten, and its transactional outbox.</summary>
    public static void AddChapterCommands(this WebApplicationBuilder builder)
    {
        builder.Host.UseWolverine(options =>
        {
            // Only these: Wolverine's conventions would also take ASP.NET Core's authorization handlers for message handlers.
            options.Discovery.DisableConventionalDiscovery()
                .IncludeType(typeof(MemberHandler))
                .IncludeType(typeof(ChapterHandler))
                .IncludeType(typeof(MeetingHandler))
                .IncludeType(typeof(Visitors.VisitorHandler));
            options.RouteNotifications(builder.Configuration);
            options.Policies.AutoApplyTransactions();
            options.Policies.UseDurableLocalQueues();
            options.Policies.ForMessagesOfType<IStreamCommand>().AddMiddleware(typeof(EventMetadataMiddleware));
            // Someone appended between our read and our write: decide again on what they wrote, so a retried request
            // meets the decider's idempotency rules rather than a bare 409. The third conflict is the caller's 409.
            options.OnException(IsConcurrencyConflict).RetryTimes(2);
            // Handlers run on code generated ahead of time (Internal/Generated, "./chapter codegen"): no Roslyn at run time,
            // which made the first command after start take seconds. GeneratedCodeTests fails when that code is stale.
            options.CodeGeneration.TypeLoadMode = TypeLoadMode.Static;
        });
    }

    /// <summary>Marten's ways of saying that another writer got there first.</summary>
    public static bool IsConcurrencyConflict(Exception e) =>
        e is ConcurrencyException or JasperFx.Events.EventStreamUnexpectedMaxEventIdException
            or Marten.Exceptions.ExistingStreamIdCollisionException or JasperFx.Events.ExistingStreamIdCollisionException;

    /// <summary>The write side's streams, folded by their deciders' Evolve for FetchForWriting.</summary>
    public static void AddStreamFolds(StoreOptions options)
    {
        options.Projections.Add(new StreamFold<ReferralStream, Referral, ReferralEvent>(
            Referral.Initial, Referral.Evolve, s => s.State, (id, state) => new(id, state)), ProjectionLifecycle.Live);
        options.Projections.Add(new StreamFold<MemberStream, Member, MemberEvent>(
            Member.Initial, Member.Evolve, s => s.State, (id, state) => new(id, state)), ProjectionLifecycle.Live);
        options.Projections.Add(new StreamFold<ChapterStream, ChapterState, ChapterEvent>(
            ChapterState.Initial, ChapterState.Evolve, s => s.State, (id, state) => new(id, state)), ProjectionLifecycle.Live);
        options.Projections.Add(new StreamFold<Visitors.VisitorStream, Chapter.Domain.Visitors.Visitor, Chapter.Domain.Visitors.VisitorEvent>(
            Chapter.Domain.Visitors.Visitor.Initial, Chapter.Domain.Visitors.Visitor.Evolve, s => s.State, (id, state) => new(id, state)), ProjectionLifecycle.Live);
        options.Projections.Add(new StreamFold<MeetingStream, Meeting, MeetingEvent>(
            Meeting.Initial, Meeting.Evolve, s => s.State, (id, state) => new(id, state)), ProjectionLifecycle.Live);
        options.Projections.Add(new StreamFold<OneToOneStream, OneToOne, OneToOneHeld>(
            OneToOne.Initial, OneToOne.Evolve, s => s.State, (id, state) => new(id, state)), ProjectionLifecycle.Live);
    }
}

/// <summary>
/// A domain command addressed to its stream, with who sent it. Wolverine's aggregate handler workflow fetches the stream
/// for writing by <see cref="StreamKey"/> (at its version), the handler asks the decider, and the events it returns are
/// appended at that version with the inline views and any outgoing messages, in one transaction.
/// </summary>
public interface IStreamCommand
{
    string StreamKey { get; }
    EventMetadata Metadata { get; }
}

/// <summary>
/// The commands the endpoints hand to Wolverine. Printed (in a log line, a trace) they show their stream and their kind,
/// never their fields: those carry what people typed.
/// </summary>
public abstract record StreamCommand(string StreamKey, EventMetadata Metadata) : IStreamCommand
{
    public sealed override string ToString() => $"{GetType().Name} {StreamKey}";
}

/// <summary>What the decider made of a command: the events appended (none for a repeat), or why it refused.</summary>
public sealed record Decided(IReadOnlyList<object> Events, DomainException? Refusal = null)
{
    public bool Appended => Events.Count > 0;

    /// <summary>
    /// A refusal is returned, not thrown through Wolverine: Wolverine would log the whole command at Error before the
    /// endpoint answered the caller's 4xx. Nothing is appended; the endpoint throws it (<see cref="CommandBus.DecideAsync"/>).
    /// </summary>
    public static (Decided, Events) Append(Func<IEnumerable<object>> decide)
    {
        try
        {
            var appended = new Events();
            appended.AddRange(decide());
            return (new Decided(appended), appended);
        }
        catch (DomainException refusal)
        {
            return (new Decided([], refusal), []);
        }
    }

    public Decided ThrowIfRefused() =>
        Refusal is null ? this : throw Refusal;
}

public static class CommandBus
{
    /// <summary>Has the command decided and appended; a refusal is thrown here, for <see cref="ProblemMapping"/> to answer.</summary>
    public static async Task<Decided> DecideAsync(this IMessageBus bus, string chapterId, StreamCommand command, CancellationToken ct) =>
        (await bus.InvokeForTenantAsync<Decided>(chapterId, command, ct)).ThrowIfRefused();
}

/// <summary>The correlation, causation and acting principal of a command, onto the events it appends.</summary>
public static class EventMetadataMiddleware
{
    public static void Before(IStreamCommand command, IDocumentSession session)
    {
        session.CorrelationId = command.Metadata.CorrelationId;
        session.CausationId = command.Metadata.CausationId;
        session.LastModifiedBy = command.Metadata.ActorId;
    }
}

/// <summary>
/// A stream folded by its decider's Evolve, for FetchForWriting: Marten wants an aggregate with an Id, and the domain's
/// states have none, so the state travels inside <typeparamref name="TStream"/>.
/// </summary>
public sealed class StreamFold<TStream, TState, TEvent>(TState initial, Func<TState, TEvent, TState> evolve, Func<TStream, TState> state, Func<string, TState, TStream> stream)
    : SingleStreamProjection<TStream, string> where TStream : class
{
    public override TStream? Evolve(TStream? snapshot, string id, IEvent e) =>
        e.Data is TEvent data ? stream(id, evolve(snapshot is null ? initial : state(snapshot), data)) : snapshot;
}
