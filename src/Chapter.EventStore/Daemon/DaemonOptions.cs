namespace Chapter.EventStore.Daemon;

public sealed record DaemonOptions
{
    /// <summary>Names this process as the leader of its projections in the status.</summary>
    public string NodeId { get; init; } = $"{Environment.MachineName}/{Environment.ProcessId}/{Guid.NewGuid().ToString("N")[..8]}";

    /// <summary>
    /// The most events applied in one transaction. Caught up, batches are as small as what just arrived;
    /// behind (a backlog, a rebuild), large batches let a projection merge what it writes (bench/RESULTS.md).
    /// </summary>
    public int BatchSize { get; init; } = 10_000;

    /// <summary>How long a caught-up projection waits before looking for new events.</summary>
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromMilliseconds(250);

    /// <summary>How often a standby tries to take over a projection.</summary>
    public TimeSpan StandbyPollInterval { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>How often the leader checks that its lock connection (and so its lock) is still alive.</summary>
    public TimeSpan KeepAliveInterval { get; init; } = TimeSpan.FromSeconds(5);

    public TimeSpan MinRetryDelay { get; init; } = TimeSpan.FromMilliseconds(200);
    public TimeSpan MaxRetryDelay { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>An open transaction older than this that holds projections back is reported (and logged) as the cause of lag.</summary>
    public TimeSpan LongTransactionWarning { get; init; } = TimeSpan.FromSeconds(10);
}
