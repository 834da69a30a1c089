using System.Net.Sockets;
using MailKit;
using MailKit.Net.Smtp;
using MailKit.Security;
using MimeKit;

namespace Chapter.Api.Notifications;

/// <summary>Hands a finished message on: to an SMTP server, or (with none configured) to a folder.</summary>
public interface IMailDelivery
{
    Task DeliverAsync(MimeMessage message, CancellationToken ct);
}

/// <summary>A message not handed on. <see cref="MayRecover"/>: a later attempt may succeed (the server was away, or said 4xx).</summary>
public sealed class MailNotDelivered(string message, bool mayRecover, Exception? inner = null) : Exception(message, inner)
{
    public bool MayRecover { get; } = mayRecover;
}

/// <summary><c>Chapter:Smtp</c>: Host, Port, User, Password, From, UseTls.</summary>
public sealed record SmtpSettings(string Host, int Port, string? User, string? Password, bool UseTls);

/// <summary>SMTP through MailKit, one connection per message: notifications are few, and a fresh connection never goes stale.</summary>
public sealed class SmtpDelivery(SmtpSettings settings, Webhooks.DeliveryMetrics metrics) : IMailDelivery
{
    public async Task DeliverAsync(MimeMessage message, CancellationToken ct)
    {
        using var client = new SmtpClient { Timeout = 30_000 };
        try
        {
            var security = !settings.UseTls ? SecureSocketOptions.None
                : settings.Port == 465 ? SecureSocketOptions.SslOnConnect
                : SecureSocketOptions.StartTls;
            await client.ConnectAsync(settings.Host, settings.Port, security, ct);
            if (settings.User is { Length: > 0 } user)
                await client.AuthenticateAsync(user, settings.Password ?? "", ct);
            await client.SendAsync(message, ct);
            await client.DisconnectAsync(quit: true, ct);
        }
        catch (SmtpCommandException e)
        {
            metrics.MailFailures.Add(1);
            // 4xx: the server asks us to come back later; 5xx: it will never take this message. Not kept as the inner
            // exception: its message is the server's reply, which quotes the address ("<anna@…>: Recipient address rejected"),
            // and Wolverine logs a failed message's exception whole.
            throw new MailNotDelivered($"The SMTP server answered {(int)e.StatusCode} ({e.ErrorCode}).", (int)e.StatusCode < 500);
        }
        catch (Exception e) when (e is SmtpProtocolException or IOException or SocketException or TimeoutException
                                      or ServiceNotConnectedException or AuthenticationException)
        {
            metrics.MailFailures.Add(1);
            throw new MailNotDelivered($"The SMTP server at {settings.Host}:{settings.Port} could not be reached or spoke wrongly: {e.GetType().Name}.", true, e);
        }
    }
}

/// <summary>
/// The embedded default: each message as a <c>.eml</c> file, named by its Message-ID, so a retry rewrites the same file.
/// </summary>
public sealed class PickupDirectoryDelivery(string directory, ILogger<PickupDirectoryDelivery> logger) : IMailDelivery
{
    private int _told;

    public string Directory { get; } = directory;

    public async Task DeliverAsync(MimeMessage message, CancellationToken ct)
    {
        System.IO.Directory.CreateDirectory(Directory);
        if (Interlocked.Exchange(ref _told, 1) == 0)
            logger.LogWarning("No SMTP server is configured (Chapter:Smtp:Host): e-mails are written as .eml files under {Directory}", Directory);
        var name = string.Concat((message.MessageId ?? Guid.NewGuid().ToString("N")).Select(c => char.IsLetterOrDigit(c) || c is '-' or '.' ? c : '_'));
        var path = Path.Combine(Directory, name + ".eml");
        var partial = path + ".partial";
        await message.WriteToAsync(partial, ct);
        File.Move(partial, path, overwrite: true);
    }
}
