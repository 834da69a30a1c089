using System.ComponentModel.DataAnnotations;
using System.Security.Cryptography;
using System.Text;
using Chapter.Api.Infrastructure;
using Chapter.Api.Notifications;
using Chapter.Projections;
using Chapter.Projections.Chapters;
using Chapter.Projections.Members;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.WebUtilities;
using MimeKit;
using Npgsql;
using Wolverine;
using Wolverine.Runtime.Handlers;

namespace Chapter.Api.Access;

public sealed record SignInEmailRequest([property: Required] string? Email);

public sealed record SignInExchangeRequest([property: Required] string? Code);

/// <summary>A sign-in link's code exchanged: the token this device keeps, and whom it signs in.</summary>
public sealed record SignedIn(string Token, string ChapterId, Guid MemberId, string Role);

/// <summary>A leader asked for a member's sign-in link to be e-mailed to them.</summary>
public sealed record SignInInvitation(string ChapterId, Guid MemberId, string InvitedBy);

/// <summary>Someone asked at /signin for a link to this address. Handled out of the request, so its timing says nothing.</summary>
public sealed record SignInLinkRequested(string Email);

/// <summary>
/// One-time sign-in codes, sent by e-mail in a link (<c>/signin#code=…</c>) and exchanged once for a token. Stored only as
/// SHA-256 hashes, like tokens; a code expires (15 minutes when asked for, 7 days in an invitation).
/// </summary>
public sealed class SignInCodes(ChapterDatabases databases, TimeProvider clock)
{
    // Codes, like tokens, are looked up before anyone knows which chapter they are for: they live in the main database.
    private readonly ChapterDatabase db = databases.Main;

    public static readonly TimeSpan RequestedLifetime = TimeSpan.FromMinutes(15);
    public static readonly TimeSpan InvitationLifetime = TimeSpan.FromDays(7);

    /// <summary>How many links one member can be sent on request within an hour; more requests are dropped without a word.</summary>
    public const int RequestsPerMemberPerHour = 3;

    public static Weasel.Postgresql.Tables.Table Table()
    {
        var codes = ReadModelSchema.NewTable("sign_in_codes");
        codes.AddColumn("id", "uuid").AsPrimaryKey();
        codes.AddColumn("chapter_id", "text").NotNull();
        codes.AddColumn("member_id", "uuid").NotNull();
        codes.AddColumn("code_hash", "bytea").NotNull();
        codes.AddColumn("purpose", "text").NotNull();
        codes.AddColumn("created_by", "text").NotNull();
        codes.AddColumn("created_at", "timestamp with time zone").NotNull();
        codes.AddColumn("expires_at", "timestamp with time zone").NotNull();
        codes.AddColumn("used_at", "timestamp with time zone");
        codes.Indexes.Add(new Weasel.Postgresql.Tables.IndexDefinition("sign_in_codes_code_hash_key") { Columns = ["code_hash"], IsUnique = true });
        codes.Indexes.Add(new Weasel.Postgresql.Tables.IndexDefinition("sign_in_codes_member") { Columns = ["chapter_id", "member_id", "created_at"] });
        return codes;
    }

    private static byte[] Hash(string code) => SHA256.HashData(Encoding.UTF8.GetBytes(code));

    /// <summary>A new code for the member, or null when they were sent <see cref="RequestsPerMemberPerHour"/> on request this hour.</summary>
    public async Task<(string Code, DateTimeOffset ExpiresAt)?> CreateAsync(string chapterId, Guid memberId, bool invitation, string createdBy, CancellationToken ct)
    {
        var code = WebEncoders.Base64UrlEncode(RandomNumberGenerator.GetBytes(32));
        var now = clock.GetUtcNow();
        var expiresAt = now + (invitation ? InvitationLifetime : RequestedLifetime);
        // Requests for one member are handled concurrently: counting and inserting under a lock of that member's, in one
        // transaction, keeps a burst of them to the limit (the count is read after the lock is taken, so it sees the others').
        await using var connection = await db.OpenConnectionAsync(ct);
        await using var transaction = await connection.BeginTransactionAsync(ct);
        await using (var serialize = new NpgsqlCommand("SELECT pg_advisory_xact_lock(hashtextextended('sign-in:' || $1 || ':' || $2, 0))", connection, transaction))
        {
            serialize.Parameters.Add(new NpgsqlParameter { Value = chapterId });
            serialize.Parameters.Add(new NpgsqlParameter { Value = memberId.ToString() });
            await serialize.ExecuteNonQueryAsync(ct);
        }
        await using var command = new NpgsqlCommand(
            """
            INSERT INTO sign_in_codes (id, chapter_id, member_id, code_hash, purpose, created_by, created_at, expires_at)
            SELECT $1, $2, $3, $4, $5, $6, $7, $8
            WHERE $5 = 'invitation' OR (SELECT count(*) FROM sign_in_codes
                                        WHERE chapter_id = $2 AND member_id = $3 AND purpose = 'requested' AND created_at > $7 - interval '1 hour') < $9
            """, connection, transaction);
        foreach (var value in new object[] { Guid.CreateVersion7(), chapterId, memberId, Hash(code), invitation ? "invitation" : "requested", createdBy, now, expiresAt,
                     RequestsPerMemberPerHour })
            command.Parameters.Add(new NpgsqlParameter { Value = value });
        var created = await command.ExecuteNonQueryAsync(ct) == 1;
        await transaction.CommitAsync(ct);
        return created ? (code, expiresAt) : null;
    }

    /// <summary>The member a code signs in, once: the code is spent in the same statement. Null when unknown, used or expired.</summary>
    public async Task<(string ChapterId, Guid MemberId)?> SpendAsync(string code, CancellationToken ct)
    {
        await using var command = db.CreateCommand(
            "UPDATE sign_in_codes SET used_at = $2 WHERE code_hash = $1 AND used_at IS NULL AND expires_at > $2 RETURNING chapter_id, member_id");
        command.Parameters.Add(new NpgsqlParameter { Value = Hash(code) });
        command.Parameters.Add(new NpgsqlParameter { Value = clock.GetUtcNow() });
        await using var reader = await command.ExecuteReaderAsync(ct);
        return await reader.ReadAsync(ct) ? (reader.GetString(0), reader.GetGuid(1)) : null;
    }

    /// <summary>The active members, in any chapter, whose notification address is this one.</summary>
    public async Task<IReadOnlyList<(string ChapterId, Guid MemberId)>> MembersWithAddressAsync(string email, CancellationToken ct)
    {
        var members = new List<(string, Guid)>();
        foreach (var database in await databases.AllAsync())
            members.AddRange(await MembersWithAddressAsync(database, email, ct));
        return members;
    }

    private static async Task<IReadOnlyList<(string ChapterId, Guid MemberId)>> MembersWithAddressAsync(ChapterDatabase db, string email, CancellationToken ct)
    {
        await using var command = db.CreateCommand(
            """
            SELECT n.chapter_id, n.member_id FROM notification_settings n
            JOIN member_view m ON m.id = n.member_id AND m.chapter_id = n.chapter_id AND m.status = 'active'
            WHERE lower(n.email) = lower($1)
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = email });
        var members = new List<(string, Guid)>();
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
            members.Add((reader.GetString(0), reader.GetGuid(1)));
        return members;
    }
}

public static class SignInByEmail
{
    public const string RateLimitPolicy = "sign-in";

    public static void MapSignInByEmail(this IEndpointRouteBuilder routes)
    {
        routes.MapPost("/api/chapters/{chapterId}/members/{memberId:guid}/invite", InviteAsync).WithTags("Access")
            .RequireAuthorization(Policies.ManageChapter)
            .WithName("InviteMember").WithSummary("E-mail a member their sign-in link, in their language (leaders and the operator)")
            .WithDescription("The link holds a one-time code that expires in 7 days and is exchanged once for a token on the member's device. " +
                             "Needs the member's e-mail address in their notification settings (422 naming 'email').")
            .ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status422UnprocessableEntity);

        var signIn = routes.MapGroup("/api/signin").WithTags("Access").AllowAnonymous().RequireRateLimiting(RateLimitPolicy);
        signIn.MapPost("/email", RequestLink)
            .WithName("RequestSignInLink").WithSummary("Ask for a sign-in link by e-mail (no token needed)")
            .WithDescription("Always 202: a link goes out only when the address is that of an active member, and neither the answer nor its timing " +
                             "says whether it is. The link's code expires in 15 minutes. Limited per client and per address (429 with Retry-After).")
            .ProducesValidationProblem().ProducesProblem(StatusCodes.Status429TooManyRequests);
        signIn.MapPost("/exchange", ExchangeAsync)
            .WithName("ExchangeSignInCode").WithSummary("Exchange a sign-in link's code for a token (no token needed)")
            .WithDescription("Once per code: a used, expired or unknown code, or one of a member who left, is 400 naming 'code'.")
            .ProducesValidationProblem().ProducesProblem(StatusCodes.Status429TooManyRequests);
    }

    private static async Task<Results<Accepted, ProblemHttpResult>> InviteAsync(string chapterId, Guid memberId, ChapterDatabase db, IMessageBus bus,
        Caller caller, ILogger<SignInCodes> logger, CancellationToken ct)
    {
        if (await MemberProjection.GetAsync(db, chapterId, memberId, ct) is not { } member)
            return Problems.NotFound($"Member {memberId} is not in chapter '{chapterId}'.");
        if (!member.Active)
            return Problems.Unprocessable("memberId", $"Member {memberId} has left the chapter; a member who left cannot sign in.");
        if ((await NotificationSettings.GetAsync(db, chapterId, memberId, ct))?.Choices.Email is null)
            return Problems.Unprocessable("email", "The member has no e-mail address in their notification settings: add it there first.");
        await bus.PublishAsync(new SignInInvitation(chapterId, memberId, caller.Actor));
        logger.LogInformation("Sign-in invitation for member {MemberId} of chapter {ChapterId} asked by {Actor}", memberId, chapterId, caller.Actor);
        return TypedResults.Accepted((string?)null);
    }

    private static async Task<Results<Accepted, ValidationProblem>> RequestLink(SignInEmailRequest body, IMessageBus bus)
    {
        var check = new Validation();
        var email = check.OptionalEmail(body.Email, "email");
        if (email is null)
            check.Add("email", "'email' is required: the address your chapter has for you.");
        if (!check.IsValid)
            return (ValidationProblem)check.Problem();
        await bus.PublishAsync(new SignInLinkRequested(email!));
        return TypedResults.Accepted((string?)null);
    }

    private static async Task<Results<Ok<SignedIn>, ValidationProblem>> ExchangeAsync(SignInExchangeRequest body, SignInCodes codes, AccessTokens tokens,
        ChapterDatabases databases, HttpContext context, ILogger<SignInCodes> logger, CancellationToken ct)
    {
        var check = new Validation();
        var code = check.Text(body.Code, "code", 100);
        if (!check.IsValid)
            return (ValidationProblem)check.Problem();
        if (await codes.SpendAsync(code, ct) is not var (chapterId, memberId)
            || await MemberProjection.GetAsync(await databases.ForChapterAsync(chapterId), chapterId, memberId, ct) is not { Active: true } member)
        {
            check.Add("code", "This sign-in link was used already, has expired, or is not ours: ask for a new one at /signin.");
            return (ValidationProblem)check.Problem();
        }
        var issued = await tokens.IssueAsync(CallerKind.Member, chapterId, memberId, "e-mail link", $"member:{memberId}", ct);
        logger.LogInformation("Token {TokenId} issued for member {MemberId} of chapter {ChapterId} from an e-mailed link", issued.Id, memberId, chapterId);
        context.Response.Headers.CacheControl = "no-store";
        return TypedResults.Ok(new SignedIn(issued.Token, chapterId, memberId, member.Role.ToString().ToLowerInvariant()));
    }
}

/// <summary>Writes and sends the sign-in e-mails: a code is made only here, when the e-mail is about to go out.</summary>
public static class SignInMailHandler
{
    public static void Configure(HandlerChain chain) => NotificationRegistration.WaitOutTheDatabase(chain);

    public static async Task HandleAsync(SignInInvitation invitation, Envelope envelope, SignInCodes codes, ChapterDatabases databases, IMailDelivery mail,
        MailOrigin origin, CancellationToken ct) =>
        await SendAsync(invitation.ChapterId, invitation.MemberId, invitation: true, invitation.InvitedBy, envelope.Id, codes, databases, mail, origin, ct);

    public static async Task HandleAsync(SignInLinkRequested request, Envelope envelope, SignInCodes codes, ChapterDatabases databases, IMailDelivery mail,
        MailOrigin origin, CancellationToken ct)
    {
        var members = await codes.MembersWithAddressAsync(request.Email, ct);
        for (var i = 0; i < members.Count; i++)
        {
            // One Message-ID per membership, the same on every retry of this request.
            var messageId = new Guid(SHA256.HashData([.. envelope.Id.ToByteArray(), (byte)i])[..16]);
            await SendAsync(members[i].ChapterId, members[i].MemberId, invitation: false, "member:self", messageId, codes, databases, mail, origin, ct);
        }
    }

    private static async Task SendAsync(string chapterId, Guid memberId, bool invitation, string createdBy, Guid messageId, SignInCodes codes,
        ChapterDatabases databases, IMailDelivery mail, MailOrigin origin, CancellationToken ct)
    {
        var db = await databases.ForChapterAsync(chapterId);
        if (await MemberProjection.GetAsync(db, chapterId, memberId, ct) is not { Active: true } member
            || (await NotificationSettings.GetAsync(db, chapterId, memberId, ct))?.Choices.Email is not { } address)
            return;
        if (await codes.CreateAsync(chapterId, memberId, invitation, createdBy, ct) is not var (code, _))
            return;
        var chapterName = (await ChapterProjection.GetAsync(db, chapterId, ct))?.Name ?? chapterId;
        var writer = new MailWriter(member.Languages);
        writer.Paragraph(writer.Greeting(member.Name))
            .Paragraph(writer.T(invitation ? "InvitationLead" : "SignInLead", chapterName))
            .Link("SignInAction", origin.Link($"/signin#code={code}"))
            .Paragraph(writer.T(invitation ? "InvitationExpires" : "SignInExpires"))
            .Separator()
            .Paragraph(writer.T("SignInWhy", chapterName));
        await mail.DeliverAsync(writer.Message(origin, [new MailboxAddress(member.Name, address)], writer.T("SignInSubject", chapterName), messageId,
            turnOffLink: null), ct);
    }
}
