using Chapter.Api.Access;
using Chapter.Api.Infrastructure;
using Chapter.Domain.Members;
using Chapter.Projections.Chapters;
using Chapter.Projections.Members;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Npgsql;
using Wolverine;

namespace Chapter.Api.Members;

public sealed record AddMemberRequest(string? Name, string? Profession, string[]? Languages, string? Role);

/// <param name="Ask">What the member is looking for now. Each field: optional, up to 500 characters, any language.</param>
public sealed record ProfileRequest(string? Ask, string? IdealReferral, string? Goals, string? Accomplishments, string? Interests, string? Networks, string? Skills);

public sealed record AskList(IReadOnlyList<MemberProjection.AskView> Items);

public sealed record MemberDetailsRequest(string? Name, string? Profession, string[]? Languages, string? Role);

/// <param name="Next">The cursor of the next page (pass it as 'after'); null on the last page.</param>
public sealed record MemberList(IReadOnlyList<MemberView> Items, string? Next);

public static class MemberEndpoints
{
    public static RouteGroupBuilder MapMembers(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/api/chapters/{chapterId}/members").WithTags("Members")
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesValidationProblem();

        group.MapPost("/", AddAsync)
            .RequireAuthorization(Policies.ManageChapter)
            .WithName("AddMember")
            .WithSummary("Add a member to a chapter (leaders and the operator)")
            .WithDescription(
                "The server assigns the member's id. Languages are BCP 47 tags, e.g. [\"sv\", \"en\"]. " +
                "role is member (default) or leader; leaders manage members and read all of the chapter's referrals and reports.");

        group.MapGet("/", ListAsync).WithContentETag()
            .RequireAuthorization(Policies.ReadChapter)
            .WithName("ListMembers")
            .WithSummary("List a chapter's members, active and left, in the order they joined")
            .WithDescription("A page at a time: 'limit' 1–500 (default 50); pass the answer's 'next' as 'after' for the next page, until 'next' is null.");

        group.MapGet("/{memberId:guid}", GetAsync).WithContentETag()
            .RequireAuthorization(Policies.ReadChapter)
            .WithName("GetMember")
            .WithSummary("Read a member");

        group.MapPut("/{memberId:guid}", ChangeAsync)
            .RequireAuthorization(Policies.ManageChapter)
            .WithName("ChangeMember")
            .WithSummary("Correct a member's details or change their role (leaders and the operator)")
            .WithDescription("Send all of name, profession, languages and role, as they should be. Sending what is already there changes nothing. A member who left keeps their details (409).");

        group.MapPost("/{memberId:guid}/leave", LeaveAsync)
            .RequireAuthorization(Policies.ManageChapter)
            .WithName("MemberLeaves")
            .WithSummary("Mark a member as having left the chapter")
            .WithDescription("A member who left can no longer give or receive referrals, and their tokens stop working; their history stays. Repeating it changes nothing.");

        group.MapGet("/{memberId:guid}/profile", ProfileAsync)
            .RequireAuthorization(Policies.ChapterData)
            .WithName("GetMemberProfile")
            .WithSummary("A member's profile: their ask, ideal referral, goals, accomplishments, interests, networks and skills");

        group.MapPut("/{memberId:guid}/profile", ChangeProfileAsync)
            .RequireAuthorization(Policies.ChapterMember)
            .WithName("ChangeMemberProfile")
            .WithSummary("Write a member's profile (the member, or a leader)")
            .WithDescription("Send every field as it should be; a field left out or empty is cleared. Each change is kept as an event, so the history of asks is too.");

        routes.MapGet("/api/chapters/{chapterId}/asks", AsksAsync).WithTags("Members")
            .RequireAuthorization(Policies.ChapterData)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .WithName("ListAsks")
            .WithSummary("What each active member is looking for now, the newest ask first: for the meeting, and for whoever gives a referral");

        return group;
    }

    private static async Task<Results<Ok<MemberProjection.ProfileView>, ProblemHttpResult>> ProfileAsync(
        string chapterId, Guid memberId, NpgsqlDataSource db, CancellationToken ct) =>
        await MemberProjection.GetAsync(db, chapterId, memberId, ct) is null
            ? Problems.NotFound($"Member {memberId} is not in chapter '{chapterId}'.")
            : TypedResults.Ok(await MemberProjection.ProfileAsync(db, memberId, ct));

    private static async Task<Results<Ok<MemberProjection.ProfileView>, ValidationProblem, ProblemHttpResult>> ChangeProfileAsync(
        string chapterId, Guid memberId, ProfileRequest body, IMessageBus bus, NpgsqlDataSource db, TimeProvider clock, Caller caller, HttpContext context,
        CancellationToken ct)
    {
        if (!caller.IsLeader && caller.MemberId != memberId)
            return Problems.Forbidden("A member writes their own profile; a leader may write any member's.");
        var check = new Validation();
        string? Field(string? value, string name) => check.OptionalText(value, name, 500);
        var profile = new MemberProfile(Field(body.Ask, "ask"), Field(body.IdealReferral, "idealReferral"), Field(body.Goals, "goals"),
            Field(body.Accomplishments, "accomplishments"), Field(body.Interests, "interests"), Field(body.Networks, "networks"), Field(body.Skills, "skills"));
        if (!check.IsValid)
            return (ValidationProblem)check.Problem();
        if (await MemberProjection.GetAsync(db, chapterId, memberId, ct) is null)
            return Problems.NotFound($"Member {memberId} is not in chapter '{chapterId}'.");
        await bus.DecideAsync(chapterId,
            new DecideMember(MemberDecider.StreamId(memberId), new ChangeMemberProfile(memberId, profile, clock.GetUtcNow()), RequestMetadata.For(context, caller)), ct);
        return TypedResults.Ok(await MemberProjection.ProfileAsync(db, memberId, ct));
    }

    private static async Task<Results<Ok<AskList>, ProblemHttpResult>> AsksAsync(string chapterId, NpgsqlDataSource db, CancellationToken ct) =>
        await ChapterProjection.GetAsync(db, chapterId, ct) is null
            ? Problems.NotFound($"Chapter '{chapterId}' does not exist.")
            : TypedResults.Ok(new AskList(await MemberProjection.AsksAsync(db, chapterId, ct)));

    private static async Task<Results<Created<MemberView>, ValidationProblem, ProblemHttpResult>> AddAsync(
        string chapterId, AddMemberRequest body, IMessageBus bus, NpgsqlDataSource db, TimeProvider clock, Caller caller, HttpContext context, CancellationToken ct)
    {
        var check = new Validation();
        var (name, profession, languages, role) = Details(check, new MemberDetailsRequest(body.Name, body.Profession, body.Languages, body.Role));
        if (!check.IsValid)
            return (ValidationProblem)check.Problem();

        if (await ChapterProjection.GetAsync(db, chapterId, ct) is null)
            return Problems.NotFound($"Chapter '{chapterId}' does not exist.");

        var memberId = Guid.CreateVersion7();
        var command = new JoinChapter(memberId, chapterId, name, profession, languages, clock.GetUtcNow(), role);
        await bus.DecideAsync(chapterId, new DecideMember(MemberDecider.StreamId(memberId), command, RequestMetadata.For(context, caller)), ct);

        var member = await MemberProjection.GetAsync(db, chapterId, memberId, ct);
        return TypedResults.Created($"/api/chapters/{chapterId}/members/{memberId}", member);
    }

    private static async Task<Results<Ok<MemberView>, ValidationProblem, ProblemHttpResult>> ChangeAsync(
        string chapterId, Guid memberId, MemberDetailsRequest body, IMessageBus bus, NpgsqlDataSource db, TimeProvider clock, Caller caller,
        HttpContext context, CancellationToken ct)
    {
        var check = new Validation();
        var (name, profession, languages, role) = Details(check, body);
        if (!check.IsValid)
            return (ValidationProblem)check.Problem();
        if (await MemberProjection.GetAsync(db, chapterId, memberId, ct) is null)
            return Problems.NotFound($"Member {memberId} is not in chapter '{chapterId}'.");

        var command = new ChangeMemberDetails(memberId, name, profession, languages, role, clock.GetUtcNow());
        await bus.DecideAsync(chapterId, new DecideMember(MemberDecider.StreamId(memberId), command, RequestMetadata.For(context, caller)), ct);
        return TypedResults.Ok((await MemberProjection.GetAsync(db, chapterId, memberId, ct))!);
    }

    /// <summary>A member's details as a request gives them; role defaults to member.</summary>
    private static (string Name, string Profession, IReadOnlyList<string> Languages, MemberRole Role) Details(Validation check, MemberDetailsRequest body)
    {
        var name = check.Text(body.Name, "name");
        var profession = check.Text(body.Profession, "profession");
        var languages = new List<string>();
        if (body.Languages is not { Length: > 0 })
            check.Add("languages", "'languages' needs at least one BCP 47 tag, e.g. [\"sv\", \"en\"].");
        else if (body.Languages.Length > 20)
            check.Add("languages", "'languages' can hold at most 20 tags.");
        else
            for (var i = 0; i < body.Languages.Length; i++)
                languages.Add(check.Language(body.Languages[i], $"languages[{i}]"));
        var role = body.Role is null ? MemberRole.Member : check.OneOf<MemberRole>(body.Role, "role");
        return (name, profession, languages.Distinct().ToList(), role);
    }

    private static async Task<Results<Ok<MemberList>, ValidationProblem, ProblemHttpResult>> ListAsync(
        string chapterId, int? limit, string? after, NpgsqlDataSource db, CancellationToken ct)
    {
        var check = new Validation();
        var page = check.Page(limit, after);
        if (!check.IsValid)
            return (ValidationProblem)check.Problem();
        if (await ChapterProjection.GetAsync(db, chapterId, ct) is null)
            return Problems.NotFound($"Chapter '{chapterId}' does not exist.");
        var (items, next) = await MemberProjection.ListAsync(db, chapterId, page, ct);
        return TypedResults.Ok(new MemberList(items, next));
    }

    private static async Task<Results<Ok<MemberView>, ProblemHttpResult>> GetAsync(string chapterId, Guid memberId, NpgsqlDataSource db, CancellationToken ct) =>
        await MemberProjection.GetAsync(db, chapterId, memberId, ct) is { } member
            ? TypedResults.Ok(member)
            : Problems.NotFound($"Member {memberId} is not in chapter '{chapterId}'.");

    private static async Task<Results<Ok<MemberView>, ProblemHttpResult>> LeaveAsync(
        string chapterId, Guid memberId, IMessageBus bus, NpgsqlDataSource db, TimeProvider clock, Caller caller, HttpContext context, CancellationToken ct)
    {
        if (await MemberProjection.GetAsync(db, chapterId, memberId, ct) is null)
            return Problems.NotFound($"Member {memberId} is not in chapter '{chapterId}'.");

        var command = new LeaveChapter(memberId, clock.GetUtcNow());
        await bus.DecideAsync(chapterId, new DecideMember(MemberDecider.StreamId(memberId), command, RequestMetadata.For(context, caller)), ct);
        return TypedResults.Ok((await MemberProjection.GetAsync(db, chapterId, memberId, ct))!);
    }
}
