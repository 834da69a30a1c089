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

        /// <summary>The last time the giver passed the referral to another member, if they did.</summary>
        public ReferralRedirected? Redirection { get; init; }

        /// <summary>Who receives the referral now: the member it was given to, or the one the giver passed it to.</summary>
        public Guid ReceiverId => Redirection?.ToReceiverId ?? Origin.ReceiverId;
    }

    public sealed record Given(ReferralGiven Origin) : Existing(Origin);

    public sealed record Declined(ReferralGiven Origin, ReferralDeclined Decline) : Existing(Origin);

    /// <summary>Accepted and not closed yet; may already have been thanked for the introduction.</summary>
    public sealed record Accepted(ReferralGiven Origin, ReferralAccepted Acceptance, ReferralThanked? Thanks) : Existing(Origin);

    public sealed record Closed(ReferralGiven Origin, ReferralAccepted Acceptance, ReferralClosed Closing, ReferralThanked? Thanks) : Existing(Origin);

    /// <summary>Taken back by the giver before the receiver accepted it: no step follows.</summary>
    public sealed record Withdrawn(ReferralGiven Origin, ReferralWithdrawn Withdrawal) : Existing(Origin);

    public static Referral Evolve(Referral state, ReferralEvent @event) => (state, @event) switch
    {
        (NotGiven, ReferralGiven given) => new Given(given),
        (Given g, ReferralAccepted accepted) => new Accepted(g.Origin, accepted, null) { Introduction = g.Introduction, Redirection = g.Redirection },
        (Given g, ReferralDeclined declined) => new Declined(g.Origin, declined) { Introduction = g.Introduction, Redirection = g.Redirection },
        (Given g, ReferralWithdrawn withdrawn) => new Withdrawn(g.Origin, withdrawn) { Introduction = g.Introduction, Redirection = g.Redirection },
        (Given g, ReferralRedirected redirected) => g with { Redirection = redirected },
        (Accepted a, ReferralClosed closed) => new Closed(a.Origin, a.Acceptance, closed, a.Thanks) { Introduction = a.Introduction, Redirection = a.Redirection },
        (Accepted a, ReferralThanked thanked) => a with { Thanks = thanked },
        (Closed c, ReferralThanked thanked) => c with { Thanks = thanked },
        // A correction changes what the steps say, never when they were taken: the 30 days to correct run from the step.
        (Closed c, ReferralCorrected corrected) => c with
        {
            Closing = corrected.Outcome is { } outcome ? c.Closing with { Outcome = outcome, Value = corrected.Value } : c.Closing,
            Thanks = corrected.ThankNote is { } note && c.Thanks is { } thanks ? thanks with { Note = note } : c.Thanks,
        },
        (Accepted a, ReferralCorrected { ThankNote: { } note }) when a.Thanks is { } thanks => a with { Thanks = thanks with { Note = note } },
        (Existing { Introduction: null } e, ReferralIntroduced introduced) => e with { Introduction = introduced },
        (Existing e, ProspectErased) => e with { Origin = e.Origin with { SealedProspect = null } },
        _ => state,
    };
}
