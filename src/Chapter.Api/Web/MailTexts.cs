namespace Chapter.Api.Web;

/// <summary>The e-mails' texts, beside the pages': MailTexts.resx (English) and MailTexts.{sv,nl,vi}.resx.</summary>
public sealed class MailTexts;
