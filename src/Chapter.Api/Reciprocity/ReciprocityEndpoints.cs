using System.ComponentModel.DataAnnotations;
using Chapter.Api.Access;
using Chapter.Api.Infrastructure;
using Chapter.Domain.Chapters;
using Chapter.Projections.Activity;
using Chapter.Projections.Chapters;
using Chapter.Projections.Members;
using Chapter.Projections.Reciprocity;
using Microsoft.AspNetCore.Http.HttpResults;
using Npgsql;

namespace Chapter.Api.Reciprocity;

public sealed record RelationshipList(IReadOnlyList<Tie> Items, AsOf AsOf);

public sealed record SuggestionList(IReadOnlyList<Suggestion> Items, AsOf AsOf);

public sealed record ContactSphereRequest([property: Required] string? Name, [property: Required] string[]? Professions);

public sealed record ContactSpheresRequest([property: Required] ContactSphereRequest[]? Spheres);

public sealed record ContactSphereList(IReadOnlyList<ContactSphere> Spheres);

/// <summary>
/// Reads from the async activity projection: how help circulates, never who owes whom. Each answer
/// carries <c>asOf</c>, the last event the projection had applied.
/// </summary>
public static class ReciprocityEndpoints
{
    private const int MaxWeeks = 104;

    public static RouteGroupBuilder MapReciprocity(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/api/chapters/{chapterId}").WithTags("Reciprocity")
            .RequireAuthorization(Policies.ChapterData)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesValidationProblem();

        group.MapGet("/members/{memberId:guid}/relationships", RelationshipsAsync).WithContentETag()
            .WithName("GetRelationships")
            .WithSummary("A member's ties with the other members")
            .WithDescription(
                "A tie is undirected: referrals either way, thanks either way and one-to-ones are its interactions. strength sums the " +
                "interactions, each counting 1 when it happened and halving every half-life (90 days unless the chapter set another). " +
                "No field compares what each side gave. A member reads their own; leaders and integrations read anyone's.");

        group.MapGet("/members/{memberId:guid}/giving", GivingAsync).WithContentETag()
            .WithName("GetGivingProfile")
            .WithSummary("How a member's giving reached others over the last weeks")
            .WithDescription(
                "Over the last `weeks` weeks (default 12): referrals given and to how many distinct people, referrals received and from how many, " +
                "value of business won from their referrals per currency, thanks given and received, and the streak of consecutive weeks " +
                "(in the chapter's time zone) with at least one referral given. A member reads their own; leaders and integrations read anyone's.");

        group.MapGet("/members/{memberId:guid}/suggestions", SuggestionsAsync)
            .WithName("GetSuggestions")
            .WithSummary("Whom this member should meet next: up to 5, each with the reasons")
            .WithDescription(
                "Reasons: noTieYet; weakTie (with its strength); sharedContactSphere (the chapter's spheres); askMatches (words their ask shares with " +
                "this member's profile). No tie comes first, then the weakest ties. Never a member who left, never one met in the last 30 days. " +
                "It ranks members to meet, never members by merit. A member reads their own; leaders and integrations read anyone's.");

        group.MapGet("/contact-spheres", SpheresAsync)
            .WithName("GetContactSpheres")
            .WithSummary("The chapter's contact spheres: professions that serve the same clients");

        group.MapGet("/reciprocity", ChapterAsync).WithContentETag()
            .WithName("GetReciprocity")
            .WithSummary("How help circulated through the chapter over the last weeks")
            .WithDescription("Each figure's definition is in the CirculationFigures schema. Shares are 0–1, null where there was nothing to measure.");

        return group;
    }

    /// <summary>
    /// The moment these windows end: the end of the current minute, not the current tick. Every event so far is inside,
    /// a tie's strength decays by a millionth in a minute, and two reads in the same minute with nothing new between them
    /// answer the same, so an integration polling with If-None-Match gets 304.
    /// </summary>
    private static DateTimeOffset EndOfThisMinute(TimeProvider clock)
    {
        var now = clock.GetUtcNow();
        return new DateTimeOffset(now.Ticks - now.Ticks % TimeSpan.TicksPerMinute, TimeSpan.Zero).AddMinutes(1);
    }

    private static async Task<Results<Ok<RelationshipList>, ProblemHttpResult>> RelationshipsAsync(
        string chapterId, Guid memberId, ChapterDatabase db, TimeProvider clock, Caller caller, CancellationToken ct)
    {
        if (NotOwn(caller, memberId) is { } refused)
            return refused;
        if (await FactsAsync(db, chapterId, ct) is not { } facts)
            return Problems.NotFound($"Chapter '{chapterId}' does not exist.");
        if (await MemberProjection.GetAsync(db, chapterId, memberId, ct) is null)
            return Problems.NotFound($"Member {memberId} is not in chapter '{chapterId}'.");
        return TypedResults.Ok(new RelationshipList(MemberViews.Relationships(facts.Facts, memberId, EndOfThisMinute(clock)), facts.AsOf));
    }

    private static async Task<Results<Ok<GivingProfile>, ValidationProblem, ProblemHttpResult>> GivingAsync(
        string chapterId, Guid memberId, int? weeks, ChapterDatabase db, TimeProvider clock, Caller caller, CancellationToken ct)
    {
        if (NotOwn(caller, memberId) is { } refused)
            return refused;
        if (InvalidWeeks(weeks) is { } problem)
            return problem;
        if (await FactsAsync(db, chapterId, ct) is not { } facts)
            return Problems.NotFound($"Chapter '{chapterId}' does not exist.");
        if (await MemberProjection.GetAsync(db, chapterId, memberId, ct) is null)
            return Problems.NotFound($"Member {memberId} is not in chapter '{chapterId}'.");
        var to = EndOfThisMinute(clock);
        return TypedResults.Ok(MemberViews.Giving(facts.Facts, memberId, to.AddDays(-7 * (weeks ?? 12)), to) with { AsOf = facts.AsOf });
    }

    private static async Task<Results<Ok<CirculationFigures>, ValidationProblem, ProblemHttpResult>> ChapterAsync(
        string chapterId, int? weeks, ChapterDatabase db, TimeProvider clock, CancellationToken ct)
    {
        // The chapter's circulation is of the activity projection's facts, which follow the writes anyway: a standby may serve it.
        db = db.ForReadsThatMayLag;
        if (InvalidWeeks(weeks) is { } problem)
            return problem;
        var to = EndOfThisMinute(clock);
        var from = to.AddDays(-7 * (weeks ?? 12));
        if (await FactsAsync(db, chapterId, ct, activeSince: from) is not { } facts)
            return Problems.NotFound($"Chapter '{chapterId}' does not exist.");
        return TypedResults.Ok(Circulation.Compute(facts.Facts, from, to) with { AsOf = facts.AsOf });
    }

    private static async Task<Results<Ok<SuggestionList>, ProblemHttpResult>> SuggestionsAsync(
        string chapterId, Guid memberId, ChapterDatabase db, TimeProvider clock, Caller caller, CancellationToken ct)
    {
        if (NotOwn(caller, memberId) is { } refused)
            return refused;
        if (await FactsAsync(db, chapterId, ct) is not { } facts)
            return Problems.NotFound($"Chapter '{chapterId}' does not exist.");
        if (await MemberProjection.GetAsync(db, chapterId, memberId, ct) is not { Active: true } member)
            return Problems.NotFound($"Member {memberId} is not an active member of chapter '{chapterId}'.");
        var (active, _) = await MemberProjection.ListAsync(db, chapterId, new Projections.PageRequest(Projections.PageRequest.MaxLimit, null), ct);
        var asks = (await MemberProjection.AsksAsync(db, chapterId, ct)).ToDictionary(a => a.MemberId, a => a.Ask);
        var profile = await MemberProjection.ProfileAsync(db, memberId, ct);
        var me = new SuggestionMember(member.Id, member.Name, member.Profession, profile.Ask, string.Join(' ',
            new[] { member.Profession, profile.IdealReferral, profile.Goals, profile.Accomplishments, profile.Interests, profile.Networks, profile.Skills }
                .Where(t => t is not null)));
        var candidates = active.Where(m => m.Active).Select(m => new SuggestionMember(m.Id, m.Name, m.Profession, asks.GetValueOrDefault(m.Id), "")).ToList();
        var spheres = await ChapterProjection.SpheresAsync(db, chapterId, ct);
        return TypedResults.Ok(new SuggestionList(Suggestions.For(facts.Facts, me, candidates, spheres, EndOfThisMinute(clock)), facts.AsOf));
    }

    private static async Task<Results<Ok<ContactSphereList>, ProblemHttpResult>> SpheresAsync(string chapterId, ChapterDatabase db, CancellationToken ct) =>
        await ChapterProjection.GetAsync(db, chapterId, ct) is null
            ? Problems.NotFound($"Chapter '{chapterId}' does not exist.")
            : TypedResults.Ok(new ContactSphereList(await ChapterProjection.SpheresAsync(db, chapterId, ct)));

    private static ProblemHttpResult? NotOwn(Caller caller, Guid memberId) =>
        caller.IsMember && !caller.IsLeader && caller.MemberId != memberId
            ? Problems.Forbidden("A member reads their own relationships and giving profile.")
            : null;

    private static ValidationProblem? InvalidWeeks(int? weeks)
    {
        if (weeks is null or (>= 1 and <= MaxWeeks))
            return null;
        var check = new Validation();
        check.Add("weeks", $"'weeks' is a number of weeks from 1 to {MaxWeeks}.");
        return (ValidationProblem)check.Problem();
    }

    /// <summary>The chapter's facts as the activity projection has them, with how fresh they are; null for an unknown chapter.</summary>
    internal static async Task<(ChapterFacts Facts, AsOf AsOf)?> FactsAsync(ChapterDatabase db, string chapterId, CancellationToken ct, DateTimeOffset? activeSince = null)
    {
        // Read the freshness first: the facts are then at least as fresh as it says.
        var asOf = await AsOf.OfAsync(db, ct);
        if (await ActivityProjection.LoadAsync(db, chapterId, ct, activeSince) is { } facts)
            return (facts, asOf);
        // The chapter exists but the projection has not reached it yet: nothing happened there as far as it knows.
        if (await ChapterProjection.GetAsync(db, chapterId, ct) is not { } chapter)
            return null;
        return (new ChapterFacts(chapterId, TimeZoneInfo.FindSystemTimeZoneById(chapter.TimeZone), chapter.Currency, chapter.TieHalfLifeDays, [], [], []), asOf);
    }
}
