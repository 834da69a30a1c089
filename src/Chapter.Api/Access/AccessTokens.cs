using Chapter.Api.Infrastructure;
using System.Security.Cryptography;
using System.Text;
using Chapter.Projections;
using Microsoft.AspNetCore.WebUtilities;
using Npgsql;
using NpgsqlTypes;

namespace Chapter.Api.Access;

public sealed record IssuedToken(Guid Id, string Token, string Label, DateTimeOffset CreatedAt);

/// <summary>A token as leaders see it when they manage access: never the token itself.</summary>
public sealed record TokenView(Guid Id, string Kind, Guid? MemberId, string Label, DateTimeOffset CreatedAt, string CreatedBy,
    DateTimeOffset? LastUsedAt, DateTimeOffset? RevokedAt);

/// <summary>Issues, finds and revokes opaque bearer tokens. Only their hashes are stored.</summary>
public sealed class AccessTokens(ChapterDatabases databases)
{
    // Tokens belong to no chapter's database: a request finds its token before it is known which chapter it is for.
    private readonly ChapterDatabase db = databases.Main;

    /// <summary>
    /// Bearer tokens, stored only as SHA-256 hashes: a token is 256 random bits, so a fast hash is enough and lets a request
    /// find its token by index. Credentials are not domain facts, so they live here, not in the log.
    /// </summary>
    public static Weasel.Postgresql.Tables.Table Table()
    {
        var tokens = ReadModelSchema.NewTable("access_tokens");
        tokens.AddColumn("id", "uuid").AsPrimaryKey();
        tokens.AddColumn("kind", "text").NotNull();
        tokens.AddColumn("chapter_id", "text");
        tokens.AddColumn("member_id", "uuid");
        tokens.AddColumn("label", "text").NotNull();
        tokens.AddColumn("token_hash", "bytea").NotNull();
        tokens.AddColumn("created_at", "timestamp with time zone").NotNull().DefaultValueByExpression("now()");
        tokens.AddColumn("created_by", "text").NotNull();
        tokens.AddColumn("last_used_at", "timestamp with time zone");
        tokens.AddColumn("revoked_at", "timestamp with time zone");
        tokens.CheckConstraints.Add(new Weasel.Core.TableCheckConstraint("access_tokens_kind_check", "kind = ANY (ARRAY['operator'::text, 'member'::text, 'integration'::text])"));
        tokens.CheckConstraints.Add(new Weasel.Core.TableCheckConstraint("access_tokens_check", "(kind = 'operator') = (chapter_id IS NULL)"));
        tokens.CheckConstraints.Add(new Weasel.Core.TableCheckConstraint("access_tokens_check1", "(kind = 'member') = (member_id IS NOT NULL)"));
        tokens.Indexes.Add(new Weasel.Postgresql.Tables.IndexDefinition("access_tokens_token_hash_key") { Columns = ["token_hash"], IsUnique = true });
        tokens.Indexes.Add(new Weasel.Postgresql.Tables.IndexDefinition("access_tokens_chapter") { Columns = ["chapter_id", "member_id"] });
        return tokens;
    }

    private const string Prefix = "chapter_";

    public static string NewToken() => Prefix + WebEncoders.Base64UrlEncode(RandomNumberGenerator.GetBytes(32));

    public static byte[] Hash(string token) => SHA256.HashData(Encoding.UTF8.GetBytes(token));

    public async Task<IssuedToken> IssueAsync(CallerKind kind, string? chapterId, Guid? memberId, string label, string createdBy, CancellationToken ct)
    {
        var token = NewToken();
        var id = Guid.CreateVersion7();
        await using var command = db.CreateCommand(
            """
            INSERT INTO access_tokens (id, kind, chapter_id, member_id, label, token_hash, created_by)
            VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING created_at
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = id });
        command.Parameters.Add(new NpgsqlParameter { Value = KindName(kind) });
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)chapterId ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)memberId ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Uuid });
        command.Parameters.Add(new NpgsqlParameter { Value = label });
        command.Parameters.Add(new NpgsqlParameter { Value = Hash(token) });
        command.Parameters.Add(new NpgsqlParameter { Value = createdBy });
        var createdAt = (DateTime)(await command.ExecuteScalarAsync(ct))!;
        return new IssuedToken(id, token, label, new DateTimeOffset(createdAt, TimeSpan.Zero));
    }

    /// <summary>
    /// The caller a token stands for, or null when it is unknown, revoked, or belongs to a member who left.
    /// A member's role is read now, not when the token was issued, so a change of role counts at once.
    /// </summary>
    public async Task<Caller?> FindAsync(string token, CancellationToken ct)
    {
        await using var command = db.CreateCommand(
            // With one database, the member's role and standing are read with the token; with several, from their chapter's after.
            $"""
            WITH found AS (
                SELECT t.id, t.kind, t.chapter_id, t.member_id, {(databases.AreSeveral ? "NULL::text, NULL::text" : "m.role, m.status")}
                FROM access_tokens t
                {(databases.AreSeveral ? "" : "LEFT JOIN member_view m ON m.id = t.member_id AND m.chapter_id = t.chapter_id")}
                WHERE t.token_hash = $1 AND t.revoked_at IS NULL),
            touched AS (
                -- last-used time to the minute: enough to spot stale tokens without a write per request
                UPDATE access_tokens SET last_used_at = now()
                WHERE id = (SELECT id FROM found) AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute'))
            SELECT * FROM found
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = Hash(token) });
        Guid id;
        string kind;
        string? chapterId;
        Guid? memberId;
        (string Role, string Status)? standing;
        await using (var reader = await command.ExecuteReaderAsync(ct))
        {
            if (!await reader.ReadAsync(ct))
                return null;
            id = reader.GetGuid(0);
            kind = reader.GetString(1);
            chapterId = reader.IsDBNull(2) ? null : reader.GetString(2);
            memberId = reader.IsDBNull(3) ? null : reader.GetGuid(3);
            standing = reader.IsDBNull(5) ? null : (reader.GetString(4), reader.GetString(5));
        }
        if (databases.AreSeveral && kind == "member")
            standing = await StandingAsync(chapterId!, memberId!.Value, ct);
        return kind switch
        {
            "operator" => new Caller(CallerKind.Operator, id, null, null, false),
            "integration" => new Caller(CallerKind.Integration, id, chapterId, null, false),
            "member" when standing is { Status: "active" } => new Caller(CallerKind.Member, id, chapterId, memberId, standing.Value.Role == "leader"),
            _ => null,
        };
    }

    private async Task<(string Role, string Status)?> StandingAsync(string chapterId, Guid memberId, CancellationToken ct)
    {
        ChapterDatabase chapterDatabase;
        try
        {
            chapterDatabase = await databases.ForChapterAsync(chapterId);
        }
        catch (UnknownChapter)
        {
            return null;
        }
        await using var command = chapterDatabase.CreateCommand("SELECT role, status FROM member_view WHERE chapter_id = $1 AND id = $2");
        command.Parameters.Add(new NpgsqlParameter { Value = chapterId });
        command.Parameters.Add(new NpgsqlParameter { Value = memberId });
        await using var reader = await command.ExecuteReaderAsync(ct);
        return await reader.ReadAsync(ct) ? (reader.GetString(0), reader.GetString(1)) : null;
    }

    /// <summary>Revokes at once; false when no such token exists in that chapter (for that member, or among integrations).</summary>
    public async Task<bool> RevokeAsync(string chapterId, Guid tokenId, CallerKind kind, Guid? memberId, CancellationToken ct)
    {
        await using var command = db.CreateCommand(
            """
            UPDATE access_tokens SET revoked_at = coalesce(revoked_at, now())
            WHERE id = $1 AND chapter_id = $2 AND kind = $3 AND member_id IS NOT DISTINCT FROM $4
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = tokenId });
        command.Parameters.Add(new NpgsqlParameter { Value = chapterId });
        command.Parameters.Add(new NpgsqlParameter { Value = KindName(kind) });
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)memberId ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Uuid });
        return await command.ExecuteNonQueryAsync(ct) == 1;
    }

    /// <summary>A page of the tokens, in the order they were issued.</summary>
    public async Task<(IReadOnlyList<TokenView> Items, string? Next)> ListAsync(string chapterId, CallerKind kind, Guid? memberId, PageRequest page, CancellationToken ct)
    {
        await using var command = db.CreateCommand(
            """
            SELECT id, kind, member_id, label, created_at, created_by, last_used_at, revoked_at FROM access_tokens
            WHERE chapter_id = $1 AND kind = $2 AND member_id IS NOT DISTINCT FROM $3
              AND ($4::timestamptz IS NULL OR (created_at, id) > ($4, $5::uuid))
            ORDER BY created_at, id LIMIT $6
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = chapterId });
        command.Parameters.Add(new NpgsqlParameter { Value = KindName(kind) });
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)memberId ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Uuid });
        command.Parameters.Add(new NpgsqlParameter { Value = page.AfterAt, NpgsqlDbType = NpgsqlDbType.TimestampTz });
        command.Parameters.Add(new NpgsqlParameter { Value = page.AfterId, NpgsqlDbType = NpgsqlDbType.Uuid });
        command.Parameters.Add(new NpgsqlParameter { Value = page.RowsToRead });
        var tokens = new List<TokenView>();
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            DateTimeOffset? At(int i) => reader.IsDBNull(i) ? null : reader.GetFieldValue<DateTimeOffset>(i);
            tokens.Add(new TokenView(reader.GetGuid(0), reader.GetString(1), reader.IsDBNull(2) ? null : reader.GetGuid(2),
                reader.GetString(3), reader.GetFieldValue<DateTimeOffset>(4), reader.GetString(5), At(6), At(7)));
        }
        return page.Cut(tokens, t => new PageCursor(t.CreatedAt, t.Id));
    }

    public async Task<bool> AnyOperatorTokenAsync(CancellationToken ct)
    {
        await using var command = db.CreateCommand("SELECT EXISTS (SELECT 1 FROM access_tokens WHERE kind = 'operator' AND revoked_at IS NULL)");
        return (bool)(await command.ExecuteScalarAsync(ct))!;
    }

    private static string KindName(CallerKind kind) => kind.ToString().ToLowerInvariant();
}
