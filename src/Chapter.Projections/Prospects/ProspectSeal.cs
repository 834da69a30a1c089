using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Chapter.Projections.Prospects;

/// <summary>How to reach a prospect: personal data of someone who is not a member.</summary>
public sealed record ProspectContact(string Name, string? Email, string? Phone, string? Company);

/// <summary>
/// Seals a prospect's contact details with their referral's own key (AES-256-GCM, the referral id as
/// associated data, so a sealed text cannot be passed off as another referral's).
/// Sealing is deterministic for a key and a text (the nonce is derived from both, as in SIV modes): a retried
/// give seals to the same text, which is how the decider recognises it. That reveals only that two sealed texts
/// under one referral's key are equal, and each key serves one referral.
/// </summary>
public static class ProspectSeal
{
    public const int KeySize = 32;
    private const byte FormatVersion = 1;
    private const int NonceSize = 12;
    private const int TagSize = 16;

    public static byte[] NewKey() => RandomNumberGenerator.GetBytes(KeySize);

    public static string Seal(byte[] key, Guid referralId, ProspectContact contact)
    {
        var plaintext = JsonSerializer.SerializeToUtf8Bytes(contact, ChapterEventTypes.SerializerOptions);
        var (encryptionKey, nonceKey) = SubKeys(key);
        var nonce = HMACSHA256.HashData(nonceKey, plaintext)[..NonceSize];

        var sealedBytes = new byte[1 + NonceSize + TagSize + plaintext.Length];
        sealedBytes[0] = FormatVersion;
        nonce.CopyTo(sealedBytes, 1);
        using var aes = new AesGcm(encryptionKey, TagSize);
        aes.Encrypt(nonce, plaintext,
            sealedBytes.AsSpan(1 + NonceSize + TagSize), sealedBytes.AsSpan(1 + NonceSize, TagSize), referralId.ToByteArray());
        return Convert.ToBase64String(sealedBytes);
    }

    /// <summary>The contact details, or null when the key does not open this text.</summary>
    public static ProspectContact? Open(byte[] key, Guid referralId, string sealedText)
    {
        Span<byte> sealedBytes = new byte[sealedText.Length];
        if (!Convert.TryFromBase64String(sealedText, sealedBytes, out var length)
            || length < 1 + NonceSize + TagSize || sealedBytes[0] != FormatVersion)
            return null;
        sealedBytes = sealedBytes[..length];

        var plaintext = new byte[length - 1 - NonceSize - TagSize];
        var (encryptionKey, _) = SubKeys(key);
        using var aes = new AesGcm(encryptionKey, TagSize);
        try
        {
            aes.Decrypt(sealedBytes.Slice(1, NonceSize), sealedBytes[(1 + NonceSize + TagSize)..],
                sealedBytes.Slice(1 + NonceSize, TagSize), plaintext, referralId.ToByteArray());
        }
        catch (AuthenticationTagMismatchException)
        {
            return null;
        }
        return JsonSerializer.Deserialize<ProspectContact>(plaintext, ChapterEventTypes.SerializerOptions);
    }

    private static (byte[] Encryption, byte[] Nonce) SubKeys(byte[] key) =>
        (HKDF.DeriveKey(HashAlgorithmName.SHA256, key, KeySize, info: Encoding.ASCII.GetBytes("chapter prospect encryption")),
         HKDF.DeriveKey(HashAlgorithmName.SHA256, key, KeySize, info: Encoding.ASCII.GetBytes("chapter prospect nonce")));
}
