namespace Chapter.Api.Web;

/// <summary>The pages' texts: Texts.resx (English) and Texts.{sv,nl,vi}.resx. No text is written in the markup itself.</summary>
public sealed class Texts;
