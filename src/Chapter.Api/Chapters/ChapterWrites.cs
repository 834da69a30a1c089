using System.Text.RegularExpressions;
using Chapter.Api.Access;
using Chapter.Api.Infrastructure;
using Chapter.Api.Reciprocity;
using Chapter.Domain.Chapters;
using Chapter.Projections.Chapters;
using Marten;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Mvc;
using Wolverine.Http;
using Wolverine.Marten;

namespace Chapter.Api.Chapters;

public static partial class ChapterWrites
{
    [GeneratedRegex("^[a-z0-9]+(-[a-z0-9]+)*$", RegexOptions.CultureInvariant)]
    private static partial Regex Slug();

    public static string StreamKey(string chapterId) => ChapterDecider.StreamId(chapterId);

    /// <summary>
    /// The chapter is the tenant, and its id comes in the body rather than the route Wolverine takes the tenant from: the chapter
    /// is placed in its database first (with several, Marten's registry records which), and its stream is started in a session
    /// on that database. Nothing else is written with it, so no outbox is needed.
    /// </summary>
    [WolverinePost("/api/chapters/", OperationId = "CreateChapter")]
    [Authorize(Policy = Policies.Operator), Tags("Chapters"), EndpointSummary("Create a chapter")]
    [EndpointDescription(
        "The id is a slug (lowercase letters, digits and dashes) chosen by the caller; 409 when it is taken. " +
        "tieHalfLifeDays (default 90) sets how fast a relationship's strength halves without new interactions. " +
        "database (optional, with several databases) names the one to place the chapter in; left out, the one with the fewest chapters " +
        "that is not marked full.")]
    [ProducesResponseType<ChapterView>(StatusCodes.Status201Created), BreaksNoRule]
    public static async Task<AfterCommit<ChapterView?>> Create(CreateChapterRequest body, IDocumentStore store, ChapterDatabases databases,
        HttpContext context, Caller caller, TimeProvider clock, CancellationToken ct)
    {
        var check = new Validation();
        var id = check.Text(body.Id, "id", 64);
        if (id.Length > 0 && !Slug().IsMatch(id))
            check.Add("id", "'id' is a slug: lowercase letters, digits and single dashes, e.g. 'stockholm-city'.");
        var name = check.Text(body.Name, "name");
        var timeZone = check.Text(body.TimeZone, "timeZone", 64);
        if (timeZone.Length > 0 && !TimeZoneInfo.TryFindSystemTimeZoneById(timeZone, out _))
            check.Add("timeZone", $"'{timeZone}' is not an IANA time zone such as 'Europe/Stockholm'.");
        var currency = check.Currency(body.Currency, "currency");
        if (body.TieHalfLifeDays is < 1 or > 3650)
            check.Add("tieHalfLifeDays", "'tieHalfLifeDays' is a number of days from 1 to 3650 (default 90).");
        var databaseName = check.OptionalText(body.Database, "database", 40);
        check.ThrowIfInvalid();

        var database = await databases.PlaceAsync(id, databaseName, ct);
        await using var session = store.LightweightSession(id);
        EventCauseMiddleware.Before(context, caller, session);
        var chapter = await session.Events.FetchForWriting<ChapterState>(StreamKey(id), ct);
        chapter.AppendMany(ChapterDecider.Decide(new CreateChapter(id, name, timeZone, currency, clock.GetUtcNow(), body.TieHalfLifeDays),
            chapter.Aggregate ?? ChapterState.Initial));
        await session.SaveChangesAsync(ct);
        return AfterCommit.Read((_, ct) => ChapterProjection.GetAsync(database, id, ct), $"/api/chapters/{id}");
    }

    [WolverinePut("/api/chapters/{chapterId}/contact-spheres", OperationId = "SetContactSpheres")]
    [Authorize(Policy = Policies.ChapterData), Authorize(Policy = Policies.ManageChapter), Tags("Reciprocity")]
    [EndpointSummary("Group the chapter's professions into contact spheres (leaders)")]
    [EndpointDescription("Send every sphere as it should be: {spheres: [{name, professions: [...]}]}. A profession belongs to one sphere.")]
    [ProducesResponseType<ContactSphereList>(StatusCodes.Status200OK)]
    public static (IResult, Events) SetContactSpheres(string chapterId, ContactSpheresRequest body,
        [WriteAggregate(FromMethod = nameof(StreamKey), Required = false)] ChapterState? chapter, TimeProvider clock)
    {
        var check = new Validation();
        var spheres = new List<ContactSphere>();
        if (body.Spheres is null)
            check.Add("spheres", "'spheres' is required: a list of {name, professions}, empty to have none.");
        else if (body.Spheres.Length > 50)
            check.Add("spheres", "'spheres' can hold at most 50 spheres.");
        else
            for (var i = 0; i < body.Spheres.Length; i++)
            {
                var name = check.Text(body.Spheres[i].Name, $"spheres[{i}].name");
                var professions = body.Spheres[i].Professions ?? [];
                if (professions.Length is 0 or > 100)
                    check.Add($"spheres[{i}].professions", "Each sphere holds 1 to 100 professions.");
                spheres.Add(new ContactSphere(name, professions.Select((p, j) => check.Text(p, $"spheres[{i}].professions[{j}]")).Distinct().ToList()));
            }
        check.ThrowIfInvalid();
        // A chapter that does not exist: the decider says so (404).
        var events = ChapterDecider.Decide(new SetContactSpheres(chapterId, spheres, clock.GetUtcNow()), chapter ?? ChapterState.Initial);
        return (AfterCommit.Read(async (db, ct) => new ContactSphereList(await ChapterProjection.SpheresAsync(db, chapterId, ct))), [.. events]);
    }
}
