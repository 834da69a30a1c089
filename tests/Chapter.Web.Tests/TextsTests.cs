using System.Collections;
using System.Globalization;
using System.Resources;
using Chapter.Api.Web;

namespace Chapter.Web.Tests;

/// <summary>Every text the pages and e-mails use exists in every language they speak, so no page falls back to English in part.</summary>
public sealed class TextsTests
{
    public static TheoryData<string, string> Languages() => new()
    {
        { "Chapter.Api.Web.Texts", "sv" }, { "Chapter.Api.Web.Texts", "nl" }, { "Chapter.Api.Web.Texts", "vi" },
        { "Chapter.Api.Web.MailTexts", "sv" }, { "Chapter.Api.Web.MailTexts", "nl" }, { "Chapter.Api.Web.MailTexts", "vi" },
    };

    /// <summary>Said only when an introduction's language is one the product does not speak, so the e-mail is in English.</summary>
    private static readonly string[] EnglishOnly = ["IntroFallback"];

    [Theory]
    [MemberData(nameof(Languages))]
    public void Every_text_is_translated(string resource, string language)
    {
        var texts = new ResourceManager(resource, typeof(Texts).Assembly);
        var english = Names(texts.GetResourceSet(CultureInfo.InvariantCulture, createIfNotExists: true, tryParents: false));
        var translated = Names(texts.GetResourceSet(CultureInfo.GetCultureInfo(language), createIfNotExists: true, tryParents: false));

        english.ShouldNotBeEmpty();
        string.Join(", ", english.Except(translated).Except(EnglishOnly)).ShouldBeEmpty($"missing in {language}");
        string.Join(", ", translated.Except(english)).ShouldBeEmpty($"in {language} but not in English");
    }

    private static string[] Names(ResourceSet? set) =>
        set?.Cast<DictionaryEntry>().Select(entry => (string)entry.Key).Order().ToArray() ?? [];

    /// <summary>
    /// The product's word list: one word for a referral in each language, in the pages and in the e-mails alike, and the
    /// words a reader could take for something else, which no text may use (a Swedish "referens" reads as a job reference).
    /// </summary>
    public static TheoryData<string, string, string[]> WordLists() => new()
    {
        { "en", "referral", ["recommendation"] },
        { "sv", "affärstips", ["referens", "rekommendation"] },
        { "nl", "referral", ["aanbeveling", "verwijzing", "referentie"] },
        { "vi", "lời giới thiệu", ["tham chiếu", "khuyến nghị"] },
    };

    [Theory]
    [MemberData(nameof(WordLists))]
    public void Pages_and_e_mails_use_the_word_list(string language, string word, string[] notOurs)
    {
        var culture = language == "en" ? CultureInfo.InvariantCulture : CultureInfo.GetCultureInfo(language);
        var all = new[] { "Chapter.Api.Web.Texts", "Chapter.Api.Web.MailTexts" }
            .SelectMany(resource => new ResourceManager(resource, typeof(Texts).Assembly).GetResourceSet(culture, true, false)!.Cast<DictionaryEntry>()
                .Select(entry => (Key: $"{resource.Split('.')[^1]}.{entry.Key}", Text: (string)entry.Value!)))
            .ToList();

        all.Where(t => notOurs.Any(w => t.Text.Contains(w, StringComparison.OrdinalIgnoreCase))).Select(t => t.Key).ShouldBeEmpty();
        all.Count(t => t.Text.Contains(word, StringComparison.OrdinalIgnoreCase) && t.Key.StartsWith("MailTexts")).ShouldBeGreaterThan(5);
        all.Count(t => t.Text.Contains(word, StringComparison.OrdinalIgnoreCase) && t.Key.StartsWith("Texts")).ShouldBeGreaterThan(5);
    }
}
