namespace Chapter.Api.Exports;

/// <summary>
/// A ZIP written straight to the answer. .NET's ZIP entry streams write their last compressed block and the entry's
/// trailer synchronously when disposed, even when disposed asynchronously, and Kestrel refuses synchronous writes (a
/// thread blocked per slow client). This holds those few synchronous bytes and sends them with the next asynchronous
/// write or flush, so nothing blocks a thread and nothing but those bytes is held.
/// </summary>
internal sealed class SyncWritesHeldStream(Stream inner) : Stream
{
    private readonly MemoryStream _held = new();

    public override bool CanRead => false;
    public override bool CanSeek => false;
    public override bool CanWrite => true;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override void Write(byte[] buffer, int offset, int count) => _held.Write(buffer, offset, count);
    public override void Write(ReadOnlySpan<byte> buffer) => _held.Write(buffer);

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        await SendHeldAsync(cancellationToken);
        await inner.WriteAsync(buffer, cancellationToken);
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override async Task FlushAsync(CancellationToken cancellationToken)
    {
        await SendHeldAsync(cancellationToken);
        await inner.FlushAsync(cancellationToken);
    }

    /// <summary>Nothing to do synchronously: what is held goes with the next asynchronous call.</summary>
    public override void Flush() { }

    private async Task SendHeldAsync(CancellationToken ct)
    {
        if (_held.Length == 0)
            return;
        await inner.WriteAsync(_held.GetBuffer().AsMemory(0, (int)_held.Length), ct);
        _held.SetLength(0);
    }

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
            _held.Dispose();
        base.Dispose(disposing);
    }
}
