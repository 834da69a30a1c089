using System.Net;
using System.Net.Sockets;

namespace Chapter.Api.Webhooks;

/// <summary>
/// Where a webhook may point: https, to a public address. The name is resolved, and every address it has is checked, when
/// the webhook is registered and again on every connection (so a name that later resolves elsewhere, to the metadata
/// service say, is refused then). Redirects are not followed. <c>Chapter:Webhooks:AllowInsecureTargets</c> lets tests
/// and local setups use http and loopback.
/// </summary>
public sealed class WebhookTargets(bool allowInsecure)
{
    public bool AllowInsecure { get; } = allowInsecure;

    /// <summary>Why this URL may not be a webhook's target; null when it may.</summary>
    public async Task<string?> RefusalAsync(string url, CancellationToken ct)
    {
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("https" or "http") || uri.UserInfo.Length > 0 || uri.Fragment.Length > 0)
            return "'url' must be an absolute https URL without user info or fragment, e.g. https://example.com/chapter-webhook.";
        if (uri.Scheme == "http" && !AllowInsecure)
            return "'url' must use https.";
        try
        {
            var addresses = await ResolveAsync(uri.IdnHost, ct);
            return addresses.FirstOrDefault(a => !Allowed(a)) is { } refused
                ? $"'url' resolves to {refused}, a loopback, private, link-local or otherwise non-public address."
                : null;
        }
        catch (SocketException)
        {
            return $"'url': the name '{uri.Host}' does not resolve.";
        }
    }

    public bool Allowed(IPAddress address) => AllowInsecure ? !IPAddress.Any.Equals(address) && !IPAddress.IPv6Any.Equals(address) : IsPublic(address);

    public static async Task<IPAddress[]> ResolveAsync(string host, CancellationToken ct) =>
        IPAddress.TryParse(host.Trim('[', ']'), out var literal) ? [literal] : await Dns.GetHostAddressesAsync(host, ct);

    /// <summary>A globally routable unicast address: not loopback, private, link-local (which holds the cloud metadata services), CGNAT, multicast or reserved.</summary>
    public static bool IsPublic(IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6)
            address = address.MapToIPv4();
        if (address.AddressFamily == AddressFamily.InterNetwork)
        {
            var b = address.GetAddressBytes();
            return !(b[0] is 0 or 10 or 127 or >= 224
                     || (b[0] == 100 && b[1] is >= 64 and <= 127)
                     || (b[0] == 169 && b[1] == 254)
                     || (b[0] == 172 && b[1] is >= 16 and <= 31)
                     || (b[0] == 192 && b[1] == 168)
                     || (b[0] == 192 && b[1] == 0 && b[2] is 0 or 2)
                     || (b[0] == 198 && b[1] is 18 or 19)
                     || (b[0] == 198 && b[1] == 51 && b[2] == 100)
                     || (b[0] == 203 && b[1] == 0 && b[2] == 113));
        }
        if (address.AddressFamily == AddressFamily.InterNetworkV6)
        {
            var b = address.GetAddressBytes();
            return !(IPAddress.IPv6Loopback.Equals(address) || IPAddress.IPv6None.Equals(address) || address.IsIPv6LinkLocal || address.IsIPv6SiteLocal
                     || address.IsIPv6Multicast || (b[0] & 0xfe) == 0xfc // unique local fc00::/7
                     || (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x0d && b[3] == 0xb8) // documentation
                     || (b[0] == 0x00 && b[1] == 0x64 && b[2] == 0xff && b[3] == 0x9b)); // NAT64 into IPv4 space
        }
        return false;
    }

    /// <summary>The connection itself: resolve, check each address, connect only to one that passes.</summary>
    public async ValueTask<Stream> ConnectAsync(SocketsHttpConnectionContext context, CancellationToken ct)
    {
        var addresses = (await ResolveAsync(context.DnsEndPoint.Host, ct)).Where(Allowed).ToArray();
        if (addresses.Length == 0)
            throw new HttpRequestException($"The webhook's host {context.DnsEndPoint.Host} resolves to no public address.");
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(addresses, context.DnsEndPoint.Port, ct);
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }
}
