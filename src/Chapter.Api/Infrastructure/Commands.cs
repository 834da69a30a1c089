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
using Chapter.Domain.Visitors;
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

    /// <summary>
    /// The write side's streams, folded live by their deciders' Evolve for FetchForWriting. Marten 9 folds a type by itself only
    /// through its source generator, which needs a constructible aggregate type in an assembly that references Marten; the
    /// deciders' states are sum types in a domain free of the event store, so each is registered through Marten's explicit
    /// Evolve (<see cref="DeciderProjection{TState,TEvent}"/>).
    /// </summary>
    public static void AddDeciderProjections(StoreOptions options)
    {
        options.Projections.Add(new DeciderProjection<Referral, ReferralEvent>(Referral.Initial, Referral.Evolve), ProjectionLifecycle.Live);
        options.Projections.Add(new DeciderProjection<Member, MemberEvent>(Member.Initial, Member.Evolve), ProjectionLifecycle.Live);
        options.Projections.Add(new DeciderProjection<ChapterState, ChapterEvent>(ChapterState.Initial, ChapterState.Evolve), ProjectionLifecycle.Live);
        options.Projections.Add(new DeciderProjection<Visitor, VisitorEvent>(Visitor.Initial, Visitor.Evolve), ProjectionLifecycle.Live);
        options.Projections.Add(new DeciderProjection<Meeting, MeetingEvent>(Meeting.Initial, Meeting.Evolve), ProjectionLifecycle.Live);
        options.Projections.Add(new DeciderProjection<OneToOne, OneToOneEvent>(OneToOne.Initial, OneToOne.Evolve), ProjectionLifecycle.Live);
    }
}

/// <summary>A decider's state, folded from its stream by the decider's own Evolve; the state carries the stream's id.</summary>
public sealed class DeciderProjection<TState, TEvent>(TState initial, Func<TState, TEvent, TState> evolve)
    : SingleStreamProjection<TState, string> where TState : DeciderState
{
    public override TState? Evolve(TState? snapshot, string id, IEvent e) =>
        e.Data is TEvent data ? (TState)(evolve(snapshot ?? initial, data) with { Id = id }) : snapshot;
}
