using System.ComponentModel.DataAnnotations;
using System.Globalization;
using Chapter.Api.Access;
using Chapter.Api.Infrastructure;
using Chapter.Domain;
using Chapter.Projections.Chapters;
using Microsoft.AspNetCore.Http.HttpResults;
using Npgsql;

namespace Chapter.Api.Webhooks;

/// <param name="Events">Event types to deliver, e.g. ["referral.given.v2", "referral.thanked.v1"], or ["*"] for all.</param>
public sealed record WebhookRequest([property: Required] string? Url, [property: Required] string[]? Events, [property: Required] string? Label);

/// <param name="From">A feed cursor (a page's 'next', or a delivery's 'cursor'): the events after it are delivered again, in order.</param>
public sealed record RedeliverRequest([property: Required] string? From);

/// <param name="Next">The cursor of the next page (pass it as 'after'); null on the last page.</param>
public sealed record WebhookList(IReadOnlyList<WebhookView> Items, string? Next);

/// <param name="Next">The cursor of the next page (pass it as 'after'); null on the last page.</param>
public sealed record DeliveryList(IReadOnlyList<DeliveryView> Items, string? Next);

public static class WebhookEndpoints
{
    public static RouteGroupBuilder MapWebhooks(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/api/chapters/{chapterId}/webhooks").WithTags("Webhooks")
            .RequireAuthorization(Policies.ManageChapter)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesValidationProblem();

        group.MapPost("/", RegisterAsync)
            .WithName("RegisterWebhook")
            .WithSummary("Register a webhook: the chapter's events, POSTed to a URL of yours as they happen (leaders)")
            .WithDescription(
                "url: https, to a public address (checked after DNS resolution, and again on every connection; redirects are not followed). " +
                "events: the event types to deliver, or [\"*\"]. The answer holds the secret, shown this once: each delivery is signed the " +
                "Standard Webhooks way (webhook-id, webhook-timestamp, webhook-signature: v1,<base64 HMAC-SHA256 of \"{id}.{timestamp}.{body}\">, " +
                "keyed with the base64 after 'whsec_'). The body is the feed's envelope: id, type, cursor, chapterId, occurredAt, data " +
                "(never the prospect's contact details). A webhook starts after the chapter's last event; events arrive in feed order; a 2xx " +
                "is delivered, anything else is retried with exponential backoff for 24 hours, the events behind it waiting, then dead-lettered.");

        group.MapGet("/", ListAsync)
            .WithName("ListWebhooks")
            .WithSummary("The chapter's webhooks, as registered (never their secrets), with where each is in the feed")
            .WithDescription("A page at a time: 'limit' 1–500 (default 50); pass the answer's 'next' as 'after' for the next page, until 'next' is null.");

        group.MapGet("/{webhookId:guid}", GetAsync)
            .WithName("GetWebhook")
            .WithSummary("A webhook: where it is in the feed, and whether its receiver is failing");

        group.MapDelete("/{webhookId:guid}", DeleteAsync)
            .WithName("DeleteWebhook")
            .WithSummary("Stop a webhook for good")
            .Produces(StatusCodes.Status204NoContent);

        group.MapGet("/{webhookId:guid}/deliveries", DeliveriesAsync)
            .WithName("ListWebhookDeliveries")
            .WithSummary("Each delivery attempt, oldest first: its event, outcome and the answer's status code")
            .WithDescription("A page at a time: 'limit' 1–500 (default 50); pass the answer's 'next' as 'after' for the next page, until 'next' is null.");

        group.MapPost("/{webhookId:guid}/redeliver", RedeliverAsync)
            .WithName("RedeliverWebhook")
            .WithSummary("Deliver again from a feed position: every event after 'from', in order")
            .Produces<WebhookView>(StatusCodes.Status202Accepted);

        group.MapPost("/{webhookId:guid}/rotate-secret", RotateSecretAsync)
            .WithName("RotateWebhookSecret")
            .WithSummary("Issue a new secret; the one it replaces still signs beside it for 24 hours")
            .WithDescription(
                "The answer holds the new secret, shown this once. For 24 hours each delivery carries two signatures in webhook-signature " +
                "(\"v1,<new> v1,<old>\"), so the receiver can switch to the new secret without losing a delivery; then only the new one. " +
                "Rotating again within those hours ends the oldest secret's overlap at once.");

        return group;
    }

    private static async Task<Results<Ok<RotatedSecret>, ProblemHttpResult>> RotateSecretAsync(
        string chapterId, Guid webhookId, ChapterDatabase db, WebhookSecretKey key, HttpContext context, CancellationToken ct)
    {
        if (await WebhookStore.RotateSecretAsync(db, key, chapterId, webhookId, ct) is not { } rotated)
            return NotFound(chapterId, webhookId);
        context.Response.Headers.CacheControl = "no-store";
        return TypedResults.Ok(rotated);
    }

    private static async Task<Results<Created<RegisteredWebhook>, ValidationProblem, ProblemHttpResult>> RegisterAsync(
        string chapterId, WebhookRequest body, ChapterDatabase db, WebhookSecretKey key, WebhookTargets targets, Caller caller, HttpContext context,
        CancellationToken ct)
    {
        var check = new Validation();
        var url = check.Text(body.Url, "url", 2000);
        var label = check.Text(body.Label, "label");
        var events = Events(check, body.Events);
        if (check.IsValid && await targets.RefusalAsync(url, ct) is { } refusal)
            check.Add("url", refusal);
        if (!check.IsValid)
            return (ValidationProblem)check.Problem();
        if (await ChapterProjection.GetAsync(db, chapterId, ct) is null)
            return Problems.NotFound($"Chapter '{chapterId}' does not exist.");
        var registered = await WebhookStore.RegisterAsync(db, key, chapterId, url, events, label, caller.Actor, ct);
        // The answer holds the secret: no cache keeps it.
        context.Response.Headers.CacheControl = "no-store";
        return TypedResults.Created($"/api/chapters/{chapterId}/webhooks/{registered.Id}", registered);
    }

    private static IReadOnlyList<string> Events(Validation check, string[]? events)
    {
        if (events is not { Length: > 0 })
        {
            check.Add("events", "'events' needs at least one event type, e.g. [\"referral.given.v2\"], or [\"*\"] for all.");
            return [];
        }
        if (events.Contains("*") && events.Length > 1)
            check.Add("events", "'*' stands alone: it already means every event type.");
        var known = EventNames.All.Values.ToHashSet();
        for (var i = 0; i < events.Length; i++)
            if (events[i] != "*" && !known.Contains(events[i]))
                check.Add($"events[{i}]", $"'{events[i]}' is not an event type. Known: {string.Join(", ", known.Order())}.");
        return events.Distinct().ToList();
    }

    private static async Task<Results<Ok<WebhookList>, ValidationProblem, ProblemHttpResult>> ListAsync(
        string chapterId, int? limit, string? after, ChapterDatabase db, CancellationToken ct)
    {
        var check = new Validation();
        var page = check.Page(limit, after);
        if (!check.IsValid)
            return (ValidationProblem)check.Problem();
        if (await ChapterProjection.GetAsync(db, chapterId, ct) is null)
            return Problems.NotFound($"Chapter '{chapterId}' does not exist.");
        var (items, next) = await WebhookStore.ListAsync(db, chapterId, page, ct);
        return TypedResults.Ok(new WebhookList(items, next));
    }

    private static async Task<Results<Ok<WebhookView>, ProblemHttpResult>> GetAsync(string chapterId, Guid webhookId, ChapterDatabase db, CancellationToken ct) =>
        await WebhookStore.GetAsync(db, chapterId, webhookId, ct) is { } webhook ? TypedResults.Ok(webhook) : NotFound(chapterId, webhookId);

    private static async Task<Results<NoContent, ProblemHttpResult>> DeleteAsync(string chapterId, Guid webhookId, ChapterDatabase db, CancellationToken ct) =>
        await WebhookStore.DeleteAsync(db, chapterId, webhookId, ct) ? TypedResults.NoContent() : NotFound(chapterId, webhookId);

    private static async Task<Results<Ok<DeliveryList>, ValidationProblem, ProblemHttpResult>> DeliveriesAsync(
        string chapterId, Guid webhookId, int? limit, string? after, ChapterDatabase db, CancellationToken ct)
    {
        var check = new Validation();
        var page = check.Page(limit, after);
        if (!check.IsValid)
            return (ValidationProblem)check.Problem();
        if (await WebhookStore.GetAsync(db, chapterId, webhookId, ct) is null)
            return NotFound(chapterId, webhookId);
        var (items, next) = await WebhookStore.DeliveriesAsync(db, webhookId, page, ct);
        return TypedResults.Ok(new DeliveryList(items, next));
    }

    private static async Task<Results<Accepted<WebhookView>, ValidationProblem, ProblemHttpResult>> RedeliverAsync(
        string chapterId, Guid webhookId, RedeliverRequest body, ChapterDatabase db, CancellationToken ct)
    {
        var check = new Validation();
        if (!long.TryParse(body.From, NumberStyles.None, CultureInfo.InvariantCulture, out var from))
            check.Add("from", "'from' is a feed cursor, e.g. '1234' (a page's 'next', or a delivery's 'cursor'); '0' for the start.");
        if (!check.IsValid)
            return (ValidationProblem)check.Problem();
        if (!await WebhookStore.RewindAsync(db, chapterId, webhookId, from, ct))
            return NotFound(chapterId, webhookId);
        var webhook = (await WebhookStore.GetAsync(db, chapterId, webhookId, ct))!;
        return TypedResults.Accepted($"/api/chapters/{chapterId}/webhooks/{webhookId}", webhook);
    }

    private static ProblemHttpResult NotFound(string chapterId, Guid webhookId) => Problems.NotFound($"Webhook {webhookId} is not in chapter '{chapterId}'.");
}

public static class WebhookRegistration
{
    public static void AddChapterWebhooks(this WebApplicationBuilder builder)
    {
        var section = builder.Configuration.GetSection("Chapter:Webhooks");
        var settings = new WebhookSettings(
            section.GetValue("PollEvery", TimeSpan.FromSeconds(1)),
            section.GetValue("FirstRetryAfter", TimeSpan.FromSeconds(10)),
            section.GetValue("GiveUpAfter", TimeSpan.FromHours(24)),
            section.GetValue("AllowInsecureTargets", false),
            section.GetValue("KeepDeliveriesFor", TimeSpan.FromDays(30)));
        var targets = new WebhookTargets(settings.AllowInsecureTargets);
        builder.Services.AddSingleton(settings);
        builder.Services.AddSingleton(targets);
        // Resolved when first needed (at start, by SealWebhookSecretsAsync), so commands that serve nothing need no key.
        builder.Services.AddSingleton(services => WebhookSecretKey.Resolve(builder.Configuration, services.GetService<EmbeddedPostgres.Started>()));
        builder.Services.AddSingleton<DeliveryMetrics>();
        builder.Services.AddHttpClient(WebhookDispatcher.HttpClientName, client =>
            {
                client.Timeout = TimeSpan.FromSeconds(10);
                client.DefaultRequestHeaders.UserAgent.ParseAdd("Chapter-Webhooks/1");
            })
            // Every connection goes to an address checked as it is made; no proxy (it would connect for us, unchecked), no redirects.
            .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler
            {
                AllowAutoRedirect = false,
                UseProxy = false,
                ConnectTimeout = TimeSpan.FromSeconds(5),
                PooledConnectionLifetime = TimeSpan.FromMinutes(2),
                ConnectCallback = targets.ConnectAsync,
            });
        builder.Services.AddHostedService<WebhookDispatcher>();
    }
}
