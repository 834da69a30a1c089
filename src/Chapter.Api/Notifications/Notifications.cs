using Chapter.Api.Infrastructure;
using Chapter.Projections.Chapters;
using Chapter.Projections.Members;
using Chapter.Projections.Referrals;
using MimeKit;
using Npgsql;
using Wolverine;
using Wolverine.ErrorHandling;
using Wolverine.Runtime.Handlers;

namespace Chapter.Api.Notifications;

/// <summary>Turns a referral's notice into an e-mail to the member, if they want that kind and gave an address.</summary>
public static class ReferralNoticeHandler
{
    public static void Configure(HandlerChain chain) => NotificationRegistration.WaitOutTheDatabase(chain);

    public static async Task HandleAsync(ReferralNotice notice, Envelope envelope, ChapterDatabases databases, IMailDelivery mail, MailOrigin origin,
        CancellationToken ct)
    {
        var db = await databases.ForChapterAsync(notice.ChapterId);
        if (await NotificationSettings.GetAsync(db, notice.ChapterId, notice.RecipientId, ct) is not { } settings || !settings.Choices.Wants(notice.Kind))
            return;
        var members = await MemberProjection.GetManyAsync(db, notice.ChapterId, [notice.RecipientId, notice.FromMemberId], ct);
        if (members.FirstOrDefault(m => m.Id == notice.RecipientId) is not { Active: true } recipient)
            return;
        var fromName = members.FirstOrDefault(m => m.Id == notice.FromMemberId)?.Name ?? "?";
        var chapterName = (await ChapterProjection.GetAsync(db, notice.ChapterId, ct))?.Name ?? notice.ChapterId;
        // The envelope's id is the same on every attempt, so the Message-ID is too, and a receiving server can drop a repeat.
        await mail.DeliverAsync(ReferralMail.Compose(notice, recipient, settings, fromName, chapterName, origin, envelope.Id), ct);
    }
}

/// <summary>The giver asked for the introduction e-mail: cascaded with the <see cref="Chapter.Domain.Referrals.ReferralIntroduced"/> event.</summary>
public sealed record IntroductionRequested(string ChapterId, Guid ReferralId, Guid GiverId, Guid ReceiverId, string? Line);

public static class IntroductionHandler
{
    public static void Configure(HandlerChain chain) => NotificationRegistration.WaitOutTheDatabase(chain);

    public static async Task HandleAsync(IntroductionRequested request, Envelope envelope, ChapterDatabases databases, IMailDelivery mail, MailOrigin origin,
        ILogger<IntroductionRequested> logger, CancellationToken ct)
    {
        var db = await databases.ForChapterAsync(request.ChapterId);
        // Read now: a prospect erased since it was asked for leaves nobody to write to, and that is as it should be; a referral
        // passed on goes to the member it is with now.
        if (await ReferralProjection.GetAsync(db, request.ChapterId, request.ReferralId, ct) is not { } referral)
            return;
        var (introduction, missing) = await IntroductionMail.ForAsync(db, referral, request.Line, origin, envelope.Id, ct);
        if (introduction is null)
        {
            logger.LogInformation("Introduction of referral {ReferralId} not sent: {Field} is missing now", request.ReferralId, missing!.Field);
            return;
        }
        await mail.DeliverAsync(introduction, ct);
    }
}

/// <summary>A member left the chapter: cascaded with <see cref="Chapter.Domain.Members.MemberLeft"/>.</summary>
public sealed record MemberLeftChapter(string ChapterId, Guid MemberId);

/// <summary>
/// Referrals still given to a member who left would wait for good: each giver hears of theirs, with what they can do (pass it to
/// another member, or take it back), and their page flags it.
/// </summary>
public static class StrandedReferralsHandler
{
    public static void Configure(HandlerChain chain) => NotificationRegistration.WaitOutTheDatabase(chain);

    public static async Task<IEnumerable<ReferralNotice>> HandleAsync(MemberLeftChapter left, ChapterDatabases databases, CancellationToken ct) =>
        (await ReferralProjection.WaitingForAsync(await databases.ForChapterAsync(left.ChapterId), left.ChapterId, left.MemberId, ct))
            .Select(r => new ReferralNotice(r.ChapterId, r.Id, r.GiverId, left.MemberId, ReferralStep.Stranded, r.Need, r.Temperature, r.Language));
}

public static class NotificationRegistration
{
    public const string Queue = "notifications";

    /// <summary>Delays between attempts to deliver one e-mail: short ones inline, long ones scheduled in the durable inbox.</summary>
    private static readonly TimeSpan[] DefaultRetryDelays =
        [TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(30), TimeSpan.FromMinutes(2), TimeSpan.FromMinutes(10),
         TimeSpan.FromMinutes(30), TimeSpan.FromHours(1), TimeSpan.FromHours(3), TimeSpan.FromHours(6), TimeSpan.FromHours(12)];

    public static void AddChapterNotifications(this WebApplicationBuilder builder)
    {
        var configuration = builder.Configuration;
        var publicUrl = configuration["Chapter:PublicUrl"]?.TrimEnd('/') ?? configuration["urls"]?.Split(';')[0] ?? "http://localhost:5000";
        var from = configuration["Chapter:Smtp:From"] is { Length: > 0 } configured ? MailboxAddress.Parse(configured) : new MailboxAddress("Chapter", "chapter@localhost");
        builder.Services.AddSingleton(new MailOrigin(from, publicUrl));
        builder.Services.AddHostedService<WeeklyDigestSchedule>();

        if (configuration["Chapter:Smtp:Host"] is { Length: > 0 } host)
        {
            var useTls = configuration.GetValue("Chapter:Smtp:UseTls", true);
            var smtp = new SmtpSettings(host, configuration.GetValue("Chapter:Smtp:Port", useTls ? 587 : 25),
                configuration["Chapter:Smtp:User"], configuration["Chapter:Smtp:Password"], useTls);
            builder.Services.AddSingleton<IMailDelivery>(services => new SmtpDelivery(smtp, services.GetRequiredService<Webhooks.DeliveryMetrics>()));
        }
        else
        {
            var directory = configuration["Chapter:Mail:PickupDirectory"]
                            ?? Path.Combine(EmbeddedPostgres.FindRepositoryRoot(builder.Environment.ContentRootPath) ?? Directory.GetCurrentDirectory(), ".data", "mail");
            builder.Services.AddSingleton<IMailDelivery>(services =>
                new PickupDirectoryDelivery(directory, services.GetRequiredService<ILogger<PickupDirectoryDelivery>>()));
        }
    }

    /// <summary>A database that blinks (a restart, a failover) must not dead-letter a notice: its handler waits it out.</summary>
    public static void WaitOutTheDatabase(HandlerChain chain) =>
        chain.OnException<NpgsqlException>(e => e.IsTransient).Or<TimeoutException>()
            .RetryWithCooldown(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(30))
            .Then.ScheduleRetry(TimeSpan.FromMinutes(2), TimeSpan.FromMinutes(10), TimeSpan.FromMinutes(30), TimeSpan.FromHours(2));

    /// <summary>Notices wait in a durable local queue; a delivery that fails is retried with backoff, then dead-lettered.</summary>
    public static void RouteNotifications(this WolverineOptions options, IConfiguration configuration)
    {
        options.Discovery.IncludeType(typeof(ReferralNoticeHandler)).IncludeType(typeof(IntroductionHandler)).IncludeType(typeof(WeeklyDigestHandler))
            .IncludeType(typeof(StrandedReferralsHandler)).IncludeType(typeof(Access.SignInMailHandler))
            .IncludeType(typeof(Members.ForgetMemberHandler));
        options.PublishMessage<ReferralNotice>().ToLocalQueue(Queue);
        options.PublishMessage<MemberLeftChapter>().ToLocalQueue(Queue);
        options.PublishMessage<Members.ForgetMember>().ToLocalQueue(Queue);
        options.PublishMessage<Access.SignInInvitation>().ToLocalQueue(Queue);
        options.PublishMessage<Access.SignInLinkRequested>().ToLocalQueue(Queue);
        options.PublishMessage<IntroductionRequested>().ToLocalQueue(Queue);
        options.PublishMessage<WeeklyDigestDue>().ToLocalQueue(Queue);
        options.PublishMessage<LeaderDigest>().ToLocalQueue(Queue);
        options.OnException<WeekNotProjectedYet>().ScheduleRetry(TimeSpan.FromSeconds(30), TimeSpan.FromMinutes(2), TimeSpan.FromMinutes(10), TimeSpan.FromMinutes(30))
            .Then.MoveToErrorQueue();
        var delays = configuration.GetSection("Chapter:Mail:RetryDelays").Get<TimeSpan[]>() is { Length: > 0 } configured ? configured : DefaultRetryDelays;
        var inline = delays.TakeWhile(d => d <= TimeSpan.FromMinutes(1)).ToArray();
        var scheduled = delays.Skip(inline.Length).ToArray();
        var retry = options.OnException<MailNotDelivered>(e => e.MayRecover);
        if (inline.Length > 0 && scheduled.Length > 0)
            retry.RetryWithCooldown(inline).Then.ScheduleRetry(scheduled).Then.MoveToErrorQueue();
        else if (inline.Length > 0)
            retry.RetryWithCooldown(inline).Then.MoveToErrorQueue();
        else
            retry.ScheduleRetry(scheduled).Then.MoveToErrorQueue();
        options.OnException<MailNotDelivered>(e => !e.MayRecover).MoveToErrorQueue();
    }
}
