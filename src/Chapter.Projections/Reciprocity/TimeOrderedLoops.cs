using Chapter.Projections.Activity;

namespace Chapter.Projections.Reciprocity;

/// <summary>
/// Members on a closed loop of help: a chain of referrals X→Y→…→X, each given after the one before, through at
/// least two members besides X and through nobody twice. Help that came back around to X; everyone on the chain
/// is on the loop, whichever of them it started from.
/// </summary>
/// <remarks>
/// Two passes. An earliest-arrival search from every origin and first hop finds most members of a lively chapter
/// in origins × first hops × referrals. It marks only the chains it follows, so a member who lies only on loops
/// it does not follow (X→A, A→M, A→N, N→M, M→X: it reaches M from A and never tries N) is then looked for
/// directly: a depth-first search for a loop through that member, from each origin, pruned by when one can still
/// reach the member and get back to the origin. That search is exact; since its worst case grows exponentially,
/// it stops after <see cref="SearchSteps"/> steps (far beyond any chapter measured), and a member it has not
/// found by then is not counted.
/// </remarks>
internal sealed class TimeOrderedLoops
{
    public const int SearchSteps = 2_000_000;

    private readonly List<Guid> _members = [];
    private readonly int[] _giver, _receiver;
    private readonly long[] _givenAt;
    private readonly int[][] _givenBy; // each member's referrals, in time order
    private readonly bool[] _onLoop;
    private readonly List<int> _wanted;
    private readonly bool[] _isWanted;
    private int _wantedLeft;
    private int _stepsLeft = SearchSteps;

    public static HashSet<Guid> MembersOn(IReadOnlyList<ReferralFact> referralsInTimeOrder, IReadOnlySet<Guid>? wanted = null)
    {
        var loops = new TimeOrderedLoops(referralsInTimeOrder, wanted);
        loops.FollowEarliestArrivals();
        loops.SearchEachMemberNotFound();
        return loops._members.Where((_, number) => loops._onLoop[number]).ToHashSet();
    }

    private TimeOrderedLoops(IReadOnlyList<ReferralFact> referralsInTimeOrder, IReadOnlySet<Guid>? wanted)
    {
        var numbers = new Dictionary<Guid, int>();
        int Number(Guid member)
        {
            if (!numbers.TryGetValue(member, out var number))
            {
                numbers[member] = number = _members.Count;
                _members.Add(member);
            }
            return number;
        }
        var count = referralsInTimeOrder.Count;
        _giver = new int[count];
        _receiver = new int[count];
        _givenAt = new long[count];
        for (var i = 0; i < count; i++)
        {
            _giver[i] = Number(referralsInTimeOrder[i].GiverId);
            _receiver[i] = Number(referralsInTimeOrder[i].ReceiverId);
            _givenAt[i] = referralsInTimeOrder[i].GivenAt.UtcTicks;
        }
        var givenBy = Enumerable.Range(0, _members.Count).Select(_ => new List<int>()).ToArray();
        for (var i = 0; i < count; i++)
            givenBy[_giver[i]].Add(i);
        _givenBy = Array.ConvertAll(givenBy, given => given.ToArray());
        _onLoop = new bool[_members.Count];
        // Only givers can be on a loop; wanted members who never gave are never found, so they are not waited for.
        _wanted = Enumerable.Range(0, _members.Count)
            .Where(m => _givenBy[m].Length > 0 && (wanted is null || wanted.Contains(_members[m])))
            .ToList();
        _isWanted = new bool[_members.Count];
        _wanted.ForEach(m => _isWanted[m] = true);
        _wantedLeft = _wanted.Count;
    }

    private void Mark(int member)
    {
        if (_onLoop[member])
            return;
        _onLoop[member] = true;
        if (_isWanted[member])
            _wantedLeft--;
    }

    private void FollowEarliestArrivals()
    {
        const long unreached = long.MaxValue;
        var count = _giver.Length;
        var arrival = new long[_members.Count];
        var cameFrom = new int[_members.Count];
        var firstHopAt = new int[_members.Count];
        var origins = new bool[_members.Count];
        for (var o = 0; o < count && _wantedLeft > 0; o++)
        {
            var origin = _giver[o];
            if (origins[origin])
                continue;
            origins[origin] = true;

            // The earliest referral from the origin to each first hop: later ones reach nothing more.
            Array.Fill(firstHopAt, -1);
            for (var i = o; i < count; i++)
                if (_giver[i] == origin && _receiver[i] != origin && firstHopAt[_receiver[i]] < 0)
                    firstHopAt[_receiver[i]] = i;

            for (var firstHop = 0; firstHop < _members.Count && _wantedLeft > 0; firstHop++)
            {
                var firstIndex = firstHopAt[firstHop];
                if (firstIndex < 0)
                    continue;
                var startedAt = _givenAt[firstIndex];
                Array.Fill(arrival, unreached);
                arrival[firstHop] = startedAt;
                for (var i = firstIndex + 1; i < count; i++)
                {
                    var from = _giver[i];
                    var at = _givenAt[i];
                    if (at <= startedAt || from == origin || arrival[from] >= at)
                        continue;
                    var to = _receiver[i];
                    if (to == origin)
                    {
                        if (from == firstHop)
                            continue; // X→Y→X only: a swap, not help coming round through the group
                        Mark(origin);
                        for (var member = from; ; member = cameFrom[member])
                        {
                            Mark(member);
                            if (member == firstHop)
                                break;
                        }
                    }
                    else if (arrival[to] == unreached)
                    {
                        arrival[to] = at;
                        cameFrom[to] = from;
                    }
                }
            }
        }
    }

    private void SearchEachMemberNotFound()
    {
        var latestReturn = new long[]?[_members.Count];
        var earliestArrival = new long[]?[_members.Count];
        var onPath = new bool[_members.Count];
        var path = new Stack<int>();
        foreach (var target in _wanted)
        {
            // The target itself first: a loop that starts and ends with it is the likeliest.
            foreach (var origin in Enumerable.Range(0, _members.Count).Where(o => o != target && _givenBy[o].Length > 0).Prepend(target))
            {
                if (_onLoop[target] || _stepsLeft <= 0)
                    break;
                var back = latestReturn[origin] ??= LatestDepartures(origin, origin, null);
                long[] toTarget;
                if (origin == target)
                    toTarget = back;
                else
                {
                    var earliest = earliestArrival[origin] ??= EarliestArrivals(origin);
                    if (earliest[target] >= back[target])
                        continue;
                    toTarget = LatestDepartures(origin, target, back);
                }
                onPath[origin] = true;
                if (LoopFrom(origin, long.MinValue, origin, target, origin == target, back, toTarget, onPath, path))
                {
                    Mark(origin);
                    foreach (var member in path)
                        Mark(member);
                }
                foreach (var member in path)
                    onPath[member] = false;
                path.Clear();
                onPath[origin] = false;
            }
        }
    }

    /// <summary>
    /// A loop from <paramref name="origin"/> through <paramref name="target"/>, continuing from <paramref name="member"/>
    /// reached at <paramref name="at"/>; the members after the origin are left on <paramref name="path"/> when found.
    /// </summary>
    private bool LoopFrom(int member, long at, int origin, int target, bool targetSeen, long[] back, long[] toTarget, bool[] onPath, Stack<int> path)
    {
        var given = _givenBy[member];
        var next = FirstAfter(given, at);
        for (var k = next; k < given.Length; k++)
        {
            if (--_stepsLeft < 0)
                return false;
            var i = given[k];
            var to = _receiver[i];
            var when = _givenAt[i];
            if (to == origin)
            {
                if (targetSeen && path.Count >= 2)
                    return true;
                continue;
            }
            if (onPath[to])
                continue;
            var seen = targetSeen || to == target;
            // Go on only if, ignoring who is already on the path, the target and then the origin can still be reached.
            if (when >= (seen ? back[to] : toTarget[to]))
                continue;
            onPath[to] = true;
            path.Push(to);
            if (LoopFrom(to, when, origin, target, seen, back, toTarget, onPath, path))
                return true;
            path.Pop();
            onPath[to] = false;
        }
        return false;
    }

    /// <summary>The index in <paramref name="given"/> (time-ordered referral numbers) of the first referral given after <paramref name="at"/>.</summary>
    private int FirstAfter(int[] given, long at)
    {
        int low = 0, high = given.Length;
        while (low < high)
        {
            var middle = (low + high) / 2;
            if (_givenAt[given[middle]] > at)
                high = middle;
            else
                low = middle + 1;
        }
        return low;
    }

    /// <summary>
    /// For each member but the origin, the latest time they can give a referral that starts a chain reaching
    /// <paramref name="target"/> without passing through <paramref name="origin"/>; when <paramref name="thenBack"/> is
    /// given, reaching the target early enough to still get back to the origin. <see cref="long.MinValue"/> where there is none.
    /// </summary>
    private long[] LatestDepartures(int origin, int target, long[]? thenBack)
    {
        var latest = new long[_members.Count];
        Array.Fill(latest, long.MinValue);
        var arriveBefore = thenBack is null ? long.MaxValue : thenBack[target];
        for (var i = _giver.Length - 1; i >= 0; i--)
        {
            int from = _giver[i], to = _receiver[i];
            var at = _givenAt[i];
            if (from == origin || from == target)
                continue;
            var continues = to == target ? at < arriveBefore : to != origin && at < latest[to];
            if (continues && at > latest[from])
                latest[from] = at;
        }
        return latest;
    }

    /// <summary>For each member, the earliest time a chain of referrals from <paramref name="origin"/> reaches them without passing through it again.</summary>
    private long[] EarliestArrivals(int origin)
    {
        var earliest = new long[_members.Count];
        Array.Fill(earliest, long.MaxValue);
        for (var i = 0; i < _giver.Length; i++)
        {
            int from = _giver[i], to = _receiver[i];
            if (to == origin)
                continue;
            if ((from == origin || earliest[from] < _givenAt[i]) && _givenAt[i] < earliest[to])
                earliest[to] = _givenAt[i];
        }
        return earliest;
    }
}
