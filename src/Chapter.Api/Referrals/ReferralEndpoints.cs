using Chapter.Api.Access;
using Chapter.Api.Infrastructure;
using Chapter.Api.Notifications;
using Chapter.Domain.Referrals;
using Chapter.Domain.Shared;
using Chapter.Projections.Chapters;
using Chapter.Projections.Members;
using Chapter.Projections.Prospects;
using Chapter.Projections.Referrals;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Npgsql;
using Wolverine;

namespace Chapter.Api.Referrals;

/// <param name="Line">A word from the giver to the prospect and the receiver (at most 500 characters).</param>
public sealed record IntroduceRequest(string? Line);

/// <param name="Next">The cursor of the next page (pass it as 'after'); null on the last page.</param>
public sealed record ReferralList(IReadOnlyList<ReferralView> Items, string? Next);

public static class ReferralEndpoints
{
    private const string ProspectVisibility =
        "prospect (name and contact) is shown to the giver, the receiver and leaders, and left out for everyone else; " +
        "once erased, its fields read \"erased\".";

    public static RouteGroupBuilder MapReferrals(this IEndpointRouteBuilder routes)
    {
        // Policies per endpoint, not on the group: a group's policy would apply on top of each endpoint's.
        var group = routes.MapGroup("/api/chapters/{chapterId}/referrals").WithTags("Referrals")
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status409Conflict)
            .ProducesProblem(StatusCodes.Status403Forbidden)
            .ProducesProblem(StatusCodes.Status422UnprocessableEntity);

        group.MapPost("/", GiveAsync)
            .RequireAuthorization(Policies.ChapterMember)
            .WithName("GiveReferral")
            .WithSummary("Give a referral to another member")
            .WithDescription(
                "The giver is the signed-in member; giverId may be left out, and is 403 when it names someone else. " +
                "The prospect must have agreed to be contacted (prospect.consent = true), and the referral names the " +
                "language the introduction should be held in (a BCP 47 tag). Send your own referralId (a UUID) to make " +
                "retries safe: the same id with the same body answers 200 with the referral and changes nothing; the same " +
                "id with another body is 409.");

        group.MapGet("/", ListAsync)
            .RequireAuthorization(Policies.ChapterData)
            .WithName("ListReferrals")
            .WithSummary("List a chapter's referrals, newest first")
            .WithDescription(
                "status: given | accepted | declined | closed | thanked (the last step taken). memberId: referrals that member gave or received. " +
                "A member lists the referrals they gave or received; leaders and integrations list all. " + ProspectVisibility);

        group.MapGet("/{referralId:guid}", GetAsync)
            .RequireAuthorization(Policies.ChapterData)
            .WithName("GetReferral")
            .WithSummary("Read a referral")
            .WithDescription(
                "The ETag is the referral's version; send it in If-None-Match to get 304 when nothing changed. " +
                "A member reads the referrals they gave or received. " + ProspectVisibility);

        group.MapPost("/{referralId:guid}/accept", AcceptAsync)
            .RequireAuthorization(Policies.ChapterMember)
            .WithName("AcceptReferral").WithSummary("The receiver accepts the referral");
        group.MapPost("/{referralId:guid}/decline", DeclineAsync)
            .RequireAuthorization(Policies.ChapterMember)
            .WithName("DeclineReferral").WithSummary("The receiver declines the referral, with a reason");
        group.MapPost("/{referralId:guid}/close", CloseAsync)
            .RequireAuthorization(Policies.ChapterMember)
            .WithName("CloseReferral")
            .WithSummary("The receiver closes the business: won (with its value) or lost")
            .WithDescription("Only after the referral was accepted. value {amount, currency} is required for won and absent for lost; without a currency, the chapter's currency is used.");
        group.MapPost("/{referralId:guid}/thank", ThankAsync)
            .RequireAuthorization(Policies.ChapterMember)
            .WithName("ThankGiver")
            .WithSummary("The receiver thanks the giver and reports back what came of it")
            .WithDescription("Once, after accepting or closing. The note tells the giver what happened.");

        group.MapPost("/{referralId:guid}/introduce", IntroduceAsync)
            .RequireAuthorization(Policies.ChapterMember)
            .WithName("IntroduceReferral")
            .WithSummary("The giver has the prospect and the receiver introduced to each other by e-mail, with the giver in copy")
            .WithDescription(
                "Once per referral: a repeat answers 200 and sends nothing, and introducedAt shows when it was asked for. Needs the prospect's " +
                "e-mail address (and their consent), and the receiver's (in their notification settings); the giver is copied when they have one. " +
                "Written in the referral's language; one the service does not write falls back to English, and says so. line: the giver's word to both.");

        group.MapDelete("/{referralId:guid}/prospect", EraseProspectAsync)
            .RequireAuthorization(Policies.ChapterMember)
            .WithName("EraseProspect")
            .WithSummary("Erase the prospect's contact details for good (the giver, or a leader)")
            .WithDescription(
                "For a prospect who asks to be forgotten. The details are destroyed, not hidden: their key is deleted, so no event, " +
                "read model, feed or rebuild can show them again; they read \"erased\" from then on. The referral itself stays. Repeating it changes nothing.")
            .Produces(StatusCodes.Status204NoContent);

        return group;
    }

    private static async Task<Results<Created<ReferralView>, Ok<ReferralView>, ValidationProblem, ProblemHttpResult>> GiveAsync(
        string chapterId, GiveReferralRequest body, IMessageBus bus, NpgsqlDataSource db, TimeProvider clock, Caller caller, HttpContext context, CancellationToken ct)
    {
        var giverId = caller.ActingMemberId;
        if (body.GiverId is { } claimedGiver && claimedGiver != giverId)
            return Problems.Forbidden("A member gives referrals as themselves: leave 'giverId' out, or send your own id.");

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
        if (!check.IsValid)
            return (ValidationProblem)check.Problem();

        // What a give needs before it is decided, in one round trip: both members, the prospect's key (made now on first
        // use, so a give refused later leaves an unused key, as one the decider refused always did), and whether the
        // chapter has the referral already. A member's row implies the chapter, which is only read to say which is missing.
        var referralId = body.ReferralId ?? Guid.CreateVersion7();
        var (members, foundKey, exists) = await ReadBeforeGiveAsync(db, chapterId, referralId, [giverId, receiverId], ct);
        var giver = members.FirstOrDefault(m => m.Id == giverId);
        var receiver = members.FirstOrDefault(m => m.Id == receiverId);
        if ((giver is null || receiver is null) && await ChapterProjection.GetAsync(db, chapterId, ct) is null)
            return Problems.NotFound($"Chapter '{chapterId}' does not exist.");
        if (giver is null)
            return Problems.NotFound("giverId", $"Member {giverId} is not in chapter '{chapterId}'.");
        if (receiver is null)
            return Problems.NotFound("receiverId", $"Member {receiverId} is not in chapter '{chapterId}'.");

        if ((foundKey is null ? await ProspectKeys.GetOrCreateAsync(db, chapterId, referralId, ct) : foundKey.Key) is not { } key)
            return TypedResults.Problem(new ProblemDetails
            {
                Status = StatusCodes.Status409Conflict,
                Title = "Conflict with what already happened.",
                Detail = $"The prospect of referral {referralId} was erased; nothing can be given again under its id.",
            });
        var sealedProspect = ProspectSeal.Seal(key, referralId, contact!);
        var command = new GiveReferral(referralId, chapterId, giver.Standing, receiver.Standing, consent, sealedProspect, need, temperature, language,
            ReferralProjection.ToStoredPrecision(clock.GetUtcNow()));

        var location = $"/api/chapters/{chapterId}/referrals/{referralId}";
        if (!exists && await TryStartAsync(bus, chapterId, command, caller, context, ct) is { } given)
        {
            // The stream was new: the answer is what was just appended, as the view has it, without reading it back.
            var started = ReferralProjection.JustGiven(given, contact!);
            WithETag(context, started);
            return TypedResults.Created(location, started);
        }

        var appended = await DecideAsync(bus, chapterId, command, caller, context, ct);
        var view = (await ReferralProjection.GetAsync(db, chapterId, referralId, ct))!;
        WithETag(context, view);
        return appended ? TypedResults.Created(location, view) : TypedResults.Ok(view);
    }

    private static async Task<(IReadOnlyList<MemberView> Members, ProspectKeys.FoundKey? Key, bool ReferralExists)> ReadBeforeGiveAsync(
        NpgsqlDataSource db, string chapterId, Guid referralId, Guid[] memberIds, CancellationToken ct)
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

    /// <summary>The referral given on a stream started new; null when another give with its id got there first.</summary>
    private static async Task<ReferralGiven?> TryStartAsync(
        IMessageBus bus, string chapterId, GiveReferral command, Caller caller, HttpContext context, CancellationToken ct)
    {
        try
        {
            var started = await bus.DecideAsync(chapterId,
                new StartReferral(ReferralDecider.StreamId(command.ReferralId), command, RequestMetadata.For(context, caller)), ct);
            return started.Events.OfType<ReferralGiven>().Single();
        }
        catch (Exception e) when (Commands.IsConcurrencyConflict(e))
        {
            return null;
        }
    }

    private static async Task<Results<Ok<ReferralList>, ValidationProblem, ProblemHttpResult>> ListAsync(
        string chapterId, string? status, Guid? memberId, int? limit, string? after, NpgsqlDataSource db, Caller caller, CancellationToken ct)
    {
        if (ReadsOnlyOwnReferrals(caller))
        {
            if (memberId is { } other && other != caller.MemberId)
                return Problems.Forbidden("A member lists the referrals they gave or received: leave 'memberId' out, or send your own id.");
            memberId = caller.MemberId;
        }
        var check = new Validation();
        if (status is not null && !ReferralProjection.Statuses.Contains(status))
            check.Add("status", $"'status' must be one of: {string.Join(", ", ReferralProjection.Statuses)}.");
        var page = check.Page(limit, after);
        if (!check.IsValid)
            return (ValidationProblem)check.Problem();
        if (await ChapterProjection.GetAsync(db, chapterId, ct) is null)
            return Problems.NotFound($"Chapter '{chapterId}' does not exist.");
        var (referrals, next) = await ReferralProjection.ListAsync(db, chapterId, status, memberId, page, ct);
        return TypedResults.Ok(new ReferralList(referrals.Select(view => AsSeenBy(caller, view)).ToList(), next));
    }

    private static async Task<Results<Ok<ReferralView>, StatusCodeHttpResult, ProblemHttpResult>> GetAsync(
        string chapterId, Guid referralId, NpgsqlDataSource db, Caller caller, HttpContext context, CancellationToken ct)
    {
        if (await ReferralProjection.GetAsync(db, chapterId, referralId, ct) is not { } stored)
            return Problems.NotFound($"Referral {referralId} is not in chapter '{chapterId}'.");
        if (ReadsOnlyOwnReferrals(caller) && !TookPart(caller, stored))
            return Problems.Forbidden("A member reads the referrals they gave or received.");
        var view = AsSeenBy(caller, stored);
        var etag = WithETag(context, view);
        if (context.Request.Headers.IfNoneMatch.Any(value => value == etag || value == "*"))
            return TypedResults.StatusCode(StatusCodes.Status304NotModified);
        return TypedResults.Ok(view);
    }

    private static Task<Results<Ok<ReferralView>, ValidationProblem, ProblemHttpResult>> AcceptAsync(
        string chapterId, Guid referralId, AcceptReferralRequest? body, IMessageBus bus, NpgsqlDataSource db, TimeProvider clock, Caller caller, HttpContext context, CancellationToken ct)
    {
        var check = new Validation();
        return ActAsync(check, body?.MemberId, memberId => new AcceptReferral(referralId, memberId, clock.GetUtcNow()), chapterId, bus, db, caller, context, ct);
    }

    private static Task<Results<Ok<ReferralView>, ValidationProblem, ProblemHttpResult>> DeclineAsync(
        string chapterId, Guid referralId, DeclineReferralRequest body, IMessageBus bus, NpgsqlDataSource db, TimeProvider clock, Caller caller, HttpContext context, CancellationToken ct)
    {
        var check = new Validation();
        var reason = check.Text(body.Reason, "reason", Validation.MaxTextLength);
        return ActAsync(check, body.MemberId, memberId => new DeclineReferral(referralId, memberId, reason, clock.GetUtcNow()), chapterId, bus, db, caller, context, ct);
    }

    private static async Task<Results<Ok<ReferralView>, ValidationProblem, ProblemHttpResult>> CloseAsync(
        string chapterId, Guid referralId, CloseReferralRequest body, IMessageBus bus, NpgsqlDataSource db, TimeProvider clock, Caller caller, HttpContext context, CancellationToken ct)
    {
        var check = new Validation();
        var outcome = check.OneOf<Outcome>(body.Outcome, "outcome");
        Money? value = null;
        if (body.Value is { } v)
        {
            var amount = check.Required(v.Amount, "value.amount");
            if (amount < 0)
                check.Add("value.amount", "'value.amount' cannot be negative.");
            var currency = v.Currency is null
                ? (await ChapterProjection.GetAsync(db, chapterId, ct))?.Currency ?? ""
                : check.Currency(v.Currency, "value.currency");
            value = new Money(amount, currency);
        }
        return await ActAsync(check, body.MemberId, memberId => new CloseReferral(referralId, memberId, outcome, value, clock.GetUtcNow()), chapterId, bus, db, caller, context, ct);
    }

    private static Task<Results<Ok<ReferralView>, ValidationProblem, ProblemHttpResult>> ThankAsync(
        string chapterId, Guid referralId, ThankGiverRequest body, IMessageBus bus, NpgsqlDataSource db, TimeProvider clock, Caller caller, HttpContext context, CancellationToken ct)
    {
        var check = new Validation();
        var note = check.Text(body.Note, "note", Validation.MaxTextLength);
        return ActAsync(check, body.MemberId, memberId => new ThankGiver(referralId, memberId, note, clock.GetUtcNow()), chapterId, bus, db, caller, context, ct);
    }

    /// <summary>
    /// The receiver's steps share their shape: the signed-in member acts (a memberId in the body must be theirs), validate,
    /// decide (the referral must be this chapter's, and only the receiver may), answer with the view.
    /// </summary>
    private static async Task<Results<Ok<ReferralView>, ValidationProblem, ProblemHttpResult>> ActAsync(
        Validation check, Guid? claimedMemberId, Func<Guid, ReceiverCommand> command, string chapterId, IMessageBus bus, NpgsqlDataSource db,
        Caller caller, HttpContext context, CancellationToken ct)
    {
        if (claimedMemberId is { } claimed && claimed != caller.ActingMemberId)
            return Problems.Forbidden("A member acts as themselves: leave 'memberId' out, or send your own id.");
        if (!check.IsValid)
            return (ValidationProblem)check.Problem();
        var receiverCommand = command(caller.ActingMemberId);
        // A referral of another chapter is another tenant's stream: the decider finds none, and says so (404).
        await DecideAsync(bus, chapterId, receiverCommand, caller, context, ct);

        var view = AsSeenBy(caller, (await ReferralProjection.GetAsync(db, chapterId, receiverCommand.ReferralId, ct))!);
        WithETag(context, view);
        return TypedResults.Ok(view);
    }

    private static async Task<Results<Ok<ReferralView>, ValidationProblem, ProblemHttpResult>> IntroduceAsync(
        string chapterId, Guid referralId, IntroduceRequest? body, IMessageBus bus, NpgsqlDataSource db, TimeProvider clock, Caller caller,
        HttpContext context, CancellationToken ct)
    {
        var check = new Validation();
        var line = check.OptionalText(body?.Line, "line", 500);
        if (!check.IsValid)
            return (ValidationProblem)check.Problem();
        if (await ReferralProjection.GetAsync(db, chapterId, referralId, ct) is not { } referral)
            return Problems.NotFound($"Referral {referralId} is not in chapter '{chapterId}'.");
        // What an e-mail needs, checked only when one would go out; who may, and when, is the decider's to say.
        if (referral.IntroducedAt is null && referral.GiverId == caller.MemberId && referral.Prospect is { ErasedAt: null } prospect)
        {
            if (prospect.Email is not { Length: > 0 })
                return Problems.Unprocessable("prospect.email", "The prospect gave no e-mail address to be introduced by.");
            if ((await NotificationSettings.GetAsync(db, chapterId, referral.ReceiverId, ct))?.Choices.Email is null)
                return Problems.Unprocessable("receiverId", "The receiver has no e-mail address in their notification settings.");
        }
        await DecideAsync(bus, chapterId, new IntroduceReferral(referralId, caller.ActingMemberId, line, clock.GetUtcNow()), caller, context, ct);
        var view = AsSeenBy(caller, (await ReferralProjection.GetAsync(db, chapterId, referralId, ct))!);
        WithETag(context, view);
        return TypedResults.Ok(view);
    }

    private static async Task<Results<NoContent, ProblemHttpResult>> EraseProspectAsync(
        string chapterId, Guid referralId, IMessageBus bus, NpgsqlDataSource db, TimeProvider clock, Caller caller, HttpContext context,
        ILogger<EraseProspect> logger, CancellationToken ct)
    {
        if (await ReferralProjection.GetAsync(db, chapterId, referralId, ct) is null)
            return Problems.NotFound($"Referral {referralId} is not in chapter '{chapterId}'.");

        // The decider says who may; only then is the key destroyed. Destroying it again is harmless,
        // so a retry after a failure between the two steps completes the erasure.
        await DecideAsync(bus, chapterId, new EraseProspect(referralId, caller.ActingMemberId, caller.IsLeader, clock.GetUtcNow()), caller, context, ct);
        await ProspectKeys.DestroyAsync(db, chapterId, referralId, ct);
        logger.LogInformation("Prospect of referral {ReferralId} in chapter {ChapterId} erased by {Actor}", referralId, chapterId, caller.Actor);
        return TypedResults.NoContent();
    }

    private static bool ReadsOnlyOwnReferrals(Caller caller) => caller is { IsMember: true, IsLeader: false };

    private static bool TookPart(Caller caller, ReferralView view) => caller.MemberId == view.GiverId || caller.MemberId == view.ReceiverId;

    /// <summary>The prospect's details only for those with a reason to see them: the giver, the receiver and leaders.</summary>
    private static ReferralView AsSeenBy(Caller caller, ReferralView view) =>
        caller.IsLeader || (caller.IsMember && TookPart(caller, view)) ? view : view with { Prospect = null };

    private static async Task<bool> DecideAsync(
        IMessageBus bus, string chapterId, ReferralCommand command, Caller caller, HttpContext context, CancellationToken ct) =>
        (await bus.DecideAsync(chapterId,
            new DecideReferral(ReferralDecider.StreamId(command.ReferralId), command, RequestMetadata.For(context, caller)), ct)).Appended;

    private static string WithETag(HttpContext context, ReferralView view)
    {
        // Readers without the prospect get another representation of the same version, so another tag.
        var etag = view.Prospect is null ? $"\"{view.Version}-without-prospect\"" : $"\"{view.Version}\"";
        context.Response.Headers.Vary = "Authorization";
        context.Response.Headers.ETag = etag;
        return etag;
    }
}
