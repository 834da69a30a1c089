using Chapter.Domain.Shared;

namespace Chapter.Domain.Referrals;

/// <summary>
/// A referral's state. Every state after the first keeps the original <see cref="ReferralGiven"/>,
/// so a retried give can be recognised whatever happened since.
/// </summary>
public abstract record Referral : DeciderState
{
    public static Referral Initial { get; } = new NotGiven();

    public sealed record NotGiven : Referral;

    public abstract record Existing(ReferralGiven Origin) : Referral
    {
        /// <summary>The introduction e-mail the giver asked for, if they did; whatever step the referral is at.</summary>
        public ReferralIntroduced? Introduction { get; init; }
    }

    public sealed record Given(ReferralGiven Origin) : Existing(Origin);

    public sealed record Declined(ReferralGiven Origin, ReferralDeclined Decline) : Existing(Origin);

    /// <summary>Accepted and not closed yet; may already have been thanked for the introduction.</summary>
    public sealed record Accepted(ReferralGiven Origin, ReferralAccepted Acceptance, ReferralThanked? Thanks) : Existing(Origin);

    public sealed record Closed(ReferralGiven Origin, ReferralAccepted Acceptance, ReferralClosed Closing, ReferralThanked? Thanks) : Existing(Origin);

    public static Referral Evolve(Referral state, ReferralEvent @event) => (state, @event) switch
    {
        (NotGiven, ReferralGiven given) => new Given(given),
        (Given g, ReferralAccepted accepted) => new Accepted(g.Origin, accepted, null) { Introduction = g.Introduction },
        (Given g, ReferralDeclined declined) => new Declined(g.Origin, declined) { Introduction = g.Introduction },
        (Accepted a, ReferralClosed closed) => new Closed(a.Origin, a.Acceptance, closed, a.Thanks) { Introduction = a.Introduction },
        (Accepted a, ReferralThanked thanked) => a with { Thanks = thanked },
        (Closed c, ReferralThanked thanked) => c with { Thanks = thanked },
        (Existing { Introduction: null } e, ReferralIntroduced introduced) => e with { Introduction = introduced },
        (Existing e, ProspectErased) => e with { Origin = e.Origin with { SealedProspect = null } },
        _ => state,
    };
}
