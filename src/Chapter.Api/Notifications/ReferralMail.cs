using Chapter.Api.Infrastructure;
using System.Globalization;
using System.Resources;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Unicode;
using Chapter.Api.Web;
using Chapter.Domain.Referrals;
using Chapter.Projections.Members;
using Chapter.Projections.Referrals;
using MimeKit;

namespace Chapter.Api.Notifications;

/// <summary>Where e-mails come from and link to: <c>Chapter:Smtp:From</c> and <c>Chapter:PublicUrl</c>.</summary>
public sealed record MailOrigin(MailboxAddress From, string PublicUrl)
{
    public string Link(string path) => PublicUrl.TrimEnd('/') + path;

    public string TurnOffLink(MemberNotifications settings, NoticeKind kind) =>
        Link($"/notifications/off/{settings.TurnOffKey}/{NotificationSettings.KindName(kind)}");

    /// <summary>One Message-ID per message, kept across every retry of its delivery.</summary>
    public string MessageId(Guid id) => $"{id:N}@{(From.Domain is { Length: > 0 } domain ? domain : "chapter.local")}";
}

/// <summary>A member's e-mail, in the first of their languages the product speaks (else English), as plain text and HTML.</summary>
public sealed class MailWriter
{
    private static readonly ResourceManager Texts = new("Chapter.Api.Web.MailTexts", typeof(MailTexts).Assembly);
    private static readonly ResourceManager PageTexts = new("Chapter.Api.Web.Texts", typeof(Texts).Assembly);
    private static readonly HtmlEncoder Html = HtmlEncoder.Create(UnicodeRanges.All);

    private readonly StringBuilder _text = new();
    private readonly StringBuilder _html = new();

    public MailWriter(IReadOnlyList<string> languages)
    {
        var spoken = languages.Select(l => l.Split('-')[0]).FirstOrDefault(LanguageSwitch.Codes.Contains) ?? LanguageSwitch.Codes[0];
        Culture = CultureInfo.GetCultureInfo(spoken);
    }

    public CultureInfo Culture { get; }

    public string T(string name, params object[] args)
    {
        var text = Texts.GetString(name, Culture) ?? PageTexts.GetString(name, Culture) ?? name;
        return args.Length == 0 ? text : string.Format(Culture, text, args);
    }

    /// <summary>
    /// "Hej Anna,": the greeting takes the name people call the member by. Names are kept as one text, so this is the first
    /// word, except in Vietnamese, where a full name of three words or more ("Nguyễn Văn An") puts the given name last.
    /// </summary>
    public string Greeting(string fullName)
    {
        var words = fullName.Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var called = words.Length == 0 ? fullName : Culture.TwoLetterISOLanguageName == "vi" && words.Length >= 3 ? words[^1] : words[0];
        return T("Greeting", called);
    }

    public MailWriter Paragraph(string text)
    {
        _text.Append(text).Append("\n\n");
        _html.Append("<p>").Append(Html.Encode(text)).Append("</p>\n");
        return this;
    }

    /// <summary>Where the message ends and what it is sent under begins (the signature separator in plain text).</summary>
    public MailWriter Separator()
    {
        _text.Append("-- \n");
        _html.Append("<hr>\n");
        return this;
    }

    /// <summary>Labelled facts, one per line: "Need: a new roof".</summary>
    public MailWriter Facts(params (string Label, string? Value)[] facts)
    {
        var present = facts.Where(f => f.Value is { Length: > 0 }).ToList();
        foreach (var (label, value) in present)
            _text.Append(label).Append(": ").Append(value).Append('\n');
        _text.Append('\n');
        _html.Append("<dl>\n");
        foreach (var (label, value) in present)
            _html.Append("<dt>").Append(Html.Encode(label)).Append("</dt><dd>").Append(Html.Encode(value!).Replace("\n", "<br>")).Append("</dd>\n");
        _html.Append("</dl>\n");
        return this;
    }

    /// <summary>A sentence with a link at its {0}.</summary>
    public MailWriter Link(string textName, string url)
    {
        _text.Append(T(textName, url)).Append("\n\n");
        var parts = T(textName, "\u0000").Split('\u0000');
        _html.Append("<p>").Append(Html.Encode(parts[0]))
            .Append("<a href=\"").Append(Html.Encode(url)).Append("\">").Append(Html.Encode(url)).Append("</a>")
            .Append(Html.Encode(parts.Length > 1 ? parts[1] : "")).Append("</p>\n");
        return this;
    }

    public MimeMessage Message(MailOrigin origin, IEnumerable<MailboxAddress> to, string subject, Guid id, string? turnOffLink,
        IEnumerable<MailboxAddress>? copy = null)
    {
        var message = new MimeMessage { Subject = subject, MessageId = origin.MessageId(id) };
        message.From.Add(origin.From);
        message.To.AddRange(to);
        if (copy is not null)
        {
            message.Cc.AddRange(copy);
            // Replies go to the people, never to the service that wrote for them.
            message.ReplyTo.AddRange(message.To.Mailboxes.Concat(message.Cc.Mailboxes));
        }
        message.Headers.Add("Auto-Submitted", "auto-generated");
        if (turnOffLink is not null)
        {
            // RFC 8058: mail clients offer "unsubscribe", and POST this link to do it in one click.
            message.Headers.Add("List-Unsubscribe", $"<{turnOffLink}>");
            message.Headers.Add("List-Unsubscribe-Post", "List-Unsubscribe=One-Click");
        }
        message.Body = new BodyBuilder
        {
            TextBody = _text.ToString().TrimEnd() + "\n",
            HtmlBody = $"<!DOCTYPE html>\n<html lang=\"{Culture.Name}\"><head><meta charset=\"utf-8\"><title>{Html.Encode(subject)}</title></head><body>\n{_html}</body></html>\n",
        }.ToMessageBody();
        // A Content-* header belongs to the body's entity, in MimeKit as in RFC 2045.
        message.Body.Headers.Add(HeaderId.ContentLanguage, Culture.Name);
        // Swedish and Vietnamese letters are 8-bit in UTF-8: each text part says how it is encoded (RFC 2045), so a relay that
        // only speaks 7-bit passes it on intact.
        foreach (var part in message.BodyParts.OfType<TextPart>())
            part.ContentTransferEncoding = ContentEncoding.QuotedPrintable;
        return message;
    }
}

/// <summary>The e-mail a <see cref="ReferralNotice"/> becomes. Names the members, never the prospect.</summary>
public static class ReferralMail
{
    public static MimeMessage Compose(ReferralNotice notice, MemberView recipient, MemberNotifications settings, string fromName, string chapterName,
        MailOrigin origin, Guid messageId)
    {
        var mail = new MailWriter(recipient.Languages);
        var (subject, lead) = notice.Step switch
        {
            ReferralStep.Given => ("ReceivedSubject", "ReceivedLead"),
            ReferralStep.Accepted => ("AcceptedSubject", "AcceptedLead"),
            ReferralStep.Declined => ("DeclinedSubject", "DeclinedLead"),
            ReferralStep.Closed when notice.Outcome == Outcome.Won => ("WonSubject", "WonLead"),
            ReferralStep.Closed => ("LostSubject", "LostLead"),
            ReferralStep.Corrected => ("CorrectedSubject", "CorrectedLead"),
            ReferralStep.Withdrawn => ("WithdrawnSubject", "WithdrawnLead"),
            ReferralStep.Stranded => ("StrandedSubject", "StrandedLead"),
            _ => ("ThankedSubject", "ThankedLead"),
        };
        // A correction says what it set the outcome to; a closing says it in its lead already.
        var outcome = notice is { Step: ReferralStep.Corrected, Outcome: { } corrected } ? mail.T($"Outcome{corrected}") : null;
        mail.Paragraph(mail.Greeting(recipient.Name))
            .Paragraph(mail.T(lead, fromName, chapterName))
            .Facts(
                (mail.T("NeedLabel"), notice.Need),
                (mail.T("TemperatureLabel"), mail.T(notice.Temperature.ToString())),
                (mail.T("LanguageLabel"), LanguageName(notice.Language)),
                (mail.T("ReasonLabel"), notice.Reason),
                (mail.T("OutcomeLabel"), outcome),
                (mail.T("ValueLabel"), notice.Value is { } value ? string.Format(mail.Culture, "{0:#,0.##} {1}", value.Amount, value.Currency) : null),
                (mail.T("ReportLabel"), notice.Note))
            .Link(notice.Step switch { ReferralStep.Given => "ReceivedAction", ReferralStep.Stranded => "StrandedAction", _ => "UpdateAction" }, origin.Link("/my"))
            .Separator()
            .Paragraph(mail.T("WhyFooter", chapterName));
        var turnOff = origin.TurnOffLink(settings, notice.Kind);
        mail.Link($"TurnOff{notice.Kind}", turnOff);
        return mail.Message(origin, [new MailboxAddress(recipient.Name, settings.Choices.Email!)], mail.T(subject, fromName), messageId, turnOff);
    }

    /// <summary>"svenska (sv)": the language as its speakers name it, with its tag.</summary>
    internal static string LanguageName(string tag)
    {
        try
        {
            var culture = CultureInfo.GetCultureInfo(tag);
            return culture.NativeName is { Length: > 0 } name && !name.StartsWith("Unknown", StringComparison.Ordinal) && name != tag ? $"{name} ({tag})" : tag;
        }
        catch (CultureNotFoundException)
        {
            return tag;
        }
    }
}

/// <summary>
/// The introduction the giver asked for: to the prospect and the receiver, the giver in copy, in the referral's language.
/// The only e-mail that carries the prospect's address, and it goes to the prospect, who agreed to be contacted.
/// </summary>
public static class IntroductionMail
{
    /// <summary>Why an introduction cannot be written (now): the field at fault, and what to say.</summary>
    public sealed record Missing(string Field, string Detail);

    /// <summary>
    /// The introduction of a referral as it would go out now, to its current receiver, read from the views: what the handler
    /// sends and what the giver previews, so the two cannot differ. Null with what is missing when it cannot be written.
    /// </summary>
    public static async Task<(MimeMessage? Mail, Missing? Missing)> ForAsync(ChapterDatabase db, ReferralView referral, string? line,
        MailOrigin origin, Guid messageId, CancellationToken ct)
    {
        if (referral.Prospect is not { ErasedAt: null, Consent: true, Email: { } email } prospect || !email.Contains('@'))
            return (null, new Missing("prospect.email", "The prospect gave no e-mail address to be introduced by, or it was erased."));
        if ((await NotificationSettings.GetAsync(db, referral.ChapterId, referral.ReceiverId, ct))?.Choices.Email is not { } receiverEmail)
            return (null, new Missing("receiverId", "The receiver has no e-mail address in their notification settings."));
        var members = await MemberProjection.GetManyAsync(db, referral.ChapterId, [referral.GiverId, referral.ReceiverId], ct);
        var (giver, receiver) = (members.Single(m => m.Id == referral.GiverId), members.Single(m => m.Id == referral.ReceiverId));
        var giverEmail = (await NotificationSettings.GetAsync(db, referral.ChapterId, giver.Id, ct))?.Choices.Email;
        var chapterName = (await Chapter.Projections.Chapters.ChapterProjection.GetAsync(db, referral.ChapterId, ct))?.Name ?? referral.ChapterId;
        return (Compose(referral, prospect, giver, receiver, receiverEmail, giverEmail, line, chapterName, origin, messageId), null);
    }

    public static MimeMessage Compose(ReferralView referral, ProspectDetails prospect, MemberView giver, MemberView receiver, string receiverEmail,
        string? giverEmail, string? line, string chapterName, MailOrigin origin, Guid messageId)
    {
        var mail = new MailWriter([referral.Language]);
        var spoken = mail.Culture.Name == referral.Language.Split('-')[0];
        if (!spoken)
            mail.Paragraph(mail.T("IntroFallback", giver.Name, ReferralMail.LanguageName(referral.Language)));
        mail.Paragraph(mail.T("IntroGreeting", prospect.Name, receiver.Name))
            .Paragraph(mail.T("IntroLead", giver.Name));
        if (line is { Length: > 0 })
            mail.Paragraph($"{giver.Name}: {line}");
        mail.Paragraph(mail.T("IntroNeed", prospect.Name, referral.Need))
            .Paragraph(mail.T("IntroReceiver", receiver.Name, receiver.Profession, chapterName))
            .Paragraph(mail.T("IntroAction", giver.Name))
            .Separator()
            .Paragraph(mail.T("IntroWhy", giver.Name, chapterName, prospect.Name));
        MailboxAddress[] to = [new(prospect.Name, prospect.Email!), new(receiver.Name, receiverEmail)];
        MailboxAddress[] copy = giverEmail is null ? [] : [new(giver.Name, giverEmail)];
        return mail.Message(origin, to, mail.T("IntroSubject", prospect.Name, receiver.Name), messageId, turnOffLink: null, copy);
    }
}
