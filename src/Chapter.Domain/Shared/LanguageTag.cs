using System.Text.RegularExpressions;

namespace Chapter.Domain.Shared;

/// <summary>BCP 47 language tags such as <c>sv</c>, <c>nl</c>, <c>vi</c>, <c>pt-BR</c>, <c>zh-Hant-TW</c>.</summary>
public static partial class LanguageTag
{
    // Primary language (2–3 letters), optional script (4 letters), region (2 letters or 3 digits), variants.
    [GeneratedRegex("^[a-z]{2,3}(-[a-z]{4})?(-([a-z]{2}|[0-9]{3}))?(-([a-z0-9]{5,8}|[0-9][a-z0-9]{3}))*$", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex WellFormed();

    /// <summary>The tag in its canonical case (<c>PT-br</c> → <c>pt-BR</c>), or null when it is not well formed.</summary>
    public static string? Normalize(string? tag)
    {
        if (tag is null || tag.Length > 35 || !WellFormed().IsMatch(tag))
            return null;
        var parts = tag.Split('-');
        for (var i = 0; i < parts.Length; i++)
        {
            parts[i] = i == 0 ? parts[i].ToLowerInvariant()
                : parts[i].Length == 4 && char.IsLetter(parts[i][0]) ? char.ToUpperInvariant(parts[i][0]) + parts[i][1..].ToLowerInvariant()
                : parts[i].Length == 2 ? parts[i].ToUpperInvariant()
                : parts[i].ToLowerInvariant();
        }
        return string.Join('-', parts);
    }
}
