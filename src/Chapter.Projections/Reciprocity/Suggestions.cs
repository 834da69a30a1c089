using System.Text.RegularExpressions;
using Chapter.Domain.Chapters;
using Chapter.Projections.Activity;

namespace Chapter.Projections.Reciprocity;

/// <param name="Kind">noTieYet | weakTie (with its strength) | sharedContactSphere (with the sphere) | askMatches (with the words).</param>
public sealed record SuggestionReason(string Kind, double? Strength = null, string? Sphere = null, IReadOnlyList<string>? Words = null);

public sealed record Suggestion(Guid MemberId, string Name, string Profession, IReadOnlyList<SuggestionReason> Reasons, DateTimeOffset? LastInteractionAt);

/// <summary>Who a member is, as suggestions see them: their profession and the words of their profile.</summary>
public sealed record SuggestionMember(Guid Id, string Name, string Profession, string? Ask, string ProfileText);

/// <summary>
/// Whom a member should meet next: the only ranking in the product, and it ranks members to meet, never members by merit.
/// It prefers no tie at all, then the weakest ties; it favours a shared contact sphere, and an ask that shares words with
/// this member's profile. Never a member who left (they are not among the candidates), never one met in the last 30 days.
/// </summary>
public static partial class Suggestions
{
    public const int Count = 5;
    public static readonly TimeSpan MetRecently = TimeSpan.FromDays(30);
    /// <summary>Below this, a tie is weak: about one interaction fading for a half-life, or less.</summary>
    public const double WeakTieBelow = 1.0;

    [GeneratedRegex(@"\p{L}[\p{L}\p{Mn}'-]{3,}")]
    private static partial Regex Word();

    public static IReadOnlyList<Suggestion> For(ChapterFacts facts, SuggestionMember member, IReadOnlyList<SuggestionMember> activeMembers,
        IReadOnlyList<ContactSphere> spheres, DateTimeOffset now)
    {
        var ties = MemberViews.Relationships(facts, member.Id, now).ToDictionary(t => t.MemberId);
        var today = facts.DateOf(now);
        var metRecently = facts.OneToOnes
            .Where(o => (o.MemberA == member.Id || o.MemberB == member.Id) && today.DayNumber - o.HeldOn.DayNumber < MetRecently.TotalDays)
            .Select(o => o.MemberA == member.Id ? o.MemberB : o.MemberA)
            .ToHashSet();
        var sphereOf = spheres.SelectMany(s => s.Professions.Select(p => (Profession: p, Sphere: s.Name)))
            .ToDictionary(p => p.Profession, p => p.Sphere, StringComparer.OrdinalIgnoreCase);
        var mySphere = sphereOf.GetValueOrDefault(member.Profession);
        var myWords = Words(member.ProfileText);

        return activeMembers
            .Where(other => other.Id != member.Id && !metRecently.Contains(other.Id))
            .Select(other =>
            {
                var reasons = new List<SuggestionReason>();
                var score = 0.0;
                if (!ties.TryGetValue(other.Id, out var tie))
                {
                    reasons.Add(new SuggestionReason("noTieYet"));
                    score += 3;
                }
                else if (tie.Strength < WeakTieBelow)
                {
                    reasons.Add(new SuggestionReason("weakTie", Strength: tie.Strength));
                    score += 2 - tie.Strength;
                }
                if (mySphere is not null && sphereOf.GetValueOrDefault(other.Profession) == mySphere)
                {
                    reasons.Add(new SuggestionReason("sharedContactSphere", Sphere: mySphere));
                    score += 1.5;
                }
                var shared = Words(other.Ask).Intersect(myWords).Order(StringComparer.Ordinal).ToList();
                if (shared.Count > 0)
                {
                    reasons.Add(new SuggestionReason("askMatches", Words: shared));
                    score += 1;
                }
                return (Suggestion: new Suggestion(other.Id, other.Name, other.Profession, reasons, tie?.LastInteractionAt), Score: score,
                    Strength: tie?.Strength ?? 0);
            })
            .Where(s => s.Suggestion.Reasons.Count > 0)
            .OrderByDescending(s => s.Score).ThenBy(s => s.Strength).ThenBy(s => s.Suggestion.Name, StringComparer.Ordinal).ThenBy(s => s.Suggestion.MemberId)
            .Take(Count)
            .Select(s => s.Suggestion)
            .ToList();
    }

    private static HashSet<string> Words(string? text) =>
        text is null ? [] : Word().Matches(text).Select(m => m.Value.ToLowerInvariant()).ToHashSet();
}
