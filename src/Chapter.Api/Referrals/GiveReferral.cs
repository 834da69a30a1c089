using Chapter.Api.Access;
using Chapter.Api.Infrastructure;
using Chapter.Domain.Referrals;
using Chapter.Domain.Shared;
using Chapter.Projections.Chapters;
using Chapter.Projections.Members;
using Chapter.Projections.Prospects;
using Chapter.Projections.Referrals;
using Marten;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Mvc;
using Npgsql;
using Wolverine;
using Wolverine.Http;
using Wolverine.Marten;

namespace Chapter.Api.Referrals;

/// <summary>A give, checked: the command for the decider, the prospect as typed (for the answer), and whether the chapter has the referral already.</summary>
public sealed record CheckedGive(GiveReferral Command, ProspectContact Contact, bool Exists);

public static class GiveReferralEndpoint
{
    /// <summary>
    /// What a give needs before it is decided, in one round trip: both members, the prospect's key (made now on first use, so a
    /// give refused later leaves an unused key, as one the decider refused always did), and whether the chapter has the referral
    /// already. A member's row implies the chapter, which is only read to say which is missing.
    /// </summary>
    public static async Task<CheckedGive> LoadAsync(string chapterId, GiveReferralRequest body, ChapterDatabase db, TimeProvider clock,
        Caller caller, CancellationToken ct)
    {
        var giverId = caller.ActingMemberId;
        if (body.GiverId is { } claimedGiver && claimedGiver != giverId)
            throw new RequestRefused(Problems.Forbidden("A member gives referrals as themselves: leave 'giverId' out, or send your own id."));

        var check = new Validation();
        if (body.ReferralId == Guid.Empty)
            check.Add("referralId", "'referralId' must be a non-empty UUID, or left out for the server to choose one.");
        var receiverId = check.RequiredId(body.ReceiverId, "receiverId");
        ProspectContact? contact = null;
        var consent = false;
        if (body.Prospect is not { } p)
            check.Add("prospect", "'prospect' is required: {name, email?, phone?, company?, consent}.");
        else
        {
            var email = check.OptionalText(p.Email, "prospect.email", 254);
            if (email is not null && (!email.Contains('@') || email.StartsWith('@') || email.EndsWith('@')))
                check.Add("prospect.email", "'prospect.email' is not an e-mail address.");
            contact = new ProspectContact(
                check.Text(p.Name, "prospect.name"),
                email,
                check.OptionalText(p.Phone, "prospect.phone", 50),
                check.OptionalText(p.Company, "prospect.company"));
            consent = check.Required(p.Consent, "prospect.consent");
        }
        var need = check.Text(body.Need, "need", Validation.MaxTextLength);
        var temperature = check.OneOf<Temperature>(body.Temperature, "temperature");
        var language = check.Language(body.Language, "language");
        check.ThrowIfInvalid();

        var referralId = body.ReferralId ?? Guid.CreateVersion7();
        var (members, foundKey, exists) = await ReadBeforeGiveAsync(db, chapterId, referralId, [giverId, receiverId], ct);
        var giver = members.FirstOrDefault(m => m.Id == giverId);
        var receiver = members.FirstOrDefault(m => m.Id == receiverId);
        if ((giver is null || receiver is null) && await ChapterProjection.GetAsync(db, chapterId, ct) is null)
            throw new RequestRefused(Problems.NotFound($"Chapter '{chapterId}' does not exist."));
        if (giver is null)
            throw new RequestRefused(Problems.NotFound("giverId", $"Member {giverId} is not in chapter '{chapterId}'."));
        if (receiver is null)
            throw new RequestRefused(Problems.NotFound("receiverId", $"Member {receiverId} is not in chapter '{chapterId}'."));
        if ((foundKey is null ? await ProspectKeys.GetOrCreateAsync(db, chapterId, referralId, ct) : foundKey.Key) is not { } key)
            throw new RequestRefused(TypedResults.Problem(new ProblemDetails
            {
                Status = StatusCodes.Status409Conflict,
                Title = "Conflict with what already happened.",
                Detail = $"The prospect of referral {referralId} was erased; nothing can be given again under its id.",
            }));

        var command = new GiveReferral(referralId, chapterId, giver.Standing, receiver.Standing, consent, ProspectSeal.Seal(key, referralId, contact!),
            need, temperature, language, ReferralProjection.ToStoredPrecision(clock.GetUtcNow()));
        return new CheckedGive(command, contact!, exists);
    }

    [WolverinePost("/api/chapters/{chapterId}/referrals/", OperationId = "GiveReferral")]
    [Authorize(Policy = Policies.ChapterMember), Tags("Referrals"), EndpointSummary("Give a referral to another member")]
    [EndpointDescription(
        "The giver is the signed-in member; giverId may be left out, and is 403 when it names someone else. " +
        "The prospect must have agreed to be contacted (prospect.consent = true), and the referral names the " +
        "language the introduction should be held in (a BCP 47 tag). Send your own referralId (a UUID) to make " +
        "retries safe: the same id with the same body answers 200 with the referral and changes nothing; the same " +
        "id with another body is 409.")]
    [ProducesResponseType<ReferralView>(StatusCodes.Status201Created)]
    [ProducesResponseType<ReferralView>(StatusCodes.Status200OK)]
    public static async Task<(IResult, IStartStream?, OutgoingMessages)> Post([NotBody] CheckedGive give, IDocumentSession session, Caller caller,
        CancellationToken ct)
    {
        var command = give.Command;
        var key = ReferralDecider.StreamId(command.ReferralId);
        var location = $"/api/chapters/{command.ChapterId}/referrals/{command.ReferralId}";
        if (!give.Exists)
        {
            // A referral the chapter did not have a moment ago: its stream is started without being read. Should another give with
            // this id get there first, Marten refuses the start, and the request is retried (WriteEndpoints): it then finds the referral.
            var events = ReferralDecider.Decide(command, Referral.Initial);
            var view = ReferralProjection.JustGiven(events.OfType<ReferralGiven>().Single(), give.Contact);
            return (ReferralAnswer.Created(location, view), MartenOps.StartStream<Referral>(key, [.. events]), ReferralNotices.For(Referral.Initial, events));
        }

        var stream = await session.Events.FetchForWriting<Referral>(key, ct);
        var before = stream.Aggregate ?? Referral.Initial;
        var decided = ReferralDecider.Decide(command, before);
        stream.AppendMany(decided);
        return (ReferralAnswer.Read(command.ChapterId, command.ReferralId, caller, created: decided.Length > 0 ? location : null), null,
            ReferralNotices.For(before, decided));
    }

    private static async Task<(IReadOnlyList<MemberView> Members, ProspectKeys.FoundKey? Key, bool ReferralExists)> ReadBeforeGiveAsync(
        ChapterDatabase db, string chapterId, Guid referralId, Guid[] memberIds, CancellationToken ct)
    {
        await using var batch = db.CreateBatch();
        batch.BatchCommands.Add(MemberProjection.GetManyCommand(chapterId, memberIds));
        batch.BatchCommands.Add(ProspectKeys.GetOrCreateCommand(chapterId, referralId));
        batch.BatchCommands.Add(ReferralProjection.ExistsCommand(chapterId, referralId));
        await using var reader = await batch.ExecuteReaderAsync(ct);
        var members = await MemberProjection.ReadAllAsync(reader, ct);
        await reader.NextResultAsync(ct);
        var key = await ProspectKeys.ReadKeyAsync(reader, ct);
        await reader.NextResultAsync(ct);
        return (members, key, await reader.ReadAsync(ct));
    }
}
