using Chapter.Api.Infrastructure;
using Chapter.Api.Access;
using Chapter.Api.Notifications;
using Chapter.Api.Referrals;
using Chapter.Domain.Members;
using Chapter.Projections;
using Chapter.Projections.Meetings;
using Chapter.Projections.Members;
using Chapter.Projections.OneToOnes;
using Chapter.Projections.Referrals;
using Marten;
using Npgsql;

namespace Chapter.Api.Exports;

/// <summary>A profile as the member wrote it at one moment; the events keep each one.</summary>
public sealed record ProfileVersion(DateTimeOffset ChangedAt, MemberProfile Profile);

/// <summary>The member's notification choices, without the key of their turn-off links.</summary>
public sealed record ExportedNotifications(string? Email, bool ReferralReceived, bool ReferralUpdates, bool WeeklyDigest);

/// <summary>A mark at a meeting, for the member's export.</summary>
public sealed record ExportedAttendance(Guid MeetingId, DateOnly Date, string Status);

/// <summary>A sign-in token of the member: what it was called and when it was used, never the token.</summary>
public sealed record ExportedToken(Guid Id, string Label, DateTimeOffset CreatedAt, DateTimeOffset? LastUsedAt, DateTimeOffset? RevokedAt);

/// <summary>Everything the service holds about one member (GDPR arts. 15 and 20).</summary>
/// <param name="ProfileHistory">Every profile they wrote, oldest first.</param>
/// <param name="Notifications">Null when they never set any.</param>
/// <param name="ReferralsGiven">Newest first, with the prospect's details as the caller may read them.</param>
public sealed record MemberExportDocument(
    DateTimeOffset ExportedAt,
    MemberView Member,
    IReadOnlyList<ProfileVersion> ProfileHistory,
    ExportedNotifications? Notifications,
    IReadOnlyList<ReferralView> ReferralsGiven,
    IReadOnlyList<ReferralView> ReferralsReceived,
    IReadOnlyList<OneToOneView> OneToOnes,
    IReadOnlyList<ExportedAttendance> Attendance,
    IReadOnlyList<ExportedToken> Tokens);

public static class MemberExport
{

    public static async Task<MemberExportDocument?> ReadAsync(ChapterDatabase db, IDocumentStore store, AccessTokens tokens, string chapterId, Guid memberId,
        Caller caller, TimeProvider clock, CancellationToken ct)
    {
        if (await MemberProjection.GetAsync(db, chapterId, memberId, ct) is not { } member)
            return null;

        await using var session = store.QuerySession(chapterId);
        var profiles = (await session.Events.FetchStreamAsync(MemberDecider.StreamId(memberId), token: ct))
            .Where(e => e.Data is MemberProfileChanged)
            .Select(e => (MemberProfileChanged)e.Data)
            .Select(changed => new ProfileVersion(changed.ChangedAt, changed.Profile))
            .ToList();

        var notifications = await NotificationSettings.GetAsync(db, chapterId, memberId, ct) is { } settings
            ? new ExportedNotifications(settings.Choices.Email, settings.Choices.ReferralReceived, settings.Choices.ReferralUpdates, settings.Choices.WeeklyDigest)
            : null;

        var referrals = new List<ReferralView>();
        await foreach (var view in PageRequest.AllAsync(page => ReferralProjection.ListAsync(db, chapterId, null, memberId, page, ct), ChapterExport.ByGiven))
            referrals.Add(ReferralEndpoints.AsSeenBy(caller, view));

        var oneToOnes = new List<OneToOneView>();
        await foreach (var oneToOne in PageRequest.AllAsync(page => OneToOneProjection.ListAsync(db, chapterId, memberId, page, ct), ChapterExport.ByDate))
            oneToOnes.Add(oneToOne);

        var attendance = (await MeetingProjection.AttendanceFactsAsync(db, chapterId, ct))
            .Where(a => a.MemberId == memberId)
            .OrderBy(a => a.HeldOn)
            .Select(a => new ExportedAttendance(a.MeetingId, a.HeldOn, a.Status))
            .ToList();

        var issued = new List<ExportedToken>();
        await foreach (var t in PageRequest.AllAsync(page => tokens.ListAsync(chapterId, CallerKind.Member, memberId, page, ct), t => new PageCursor(t.CreatedAt, t.Id)))
            issued.Add(new ExportedToken(t.Id, t.Label, t.CreatedAt, t.LastUsedAt, t.RevokedAt));

        return new MemberExportDocument(clock.GetUtcNow(), member, profiles, notifications,
            referrals.Where(r => r.GiverId == memberId).ToList(), referrals.Where(r => r.ReceiverId == memberId).ToList(),
            oneToOnes, attendance, issued);
    }
}
