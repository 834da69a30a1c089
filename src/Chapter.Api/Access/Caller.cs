using System.Security.Claims;

namespace Chapter.Api.Access;

public enum CallerKind { Operator, Member, Integration }

/// <summary>
/// Who is calling, from their bearer token. Members (leaders among them) belong to one chapter and act as
/// themselves; an integration reads one chapter; the operator administers the installation.
/// </summary>
public sealed record Caller(CallerKind Kind, Guid? TokenId, string? ChapterId, Guid? MemberId, bool IsLeader)
{
    public const string KindClaim = "chapter:kind";
    public const string TokenClaim = "chapter:token";
    public const string ChapterClaim = "chapter:chapter";
    public const string MemberClaim = "chapter:member";
    public const string LeaderClaim = "chapter:leader";

    public bool IsMember => Kind == CallerKind.Member;

    /// <summary>The member acting, for endpoints whose policy admits members only.</summary>
    public Guid ActingMemberId => MemberId ?? throw new InvalidOperationException("This caller is not a member.");

    /// <summary>Recorded in each event's metadata: who did it, never a name.</summary>
    public string Actor => Kind switch
    {
        CallerKind.Operator => TokenId is { } id ? $"operator:{id}" : "operator",
        CallerKind.Member => $"{(IsLeader ? "leader" : "member")}:{MemberId}",
        _ => $"integration:{TokenId}",
    };

    /// <summary>Partitions write rate limits: one budget per token.</summary>
    public string RateLimitKey => TokenId?.ToString() ?? Kind.ToString();

    public ClaimsPrincipal ToPrincipal(string scheme)
    {
        var claims = new List<Claim> { new(KindClaim, Kind.ToString()) };
        if (TokenId is { } token) claims.Add(new Claim(TokenClaim, token.ToString()));
        if (ChapterId is { } chapter) claims.Add(new Claim(ChapterClaim, chapter));
        if (MemberId is { } member) claims.Add(new Claim(MemberClaim, member.ToString()));
        if (IsLeader) claims.Add(new Claim(LeaderClaim, "true"));
        return new ClaimsPrincipal(new ClaimsIdentity(claims, scheme));
    }

    public static Caller? From(ClaimsPrincipal user)
    {
        if (user.FindFirstValue(KindClaim) is not { } kind || !Enum.TryParse<CallerKind>(kind, out var callerKind))
            return null;
        return new Caller(
            callerKind,
            Guid.TryParse(user.FindFirstValue(TokenClaim), out var token) ? token : null,
            user.FindFirstValue(ChapterClaim),
            Guid.TryParse(user.FindFirstValue(MemberClaim), out var member) ? member : null,
            user.HasClaim(LeaderClaim, "true"));
    }

    /// <summary>The caller of an endpoint that requires authentication.</summary>
    public static Caller Of(ClaimsPrincipal user) =>
        From(user) ?? throw new InvalidOperationException("The endpoint was reached without an authenticated caller.");

    /// <summary>Binds the caller as a Minimal API endpoint's parameter; every endpoint that takes one requires authentication.</summary>
    public static ValueTask<Caller?> BindAsync(HttpContext context) => ValueTask.FromResult<Caller?>(Of(context.User));
}
