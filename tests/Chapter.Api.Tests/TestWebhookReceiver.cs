using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Chapter.Api.Tests;

/// <summary>One POST a webhook receiver got: its Standard Webhooks headers, its body, and what it answered.</summary>
public sealed record WebhookCall(string Id, string Timestamp, string Signature, byte[] Body, int Answered)
{
    public JsonNode Json => JsonNode.Parse(Body)!;

    /// <summary>Checks the signature as a receiver would, with the secret it was given.</summary>
    public bool SignedWith(string secret)
    {
        var key = Convert.FromBase64String(secret["whsec_".Length..]);
        var expected = Convert.ToBase64String(HMACSHA256.HashData(key, Encoding.UTF8.GetBytes($"{Id}.{Timestamp}.").Concat(Body).ToArray()));
        return Signature.Split(' ').Any(s => s == $"v1,{expected}");
    }
}

/// <summary>A webhook receiver on a loopback port, inside the test: it answers 200, or 500 while told to fail.</summary>
public sealed class TestWebhookReceiver : IAsyncDisposable
{
    private readonly WebApplication _app;

    private TestWebhookReceiver(WebApplication app) => _app = app;

    public string Url { get; private set; } = "";

    /// <summary>Answers 500 while true.</summary>
    public volatile bool Failing;

    public ConcurrentQueue<WebhookCall> Calls { get; } = new();

    /// <summary>The calls it answered 2xx, in the order they came.</summary>
    public IReadOnlyList<WebhookCall> Accepted => Calls.Where(c => c.Answered == 200).ToList();

    public static async Task<TestWebhookReceiver> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0));
        var app = builder.Build();
        var receiver = new TestWebhookReceiver(app);
        app.MapPost("/hook", async (HttpContext context) =>
        {
            using var body = new MemoryStream();
            await context.Request.Body.CopyToAsync(body);
            var status = receiver.Failing ? 500 : 200;
            receiver.Calls.Enqueue(new WebhookCall(context.Request.Headers["webhook-id"].ToString(), context.Request.Headers["webhook-timestamp"].ToString(),
                context.Request.Headers["webhook-signature"].ToString(), body.ToArray(), status));
            return Results.StatusCode(status);
        });
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        receiver.Url = $"{address.Replace("[::1]", "127.0.0.1")}/hook";
        return receiver;
    }

    /// <summary>Waits until an accepted call satisfies <paramref name="done"/> (at most 30 s).</summary>
    public async Task WaitUntilAsync(Func<IReadOnlyList<WebhookCall>, bool> done, string what)
    {
        var until = DateTime.UtcNow.AddSeconds(30);
        while (!done(Accepted) && DateTime.UtcNow < until)
            await Task.Delay(50);
        done(Accepted).ShouldBeTrue($"{what} within 30 s; got {Calls.Count} calls: {string.Join(", ", Calls.Select(c => $"{c.Answered} {c.Json["type"]}"))}");
    }

    public async ValueTask DisposeAsync() => await _app.DisposeAsync();
}
