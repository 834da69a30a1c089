using System.Security.Cryptography;
using System.Text;
using Chapter.Api.Infrastructure;
using Npgsql;

namespace Chapter.Api.Webhooks;

/// <summary>
/// The key webhook secrets are sealed with at rest (<c>Chapter:Webhooks:SecretKey</c>, the base64 of 32 bytes). A secret
/// must be kept openable, since every delivery is signed with it; sealed, a copy of the database (a backup, a dump handed
/// to support) holds no secret an attacker could sign fake deliveries with. AES-GCM, each with a random nonce and bound to
/// its webhook's id, so a sealed secret copied to another row does not open.
/// </summary>
/// <remarks>
/// Not ASP.NET Core Data Protection: its key ring would have to be stored somewhere and itself protected by something
/// configured, which is this one key with more moving parts; an operator rotates nothing here but this setting.
/// </remarks>
public sealed class WebhookSecretKey
{
    public const string Setting = "Chapter:Webhooks:SecretKey";
    public const string FileName = "webhook-secret.key";
    private const byte FormatVersion = 1;
    private const int KeySize = 32, NonceSize = 12, TagSize = 16;
    private readonly byte[] _key;

    private WebhookSecretKey(byte[] key) => _key = key;

    /// <summary>The configured key; in the embedded default without one, a key generated once beside its database.</summary>
    public static WebhookSecretKey Resolve(IConfiguration configuration, EmbeddedPostgres.Started? embedded)
    {
        if (configuration[Setting] is { Length: > 0 } configured)
            return FromBase64(configured, $"{Setting} (environment variable Chapter__Webhooks__SecretKey)");
        if (embedded is null)
            throw new InvalidOperationException(
                $"{Setting} is not set. Webhook secrets are sealed with it at rest: set Chapter__Webhooks__SecretKey to the base64 of " +
                "32 random bytes (openssl rand -base64 32), the same on every node, and keep it apart from the database's backups.");

        var file = Path.Combine(embedded.DataDirectory, FileName);
        if (!File.Exists(file))
        {
            Directory.CreateDirectory(embedded.DataDirectory);
            var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
            if (!OperatingSystem.IsWindows())
                options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
            try
            {
                using var writer = new StreamWriter(file, Encoding.ASCII, options);
                writer.WriteLine(Convert.ToBase64String(RandomNumberGenerator.GetBytes(KeySize)));
            }
            catch (IOException) when (File.Exists(file))
            {
                // Another process of the same checkout wrote it first: use theirs.
            }
        }
        return FromBase64(File.ReadAllText(file).Trim(), file);
    }

    private static WebhookSecretKey FromBase64(string text, string source)
    {
        var key = new byte[KeySize];
        return Convert.TryFromBase64String(text, key, out var length) && length == KeySize
            ? new WebhookSecretKey(key)
            : throw new InvalidOperationException($"{source} is not the base64 of 32 bytes (make one with: openssl rand -base64 32).");
    }

    public byte[] Seal(Guid webhookId, string secret)
    {
        var plaintext = Encoding.UTF8.GetBytes(secret);
        var sealedBytes = new byte[1 + NonceSize + TagSize + plaintext.Length];
        sealedBytes[0] = FormatVersion;
        RandomNumberGenerator.Fill(sealedBytes.AsSpan(1, NonceSize));
        using var aes = new AesGcm(_key, TagSize);
        aes.Encrypt(sealedBytes.AsSpan(1, NonceSize), plaintext, sealedBytes.AsSpan(1 + NonceSize + TagSize), sealedBytes.AsSpan(1 + NonceSize, TagSize),
            webhookId.ToByteArray());
        return sealedBytes;
    }

    /// <exception cref="CryptographicException">The secret was sealed with another key, or for another webhook.</exception>
    public string Open(Guid webhookId, byte[] sealedBytes)
    {
        if (sealedBytes.Length < 1 + NonceSize + TagSize || sealedBytes[0] != FormatVersion)
            throw new CryptographicException($"Webhook {webhookId}'s secret is not sealed in a form this version knows.");
        var plaintext = new byte[sealedBytes.Length - 1 - NonceSize - TagSize];
        using var aes = new AesGcm(_key, TagSize);
        aes.Decrypt(sealedBytes.AsSpan(1, NonceSize), sealedBytes.AsSpan(1 + NonceSize + TagSize), sealedBytes.AsSpan(1 + NonceSize, TagSize), plaintext,
            webhookId.ToByteArray());
        return Encoding.UTF8.GetString(plaintext);
    }
}

public static class WebhookSecretsAtRest
{
    /// <summary>
    /// Before the first request: checks the key opens the secrets already sealed (a wrong key would sign every delivery wrongly),
    /// and seals any secret still stored as issued by an earlier version, emptying its old column.
    /// </summary>
    public static async Task SealWebhookSecretsAsync(this WebApplication app)
    {
        var key = app.Services.GetRequiredService<WebhookSecretKey>();
        // Each database holds the webhooks of its chapters.
        foreach (var db in await app.Services.GetRequiredService<Infrastructure.ChapterDatabases>().AllAsync())
        {
            await using (var sample = db.CreateCommand("SELECT id, sealed_secret FROM webhooks WHERE sealed_secret IS NOT NULL LIMIT 1"))
            await using (var reader = await sample.ExecuteReaderAsync())
            {
                if (await reader.ReadAsync())
                {
                    try
                    {
                        key.Open(reader.GetGuid(0), reader.GetFieldValue<byte[]>(1));
                    }
                    catch (CryptographicException)
                    {
                        throw new InvalidOperationException(
                            $"{WebhookSecretKey.Setting} does not open the webhook secrets in this database: they were sealed with another key. " +
                            "Start with the key they were sealed with.");
                    }
                }
            }

            var issued = new List<(Guid Id, string Secret)>();
            await using (var legacy = db.CreateCommand("SELECT id, secret FROM webhooks WHERE secret IS NOT NULL"))
            await using (var reader = await legacy.ExecuteReaderAsync())
            {
                while (await reader.ReadAsync())
                    issued.Add((reader.GetGuid(0), reader.GetString(1)));
            }
            foreach (var (id, secret) in issued)
            {
                await using var seal = db.CreateCommand("UPDATE webhooks SET sealed_secret = $2, secret = NULL WHERE id = $1 AND secret IS NOT NULL");
                seal.Parameters.Add(new NpgsqlParameter { Value = id });
                seal.Parameters.Add(new NpgsqlParameter { Value = key.Seal(id, secret) });
                await seal.ExecuteNonQueryAsync();
            }
            if (issued.Count > 0)
                app.Logger.LogInformation("Sealed {Count} webhook secrets stored as issued by an earlier version", issued.Count);
        }
    }
}
