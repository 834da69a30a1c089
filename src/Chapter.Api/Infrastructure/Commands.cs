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
using JasperFx;
using JasperFx.CodeGeneration;
using JasperFx.Events;
using JasperFx.Events.Projections;
using Marten;
using Marten.Events.Aggregation;
using Marten.Exceptions;
using Wolverine;

namespace Chapter.Api.Infrastructure;

public static class Commands
{
    /// <summary>
    /// Wolverine: the writes are its HTTP functions (<see cref="WriteEndpoints"/>) in the aggregate handler workflow on Marten, and
    /// what they cascade goes through its transactional outbox to the notification handlers.
    /// </summary>
    public static void AddChapterCommands(this WebApplicationBuilder builder)
    {
        builder.Host.UseWolverine(options =>
        {
            // Only the notification handlers (RouteNotifications): Wolverine's conventions would also take ASP.NET Core's
            // authorization handlers for message handlers.
            options.Discovery.DisableConventionalDiscovery();
            options.RouteNotifications(builder.Configuration);
            options.Policies.AutoApplyTransactions();
            options.Policies.UseDurableLocalQueues();
            // Handlers run on code generated ahead of time (Internal/Generated, "./chapter codegen"): no Roslyn at run time,
            // which made the first command after start take seconds. GeneratedCodeTests fails when that code is stale.
            options.CodeGeneration.TypeLoadMode = TypeLoadMode.Static;

            // Balanced: the nodes elect a leader that spreads the projection agents over the nodes that know them. A node that
            // dies is noticed within seconds (Wolverine's defaults take a minute and more), and its agents start elsewhere.
            options.Durability.Mode = DurabilityMode.Balanced;
            options.Durability.FirstHealthCheckExecution = TimeSpan.FromMilliseconds(200);
            options.Durability.HealthCheckPollingTime = TimeSpan.FromSeconds(1);
            options.Durability.CheckAssignmentPeriod = TimeSpan.FromSeconds(1);
            options.Durability.StaleNodeTimeout = TimeSpan.FromSeconds(5);
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
/// A stream folded by its decider's Evolve, for FetchForWriting: Marten wants an aggregate with an Id, and the domain's
/// states have none, so the state travels inside <typeparamref name="TStream"/>.
/// </summary>
public sealed class StreamFold<TStream, TState, TEvent>(TState initial, Func<TState, TEvent, TState> evolve, Func<TStream, TState> state, Func<string, TState, TStream> stream)
    : SingleStreamProjection<TStream, string> where TStream : class
{
    public override TStream? Evolve(TStream? snapshot, string id, IEvent e) =>
        e.Data is TEvent data ? stream(id, evolve(snapshot is null ? initial : state(snapshot), data)) : snapshot;
}
