namespace Chapter.Projections.Tests;

public sealed class PagingSpecs
{
    [Fact]
    public async Task Every_row_of_a_paged_read_comes_once_in_order_across_pages()
    {
        var start = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
        var rows = Enumerable.Range(0, 1_203).Select(i => (At: start.AddMinutes(i), Id: Guid.NewGuid())).ToList();
        var reads = 0;
        Task<(IReadOnlyList<(DateTimeOffset At, Guid Id)> Items, string? Next)> Read(PageRequest page)
        {
            reads++;
            var after = rows.Where(r => page.After is not { } cursor || r.At > cursor.At).Take(page.RowsToRead).ToList();
            return Task.FromResult(page.Cut(after, r => new PageCursor(r.At, r.Id)));
        }

        var all = new List<(DateTimeOffset At, Guid Id)>();
        await foreach (var row in PageRequest.AllAsync(Read, r => new PageCursor(r.At, r.Id)))
            all.Add(row);

        all.ShouldBe(rows);
        reads.ShouldBe(3, "500, 500 and 203 rows");
    }
}
