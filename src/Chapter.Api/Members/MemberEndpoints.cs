using System.ComponentModel.DataAnnotations;
using Chapter.Api.Access;
using Chapter.Api.Infrastructure;
using Chapter.Projections.Chapters;
using Chapter.Projections.Members;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Npgsql;

namespace Chapter.Api.Members;

public sealed record AddMemberRequest([property: Required] string? Name, [property: Required] string? Profession, [property: Required] string[]? Languages,
    [property: OneOf(typeof(Chapter.Domain.Members.MemberRole))] string? Role);

/// <param name="Ask">What the member is looking for now. Each field: optional, up to 500 characters, any language.</param>
public sealed record ProfileRequest(string? Ask, string? IdealReferral, string? Goals, string? Accomplishments, string? Interests, string? Networks, string? Skills);

/// <summary>
/// A JSON merge patch of a profile (RFC 7396): a field sent sets it, null clears it, a field left out stays as it is.
/// The serializer calls a setter only for the fields the body has, so each setter records that its field was sent.
/// </summary>
public sealed class ProfilePatchRequest
{
    private readonly Dictionary<string, string?> _sent = [];

    public string? Ask { get => Sent(); set => Send(value); }
    public string? IdealReferral { get => Sent(); set => Send(value); }
    public string? Goals { get => Sent(); set => Send(value); }
    public string? Accomplishments { get => Sent(); set => Send(value); }
    public string? Interests { get => Sent(); set => Send(value); }
    public string? Networks { get => Sent(); set => Send(value); }
    public string? Skills { get => Sent(); set => Send(value); }

    /// <summary>The profile with the fields this patch sends applied to it.</summary>
    public ProfileRequest AppliedTo(Chapter.Domain.Members.MemberProfile profile)
    {
        string? Field(string name, string? current) => _sent.TryGetValue(name, out var sent) ? sent : current;
        return new ProfileRequest(Field(nameof(Ask), profile.Ask), Field(nameof(IdealReferral), profile.IdealReferral), Field(nameof(Goals), profile.Goals),
            Field(nameof(Accomplishments), profile.Accomplishments), Field(nameof(Interests), profile.Interests), Field(nameof(Networks), profile.Networks),
            Field(nameof(Skills), profile.Skills));
    }

    private string? Sent([System.Runtime.CompilerServices.CallerMemberName] string name = "") => _sent.GetValueOrDefault(name);
    private void Send(string? value, [System.Runtime.CompilerServices.CallerMemberName] string name = "") => _sent[name] = value;
}

public sealed record AskList(IReadOnlyList<MemberProjection.AskView> Items);

public sealed record MemberDetailsRequest([property: Required] string? Name, [property: Required] string? Profession, [property: Required] string[]? Languages,
    [property: OneOf(typeof(Chapter.Domain.Members.MemberRole))] string? Role);

/// <param name="Next">The cursor of the next page (pass it as 'after'); null on the last page.</param>
public sealed record MemberList(IReadOnlyList<MemberView> Items, string? Next);

public static class MemberEndpoints
{
    public static RouteGroupBuilder MapMembers(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/api/chapters/{chapterId}/members").WithTags("Members")
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesValidationProblem();

        group.MapGet("/", ListAsync).WithContentETag()
            .RequireAuthorization(Policies.ReadChapter)
            .WithName("ListMembers")
            .WithSummary("List a chapter's members, active and left, in the order they joined")
            .WithDescription("A page at a time: 'limit' 1–500 (default 50); pass the answer's 'next' as 'after' for the next page, until 'next' is null.");

        group.MapGet("/{memberId:guid}", GetAsync).WithContentETag()
            .RequireAuthorization(Policies.ReadChapter)
            .WithName("GetMember")
            .WithSummary("Read a member");

        group.MapGet("/{memberId:guid}/profile", ProfileAsync)
            .RequireAuthorization(Policies.ChapterData)
            .WithName("GetMemberProfile")
            .WithSummary("A member's profile: their ask, ideal referral, goals, accomplishments, interests, networks and skills");

        routes.MapGet("/api/chapters/{chapterId}/asks", AsksAsync).WithTags("Members")
            .RequireAuthorization(Policies.ChapterData)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .WithName("ListAsks")
            .WithSummary("What each active member is looking for now, the newest ask first: for the meeting, and for whoever gives a referral");

        return group;
    }

    private static async Task<Results<Ok<MemberProjection.ProfileView>, ProblemHttpResult>> ProfileAsync(
        string chapterId, Guid memberId, ChapterDatabase db, CancellationToken ct) =>
        await MemberProjection.GetAsync(db, chapterId, memberId, ct) is null
            ? Problems.NotFound($"Member {memberId} is not in chapter '{chapterId}'.")
            : TypedResults.Ok(await MemberProjection.ProfileAsync(db, memberId, ct));

    private static async Task<Results<Ok<AskList>, ProblemHttpResult>> AsksAsync(string chapterId, ChapterDatabase db, CancellationToken ct) =>
        await ChapterProjection.GetAsync(db, chapterId, ct) is null
            ? Problems.NotFound($"Chapter '{chapterId}' does not exist.")
            : TypedResults.Ok(new AskList(await MemberProjection.AsksAsync(db, chapterId, ct)));

    private static async Task<Results<Ok<MemberList>, ValidationProblem, ProblemHttpResult>> ListAsync(
        string chapterId, int? limit, string? after, ChapterDatabase db, CancellationToken ct)
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

    private static async Task<Results<Ok<MemberView>, ProblemHttpResult>> GetAsync(string chapterId, Guid memberId, ChapterDatabase db, CancellationToken ct) =>
        await MemberProjection.GetAsync(db, chapterId, memberId, ct) is { } member
            ? TypedResults.Ok(member)
            : Problems.NotFound($"Member {memberId} is not in chapter '{chapterId}'.");
}
