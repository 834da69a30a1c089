using Chapter.Domain.Shared;

namespace Chapter.Api.Infrastructure;

/// <summary>Collects input errors by field (camelCase JSON paths), for one RFC 9457 validation problem.</summary>
public sealed class Validation
{
    public const int MaxNameLength = 200;
    public const int MaxTextLength = 2000;

    private readonly Dictionary<string, List<string>> _errors = new(StringComparer.Ordinal);

    public bool IsValid => _errors.Count == 0;

    public void Add(string field, string message)
    {
        if (!_errors.TryGetValue(field, out var messages))
            _errors[field] = messages = [];
        messages.Add(message);
    }

    /// <summary>For a function's Load step: the problem, thrown, so the command is never decided.</summary>
    public void ThrowIfInvalid()
    {
        if (!IsValid)
            throw new RequestRefused(Problem());
    }

    public IResult Problem() => TypedResults.ValidationProblem(
        _errors.ToDictionary(e => e.Key, e => e.Value.ToArray()),
        title: "The request has invalid fields.");

    /// <summary>A required text; up to <see cref="MaxNameLength"/> characters it is one line (a name, a label), longer a note.</summary>
    public string Text(string? value, string field, int maxLength = MaxNameLength)
    {
        if (string.IsNullOrWhiteSpace(value))
            Add(field, $"'{field}' is required and cannot be empty.");
        else
            CheckLength(value.Trim(), field, maxLength);
        return value?.Trim() ?? "";
    }

    public string? OptionalText(string? value, string field, int maxLength = MaxNameLength)
    {
        if (string.IsNullOrWhiteSpace(value))
            return null;
        CheckLength(value.Trim(), field, maxLength);
        return value.Trim();
    }

    /// <summary>An e-mail address on its own (no display name), or null when none is given.</summary>
    public string? OptionalEmail(string? value, string field)
    {
        if (string.IsNullOrWhiteSpace(value))
            return null;
        var address = value.Trim();
        if (address.Length > 254 || !MimeKit.MailboxAddress.TryParse(address, out var parsed) || parsed.Address != address
            || address.IndexOf('@') is var at && (at < 1 || at == address.Length - 1))
            Add(field, $"'{field}' must be an e-mail address such as anna@example.se.");
        return address;
    }

    private void CheckLength(string text, string field, int maxLength)
    {
        if (text.Length > maxLength)
            Add(field, $"'{field}' can be at most {maxLength} characters.");
        else if (maxLength <= MaxNameLength && text.AsSpan().IndexOfAny('\n', '\r', '\t') >= 0)
            Add(field, $"'{field}' must be one line: no line breaks or tabs.");
    }

    /// <summary>The page a list is asked for: <c>limit</c> 1–500 (default 50), <c>after</c> a previous page's <c>next</c>.</summary>
    public Chapter.Projections.PageRequest Page(int? limit, string? after)
    {
        if (limit is < 1 or > Chapter.Projections.PageRequest.MaxLimit)
            Add("limit", $"'limit' is a number from 1 to {Chapter.Projections.PageRequest.MaxLimit}.");
        Chapter.Projections.PageCursor? cursor = null;
        if (after is not null)
        {
            if (Chapter.Projections.PageCursor.TryDecode(after, out var decoded))
                cursor = decoded;
            else
                Add("after", "'after' is the 'next' value of a previous page of this list.");
        }
        return new Chapter.Projections.PageRequest(limit ?? Chapter.Projections.PageRequest.DefaultLimit, cursor);
    }

    public T Required<T>(T? value, string field) where T : struct
    {
        if (value is null)
            Add(field, $"'{field}' is required.");
        return value ?? default;
    }

    public Guid RequiredId(Guid? value, string field)
    {
        if (value is null || value == Guid.Empty)
            Add(field, $"'{field}' is required and must be a member id (a UUID).");
        return value ?? Guid.Empty;
    }

    public string Language(string? value, string field)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            Add(field, $"'{field}' is required: a BCP 47 language tag such as 'sv', 'nl', 'vi' or 'en'.");
            return "";
        }
        var normalized = LanguageTag.Normalize(value.Trim());
        if (normalized is null)
            Add(field, $"'{value}' is not a BCP 47 language tag such as 'sv', 'nl', 'vi' or 'en'.");
        return normalized ?? "";
    }

    public string Currency(string? value, string field)
    {
        if (string.IsNullOrWhiteSpace(value))
            Add(field, $"'{field}' is required: an ISO 4217 currency code such as 'SEK', 'EUR' or 'VND'.");
        else if (!Iso4217.IsKnown(value.Trim()))
            Add(field, $"'{value}' is not an ISO 4217 currency code such as 'SEK', 'EUR' or 'VND'.");
        return value?.Trim() ?? "";
    }

    /// <summary>
    /// An amount of money, {amount, currency}: not negative, with at most the currency's minor units (100.005 SEK is refused,
    /// naming <c>{field}.amount</c>). Without a currency, <paramref name="defaultCurrency"/> (the chapter's).
    /// </summary>
    public Money? Money(Referrals.MoneyRequest? value, string field, string defaultCurrency)
    {
        if (value is null)
            return null;
        var amount = Required(value.Amount, $"{field}.amount");
        if (amount < 0)
            Add($"{field}.amount", $"'{field}.amount' cannot be negative.");
        var currency = value.Currency is null ? defaultCurrency : Currency(value.Currency, $"{field}.currency");
        if (value.Amount is not null && Iso4217.IsKnown(currency) && !Iso4217.FitsMinorUnits(amount, currency))
            Add($"{field}.amount", Iso4217.MinorUnits(currency) is 0 and var none
                ? $"'{field}.amount' in {currency} is a whole number: {currency} has no minor units."
                : $"'{field}.amount' in {currency} has at most {Iso4217.MinorUnits(currency)} decimals.");
        return new Money(amount, currency);
    }

    public TEnum OneOf<TEnum>(string? value, string field) where TEnum : struct, Enum
    {
        // As the JSON answers spell them (camelCase): what a client reads it may send back. In any case, too: a client generated
        // from the document may write an enum's member name (NSwag's System.Text.Json clients send "Warm" for "warm").
        var names = Enum.GetNames<TEnum>().Select(System.Text.Json.JsonNamingPolicy.CamelCase.ConvertName).ToArray();
        if (value is not null && names.Contains(value, StringComparer.OrdinalIgnoreCase) && Enum.TryParse<TEnum>(value, ignoreCase: true, out var parsed))
            return parsed;
        Add(field, $"'{field}' must be one of: {string.Join(", ", names)}.");
        return default;
    }
}
