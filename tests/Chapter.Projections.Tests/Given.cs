using Chapter.Domain.Referrals;
using Chapter.Domain.Shared;
using Chapter.Projections.Activity;

namespace Chapter.Projections.Tests;

/// <summary>Hand-made chapter histories: members by letter, referrals as "A→B" at a day offset.</summary>
public sealed class Given
{
    public static readonly DateTimeOffset Day0 = new(2026, 9, 7, 8, 0, 0, TimeSpan.Zero); // a Monday

    private readonly List<MemberFact> _members = [];
    private readonly List<ReferralFact> _referrals = [];
    private readonly List<OneToOneFact> _oneToOnes = [];
    private readonly List<AttendanceFact> _attendance = [];
    private readonly List<VisitorFact> _visitors = [];
    private readonly string _timeZone;

    private Given(string timeZone, string members)
    {
        _timeZone = timeZone;
        foreach (var letter in members)
            _members.Add(new MemberFact(Id(letter), letter.ToString(), Day0.AddDays(-365), null));
    }

    public static Given AChapter(string members, string timeZone = "Europe/Stockholm") => new(timeZone, members);

    public static Guid Id(char letter) => new($"00000000-0000-0000-0000-0000000000{(int)letter:x2}");

    /// <summary>"A→B" given at <paramref name="day"/> days (and <paramref name="hours"/>) after Day0.</summary>
    public Given Referral(string edge, double day, double hours = 0, Func<ReferralFact, ReferralFact>? then = null)
    {
        var fact = new ReferralFact(Guid.NewGuid(), Id(edge[0]), Id(edge[^1]), Day0.AddDays(day).AddHours(hours), null, null, null, null, null, null);
        _referrals.Add(then is null ? fact : then(fact));
        return this;
    }

    public Given WonAndThanked(string edge, double day, decimal amount, string currency, double? thankedAfterDays)
    {
        var given = Day0.AddDays(day);
        _referrals.Add(new ReferralFact(Guid.NewGuid(), Id(edge[0]), Id(edge[^1]), given, given.AddHours(5), null, given.AddDays(3),
            Outcome.Won, new Money(amount, currency), thankedAfterDays is { } d ? given.AddDays(3 + d) : null));
        return this;
    }

    public Given OneToOne(string pair, DateOnly date)
    {
        _oneToOnes.Add(new OneToOneFact(Guid.NewGuid(), Id(pair[0]), Id(pair[^1]), date));
        return this;
    }

    public Given Left(char member, double day)
    {
        var index = _members.FindIndex(m => m.Id == Id(member));
        _members[index] = _members[index] with { LeftAt = Day0.AddDays(day) };
        return this;
    }

    public Given Joined(char member, double day)
    {
        _members.Add(new MemberFact(Id(member), member.ToString(), Day0.AddDays(day), null));
        return this;
    }

    /// <summary>A meeting on <paramref name="date"/>, with each member's mark: "A:present B:absent".</summary>
    public Given Meeting(DateOnly date, string marks)
    {
        var meeting = Guid.NewGuid();
        foreach (var mark in marks.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            _attendance.Add(new AttendanceFact(meeting, date, Id(mark[0]), mark[2..]));
        return this;
    }

    /// <summary>A visitor invited by <paramref name="by"/> who came <paramref name="day"/> days after Day0, followed up some days later or never.</summary>
    public Given Visitor(char by, double day, double? followedUpAfterDays = null)
    {
        var came = Day0.AddDays(day);
        _visitors.Add(new VisitorFact(Guid.NewGuid(), "Florist", Id(by), came, followedUpAfterDays is { } d ? came.AddDays(d) : null));
        return this;
    }

    public ChapterFacts Facts(int halfLifeDays = 90) =>
        new("test", TimeZoneInfo.FindSystemTimeZoneById(_timeZone), "SEK", halfLifeDays, _members, _referrals, _oneToOnes)
        {
            Attendance = _attendance,
            Visitors = _visitors,
        };
}
