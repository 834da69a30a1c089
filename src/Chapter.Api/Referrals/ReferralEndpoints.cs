using Chapter.Api.Infrastructure;
using Chapter.Domain.Referrals;
using Chapter.Domain.Shared;
using Chapter.Projections.Chapters;
using Chapter.Projections.Members;
using Chapter.Projections.Referrals;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Npgsql;

namespace Chapter.Api.Referrals;

public sealed record ReferralList(IReadOnlyList<ReferralView> Items);

public static class ReferralEndpoints
{
    public static RouteGroupBuilder MapReferrals(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/api/chapters/{chapterId}/referrals").WithTags("Referrals")
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status409Conflict)
            .ProducesProblem(StatusCodes.Status403Forbidden)
            .ProducesProblem(StatusCodes.Status422UnprocessableEntity);

        group.MapPost("/", GiveAsync)
            .WithName("GiveReferral")
            .WithSummary("Give a referral to another member")
            .WithDescription(
                "The prospect must have agreed to be contacted (prospect.consent = true), and the referral names the " +
                "language the introduction should be held in (a BCP 47 tag). Send your own referralId (a UUID) to make " +
                "retries safe: the same id with the same body answers 200 with the referral and changes nothing; the same " +
                "id with another body is 409.");

        group.MapGet("/", ListAsync)
            .WithName("ListReferrals")
            .WithSummary("List a chapter's referrals, newest first")
            .WithDescription("status: given | accepted | declined | closed | thanked (the last step taken). memberId: referrals that member gave or received.");

        group.MapGet("/{referralId:guid}", GetAsync)
            .WithName("GetReferral")
            .WithSummary("Read a referral")
            .WithDescription("The ETag is the referral's version; send it in If-None-Match to get 304 when nothing changed.");

        group.MapPost("/{referralId:guid}/accept", AcceptAsync)
            .WithName("AcceptReferral").WithSummary("The receiver accepts the referral");
        group.MapPost("/{referralId:guid}/decline", DeclineAsync)
            .WithName("DeclineReferral").WithSummary("The receiver declines the referral, with a reason");
        group.MapPost("/{referralId:guid}/close", CloseAsync)
            .WithName("CloseReferral")
            .WithSummary("The receiver closes the business: won (with its value) or lost")
            .WithDescription("Only after the referral was accepted. value {amount, currency} is required for won and absent for lost; without a currency, the chapter's currency is used.");
        group.MapPost("/{referralId:guid}/thank", ThankAsync)
            .WithName("ThankGiver")
            .WithSummary("The receiver thanks the giver and reports back what came of it")
            .WithDescription("Once, after accepting or closing. The note tells the giver what happened.");

        return group;
    }

    private static async Task<Results<Created<ReferralView>, Ok<ReferralView>, ValidationProblem, ProblemHttpResult>> GiveAsync(
        string chapterId, GiveReferralRequest body, WritePath writePath, NpgsqlDataSource db, TimeProvider clock, HttpContext context, CancellationToken ct)
    {
        var check = new Validation();
        if (body.ReferralId == Guid.Empty)
            check.Add("referralId", "'referralId' must be a non-empty UUID, or left out for the server to choose one.");
        var giverId = check.RequiredId(body.GiverId, "giverId");
        var receiverId = check.RequiredId(body.ReceiverId, "receiverId");
        Prospect? prospect = null;
        if (body.Prospect is not { } p)
            check.Add("prospect", "'prospect' is required: {name, email?, phone?, company?, consent}.");
        else
        {
            var email = check.OptionalText(p.Email, "prospect.email", 254);
            if (email is not null && (!email.Contains('@') || email.StartsWith('@') || email.EndsWith('@')))
                check.Add("prospect.email", "'prospect.email' is not an e-mail address.");
            prospect = new Prospect(
                check.Text(p.Name, "prospect.name"),
                email,
                check.OptionalText(p.Phone, "prospect.phone", 50),
                check.OptionalText(p.Company, "prospect.company"),
                check.Required(p.Consent, "prospect.consent"));
        }
        var need = check.Text(body.Need, "need", Validation.MaxTextLength);
        var temperature = check.OneOf<Temperature>(body.Temperature, "temperature");
        var language = check.Language(body.Language, "language");
        if (!check.IsValid)
            return (ValidationProblem)check.Problem();

        if (await ChapterProjection.GetAsync(db, chapterId, ct) is null)
            return Problems.NotFound($"Chapter '{chapterId}' does not exist.");
        if (await MemberProjection.GetAsync(db, chapterId, giverId, ct) is not { } giver)
            return Problems.NotFound("giverId", $"Member {giverId} is not in chapter '{chapterId}'.");
        if (await MemberProjection.GetAsync(db, chapterId, receiverId, ct) is not { } receiver)
            return Problems.NotFound("receiverId", $"Member {receiverId} is not in chapter '{chapterId}'.");

        var referralId = body.ReferralId ?? Guid.CreateVersion7();
        var command = new GiveReferral(referralId, chapterId, giver.Standing, receiver.Standing, prospect!, need, temperature, language, clock.GetUtcNow());

        var (_, appended) = await DecideAsync(writePath, chapterId, command, giverId, context, ct);

        var view = (await ReferralProjection.GetAsync(db, chapterId, referralId, ct))!;
        WithETag(context, view);
        return appended
            ? TypedResults.Created($"/api/chapters/{chapterId}/referrals/{referralId}", view)
            : TypedResults.Ok(view);
    }

    private static async Task<Results<Ok<ReferralList>, ValidationProblem, ProblemHttpResult>> ListAsync(
        string chapterId, string? status, Guid? memberId, NpgsqlDataSource db, CancellationToken ct)
    {
        if (status is not null && !ReferralProjection.Statuses.Contains(status))
        {
            var check = new Validation();
            check.Add("status", $"'status' must be one of: {string.Join(", ", ReferralProjection.Statuses)}.");
            return (ValidationProblem)check.Problem();
        }
        if (await ChapterProjection.GetAsync(db, chapterId, ct) is null)
            return Problems.NotFound($"Chapter '{chapterId}' does not exist.");
        return TypedResults.Ok(new ReferralList(await ReferralProjection.ListAsync(db, chapterId, status, memberId, ct)));
    }

    private static async Task<Results<Ok<ReferralView>, StatusCodeHttpResult, ProblemHttpResult>> GetAsync(
        string chapterId, Guid referralId, NpgsqlDataSource db, HttpContext context, CancellationToken ct)
    {
        if (await ReferralProjection.GetAsync(db, chapterId, referralId, ct) is not { } view)
            return Problems.NotFound($"Referral {referralId} is not in chapter '{chapterId}'.");
        var etag = WithETag(context, view);
        if (context.Request.Headers.IfNoneMatch.Any(value => value == etag || value == "*"))
            return TypedResults.StatusCode(StatusCodes.Status304NotModified);
        return TypedResults.Ok(view);
    }

    private static Task<Results<Ok<ReferralView>, ValidationProblem, ProblemHttpResult>> AcceptAsync(
        string chapterId, Guid referralId, AcceptReferralRequest body, WritePath writePath, NpgsqlDataSource db, TimeProvider clock, HttpContext context, CancellationToken ct)
    {
        var check = new Validation();
        var memberId = check.RequiredId(body.MemberId, "memberId");
        return ActAsync(check, () => new AcceptReferral(referralId, memberId, clock.GetUtcNow()), chapterId, writePath, db, context, ct);
    }

    private static Task<Results<Ok<ReferralView>, ValidationProblem, ProblemHttpResult>> DeclineAsync(
        string chapterId, Guid referralId, DeclineReferralRequest body, WritePath writePath, NpgsqlDataSource db, TimeProvider clock, HttpContext context, CancellationToken ct)
    {
        var check = new Validation();
        var memberId = check.RequiredId(body.MemberId, "memberId");
        var reason = check.Text(body.Reason, "reason", Validation.MaxTextLength);
        return ActAsync(check, () => new DeclineReferral(referralId, memberId, reason, clock.GetUtcNow()), chapterId, writePath, db, context, ct);
    }

    private static async Task<Results<Ok<ReferralView>, ValidationProblem, ProblemHttpResult>> CloseAsync(
        string chapterId, Guid referralId, CloseReferralRequest body, WritePath writePath, NpgsqlDataSource db, TimeProvider clock, HttpContext context, CancellationToken ct)
    {
        var check = new Validation();
        var memberId = check.RequiredId(body.MemberId, "memberId");
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
        return await ActAsync(check, () => new CloseReferral(referralId, memberId, outcome, value, clock.GetUtcNow()), chapterId, writePath, db, context, ct);
    }

    private static Task<Results<Ok<ReferralView>, ValidationProblem, ProblemHttpResult>> ThankAsync(
        string chapterId, Guid referralId, ThankGiverRequest body, WritePath writePath, NpgsqlDataSource db, TimeProvider clock, HttpContext context, CancellationToken ct)
    {
        var check = new Validation();
        var memberId = check.RequiredId(body.MemberId, "memberId");
        var note = check.Text(body.Note, "note", Validation.MaxTextLength);
        return ActAsync(check, () => new ThankGiver(referralId, memberId, note, clock.GetUtcNow()), chapterId, writePath, db, context, ct);
    }

    /// <summary>The receiver's steps share their shape: validate, find the referral in this chapter, decide, answer with the view.</summary>
    private static async Task<Results<Ok<ReferralView>, ValidationProblem, ProblemHttpResult>> ActAsync(
        Validation check, Func<ReceiverCommand> command, string chapterId, WritePath writePath, NpgsqlDataSource db, HttpContext context, CancellationToken ct)
    {
        if (!check.IsValid)
            return (ValidationProblem)check.Problem();
        var receiverCommand = command();
        if (await ReferralProjection.GetAsync(db, chapterId, receiverCommand.ReferralId, ct) is null)
            return Problems.NotFound($"Referral {receiverCommand.ReferralId} is not in chapter '{chapterId}'.");

        await DecideAsync(writePath, chapterId, receiverCommand, receiverCommand.MemberId, context, ct);

        var view = (await ReferralProjection.GetAsync(db, chapterId, receiverCommand.ReferralId, ct))!;
        WithETag(context, view);
        return TypedResults.Ok(view);
    }

    private static Task<(long Version, bool Appended)> DecideAsync(
        WritePath writePath, string chapterId, ReferralCommand command, Guid actingMemberId, HttpContext context, CancellationToken ct) =>
        writePath.DecideAsync<Referral, ReferralEvent>(
            ReferralDecider.StreamId(command.ReferralId), "referral", chapterId, Referral.Initial, Referral.Evolve,
            state => ReferralDecider.Decide(command, state), RequestMetadata.For(context, actingMemberId), ct);

    private static string WithETag(HttpContext context, ReferralView view)
    {
        var etag = $"\"{view.Version}\"";
        context.Response.Headers.ETag = etag;
        return etag;
    }
}
