using System.Buffers;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using MimeKit;
using SmtpServer;
using SmtpServer.Protocol;
using SmtpServer.Storage;

namespace Chapter.Api.Tests;

/// <summary>
/// A real SMTP server on a loopback port, inside the test: it keeps what it accepts, and can refuse for a while (451) or
/// for good (550, for the addresses in <see cref="RejectForGood"/>).
/// </summary>
public sealed class TestSmtpServer : MessageStore, IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _running;
    private int _refuseNext;

    public TestSmtpServer()
    {
        using (var probe = new TcpListener(IPAddress.Loopback, 0))
        {
            probe.Start();
            Port = ((IPEndPoint)probe.LocalEndpoint).Port;
        }
        var options = new SmtpServerOptionsBuilder().ServerName("localhost")
            .Endpoint(endpoint => endpoint.Endpoint(new IPEndPoint(IPAddress.Loopback, Port))).Build();
        var services = new SmtpServer.ComponentModel.ServiceProvider();
        services.Add(this);
        _running = new SmtpServer.SmtpServer(options, services).StartAsync(_stop.Token);
    }

    public int Port { get; }

    public ConcurrentQueue<MimeMessage> Accepted { get; } = new();

    /// <summary>The Message-IDs of the attempts refused, in order.</summary>
    public ConcurrentQueue<string> Refused { get; } = new();

    public ConcurrentDictionary<string, bool> RejectForGood { get; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>The next <paramref name="attempts"/> messages are refused with 451, "try again later".</summary>
    public void RefuseNext(int attempts) => Interlocked.Exchange(ref _refuseNext, attempts);

    public IReadOnlyList<MimeMessage> To(string address) =>
        Accepted.Where(m => m.To.Mailboxes.Any(to => to.Address.Equals(address, StringComparison.OrdinalIgnoreCase))).ToList();

    /// <summary>Waits until <paramref name="count"/> messages to the address have arrived (at most 20 s).</summary>
    public async Task<IReadOnlyList<MimeMessage>> WaitForAsync(string address, int count = 1)
    {
        var until = DateTime.UtcNow.AddSeconds(20);
        while (To(address).Count < count && DateTime.UtcNow < until)
            await Task.Delay(50);
        var arrived = To(address);
        arrived.Count.ShouldBeGreaterThanOrEqualTo(count, $"e-mails to {address} within 20 s");
        return arrived;
    }

    public override Task<SmtpResponse> SaveAsync(ISessionContext context, IMessageTransaction transaction, ReadOnlySequence<byte> buffer,
        CancellationToken cancellationToken)
    {
        var message = MimeMessage.Load(new MemoryStream(buffer.ToArray()));
        // As real servers do, the refusal quotes the address: nothing of it may reach the service's logs or dead letters.
        if (message.To.Mailboxes.FirstOrDefault(to => RejectForGood.ContainsKey(to.Address)) is { } rejected)
            return Task.FromResult(new SmtpResponse((SmtpReplyCode)550, $"5.1.1 <{rejected.Address}>: Recipient address rejected: mailbox unavailable"));
        if (Interlocked.Decrement(ref _refuseNext) >= 0)
        {
            Refused.Enqueue(message.MessageId ?? "");
            return Task.FromResult(new SmtpResponse((SmtpReplyCode)451, "try again later"));
        }
        Accepted.Enqueue(message);
        return Task.FromResult(SmtpResponse.Ok);
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        try { await _running; } catch (OperationCanceledException) { }
    }
}
