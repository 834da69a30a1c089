using System.Buffers.Binary;

namespace Chapter.Projections;

/// <summary>Where a page of a list ends: the sort key of its last item (a moment and an id), opaque to clients.</summary>
public readonly record struct PageCursor(DateTimeOffset At, Guid Id)
{
    public string Encode()
    {
        Span<byte> bytes = stackalloc byte[24];
        BinaryPrimitives.WriteInt64BigEndian(bytes, At.UtcTicks);
        Id.TryWriteBytes(bytes[8..], bigEndian: true, out _);
        return Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
    }

    public static bool TryDecode(string text, out PageCursor cursor)
    {
        cursor = default;
        if (text.Length != 32)
            return false;
        Span<byte> bytes = stackalloc byte[24];
        if (!Convert.TryFromBase64String(text.Replace('-', '+').Replace('_', '/'), bytes, out var written) || written != 24)
            return false;
        var ticks = BinaryPrimitives.ReadInt64BigEndian(bytes);
        if (ticks < DateTimeOffset.MinValue.UtcTicks || ticks > DateTimeOffset.MaxValue.UtcTicks)
            return false;
        cursor = new PageCursor(new DateTimeOffset(ticks, TimeSpan.Zero), new Guid(bytes[8..], bigEndian: true));
        return true;
    }
}

/// <summary>A page asked for: at most <see cref="Limit"/> items after <see cref="After"/> (from the start when null).</summary>
public sealed record PageRequest(int Limit, PageCursor? After)
{
    public const int DefaultLimit = 50;
    public const int MaxLimit = 500;

    public static PageRequest First { get; } = new(DefaultLimit, null);

    /// <summary>
    /// Every row of a paged read, a page at a time (for exports, which hold one page, not the whole list): <paramref name="key"/>
    /// is the sort key the read pages by.
    /// </summary>
    public static async IAsyncEnumerable<T> AllAsync<T>(Func<PageRequest, Task<(IReadOnlyList<T> Items, string? Next)>> read, Func<T, PageCursor> key,
        int pageSize = MaxLimit)
    {
        for (var page = new PageRequest(pageSize, null); ;)
        {
            var (items, next) = await read(page);
            foreach (var item in items)
                yield return item;
            if (next is null || items.Count == 0)
                yield break;
            page = new PageRequest(pageSize, key(items[^1]));
        }
    }

    /// <summary>Read one row more than the page holds: it says whether there is a next page.</summary>
    public int RowsToRead => Limit + 1;

    public object AfterAt => (object?)After?.At ?? DBNull.Value;
    public object AfterId => (object?)After?.Id ?? DBNull.Value;

    /// <summary>The page out of the rows read, and the cursor of the next page (null on the last).</summary>
    public (IReadOnlyList<T> Items, string? Next) Cut<T>(IReadOnlyList<T> rows, Func<T, PageCursor> key) =>
        rows.Count > Limit ? (rows.Take(Limit).ToList(), key(rows[Limit - 1]).Encode()) : (rows, null);
}
