using System.Globalization;
using Chapter.Api.Infrastructure;
using Chapter.Api.Reciprocity;
using Chapter.Projections.Activity;
using Chapter.Projections.Chapters;
using Chapter.Projections.Members;
using Chapter.Projections.Reciprocity;
using Marten;
using MimeKit;
using Npgsql;
using Wolverine;
using Wolverine.Marten;
using Wolverine.Runtime.Handlers;

namespace Chapter.Api.Notifications;

/// <summary>A chapter's week has closed in its time zone: its leaders get the week's figures.</summary>
public sealed record WeeklyDigestDue(string ChapterId, string IsoWeek);

/// <summary>One leader's copy of a week's digest: a message of its own, so a failed delivery is retried for that leader alone.</summary>
public sealed record LeaderDigest(string ChapterId, string IsoWeek, Guid LeaderId);

/// <summary>The activity projection has not applied the week's last events yet; the digest waits for it.</summary>
public sealed class WeekNotProjectedYet(string message) : Exception(message);

/// <summary>
/// Looks once a minute (on every node) for chapters whose week has closed since their last digest, and queues it through
/// Wolverine's outbox together with its row in <c>weekly_digests</c>: a second node racing for the same week fails on the
/// row's key, and its message is rolled back with it.
/// </summary>
public sealed class WeeklyDigestSchedule(IServiceProvider services, ChapterDatabases databases, TimeProvider clock, IConfiguration configuration,
    ILogger<WeeklyDigestSchedule> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var every = configuration.GetValue("Chapter:Notifications:DigestCheckEvery", TimeSpan.FromMinutes(1));
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                // Each database on its own: one that does not answer holds up no other's digests.
                foreach (var database in await databases.AllAsync())
                {
                    try
                    {
                        await QueueClosedWeeksAsync(database, stoppingToken);
                    }
                    catch (Exception e) when (e is not OperationCanceledException)
                    {
                        logger.LogWarning(e, "Could not look for closed weeks in database {Database}; trying again in {Every}", database.Name, every);
                    }
                }
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                logger.LogWarning(e, "Could not look for closed weeks; trying again in {Every}", every);
            }
            await Task.Delay(every, clock, stoppingToken).ContinueWith(_ => { }, CancellationToken.None);
        }
    }

    private async Task QueueClosedWeeksAsync(ChapterDatabase db, CancellationToken ct)
    {
        var now = clock.GetUtcNow();
        var due = new List<(string Chapter, string Week)>();
        await using (var command = db.CreateCommand("SELECT c.id, c.time_zone, c.created_at, array(SELECT w.iso_week FROM weekly_digests w WHERE w.chapter_id = c.id) FROM chapter_view c"))
        await using (var reader = await command.ExecuteReaderAsync(ct))
        {
            while (await reader.ReadAsync(ct))
            {
                var (monday, end) = LastClosedWeek(TimeZoneInfo.FindSystemTimeZoneById(reader.GetString(1)), now);
                var week = MemberViews.IsoWeekName(monday);
                // A chapter hears of the weeks it lived through, from the first that closed after it began.
                if (reader.GetFieldValue<DateTimeOffset>(2) < end && !reader.GetFieldValue<string[]>(3).Contains(week))
                    due.Add((reader.GetString(0), week));
            }
        }
        foreach (var (chapter, week) in due)
        {
            // A session of the chapter's (in its database) with Wolverine's outbox enrolled in it: the scoped IMartenOutbox would
            // open a session of no chapter, which there is not with several databases.
            await using var session = services.GetRequiredService<IDocumentStore>().LightweightSession(chapter);
            var outbox = new MartenOutbox(services.GetRequiredService<Wolverine.Runtime.IWolverineRuntime>(), session) { TenantId = chapter };
            session.QueueSqlCommand("INSERT INTO weekly_digests (chapter_id, iso_week) VALUES (?, ?)", chapter, week);
            await outbox.PublishAsync(new WeeklyDigestDue(chapter, week));
            try
            {
                await session.SaveChangesAsync(ct);
                logger.LogInformation("Weekly digest of {Week} queued for chapter {ChapterId}", week, chapter);
            }
            catch (Exception e) when (e.InnerException is PostgresException { SqlState: PostgresErrorCodes.UniqueViolation } || e is PostgresException { SqlState: PostgresErrorCodes.UniqueViolation })
            {
                // Another node queued it first.
            }
        }
    }

    /// <summary>The Monday of the last week that has closed in this time zone, and the moment it closed.</summary>
    public static (DateOnly Monday, DateTimeOffset End) LastClosedWeek(TimeZoneInfo timeZone, DateTimeOffset now)
    {
        var today = DateOnly.FromDateTime(TimeZoneInfo.ConvertTime(now, timeZone).DateTime);
        var thisMonday = today.AddDays(-(((int)today.DayOfWeek + 6) % 7));
        return (thisMonday.AddDays(-7), ChapterFacts.StartOf(thisMonday, timeZone));
    }
}

public static class WeeklyDigestHandler
{
    public static void Configure(HandlerChain chain) => NotificationRegistration.WaitOutTheDatabase(chain);

    /// <summary>A copy for each active leader who wants it and gave an address, once the week's events are all projected.</summary>
    public static async Task<OutgoingMessages> HandleAsync(WeeklyDigestDue due, ChapterDatabases databases, AsyncProjections projections, CancellationToken ct)
    {
        var db = await databases.ForChapterAsync(due.ChapterId);
        var monday = WeeklyReport.ParseIsoWeek(due.IsoWeek)!.Value;
        var chapter = await ChapterProjection.GetAsync(db, due.ChapterId, ct) ?? throw new InvalidOperationException($"No chapter {due.ChapterId}.");
        var end = ChapterFacts.StartOf(monday.AddDays(7), TimeZoneInfo.FindSystemTimeZoneById(chapter.TimeZone)).ToUniversalTime();
        await using (var last = db.CreateCommand("SELECT coalesce(max(seq_id), 0) FROM mt_events WHERE tenant_id = $1 AND timestamp < $2"))
        {
            last.Parameters.Add(new NpgsqlParameter { Value = due.ChapterId });
            last.Parameters.Add(new NpgsqlParameter { Value = end });
            var sequence = (long)(await last.ExecuteScalarAsync(ct))!;
            try
            {
                await projections.WaitForAsync(db, sequence, TimeSpan.FromSeconds(30), ct);
            }
            catch (TimeoutException e)
            {
                throw new WeekNotProjectedYet($"The activity projection is behind event {sequence}: {e.Message}");
            }
        }
        var copies = new OutgoingMessages();
        copies.AddRange((await NotificationSettings.DigestRecipientsAsync(db, due.ChapterId, ct)).Select(leader => new LeaderDigest(due.ChapterId, due.IsoWeek, leader)));
        return copies;
    }

    public static async Task HandleAsync(LeaderDigest digest, Envelope envelope, ChapterDatabases databases, IMailDelivery mail, MailOrigin origin, CancellationToken ct)
    {
        var db = await databases.ForChapterAsync(digest.ChapterId);
        if (await NotificationSettings.GetAsync(db, digest.ChapterId, digest.LeaderId, ct) is not { } settings || !settings.Choices.Wants(NoticeKind.WeeklyDigest))
            return;
        if (await MemberProjection.GetAsync(db, digest.ChapterId, digest.LeaderId, ct) is not { Active: true } leader)
            return;
        var chapter = (await ChapterProjection.GetAsync(db, digest.ChapterId, ct))!;
        var facts = (await ReciprocityEndpoints.FactsAsync(db, digest.ChapterId, ct))!.Value.Facts with
        {
            Attendance = await Chapter.Projections.Meetings.MeetingProjection.AttendanceFactsAsync(db, digest.ChapterId, ct),
        };
        var report = WeeklyReport.Compute(facts, WeeklyReport.ParseIsoWeek(digest.IsoWeek)!.Value);
        await mail.DeliverAsync(Compose(report, leader, settings, chapter.Name, origin, envelope.Id), ct);
    }

    private static MimeMessage Compose(WeeklyReportView report, MemberView leader, MemberNotifications settings, string chapterName, MailOrigin origin, Guid id)
    {
        var mail = new MailWriter(leader.Languages);
        var counts = report.Counts;
        string Count(int n) => n.ToString(mail.Culture);
        mail.Paragraph(mail.Greeting(leader.Name))
            .Paragraph(mail.T("DigestLead", report.Week, chapterName))
            .Facts(
                (mail.T("DigestGiven"), Count(counts.Given)),
                (mail.T("DigestAccepted"), Count(counts.Accepted)),
                (mail.T("DigestWon"), Count(counts.ClosedWon)),
                (mail.T("DigestValue"), report.ClosedValue.Count == 0 ? null
                    : string.Join(", ", report.ClosedValue.Select(v => string.Format(mail.Culture, "{0:#,0.##} {1}", v.Amount, v.Currency)))),
                (mail.T("DigestThanked"), Count(counts.Thanked)),
                (mail.T("DigestOneToOnes"), Count(counts.OneToOnes)),
                (mail.T("DigestNewTies"), Count(counts.NewTies)))
            .Paragraph(mail.T("DigestNudges", report.Nudges.WaitingForAcceptance.Count, report.Nudges.WonNotThanked.Count, report.Nudges.NotReferredLately.Count))
            .Link("DigestAction", origin.Link($"/chapters/{Uri.EscapeDataString(report.ChapterId)}/reports/weekly/{report.Week}"))
            .Separator()
            .Paragraph(mail.T("WhyFooter", chapterName));
        var turnOff = origin.TurnOffLink(settings, NoticeKind.WeeklyDigest);
        mail.Link("TurnOffWeeklyDigest", turnOff);
        return mail.Message(origin, [new MailboxAddress(leader.Name, settings.Choices.Email!)], mail.T("DigestSubject", chapterName, report.Week), id, turnOff);
    }
}
