namespace Chapter.Domain.Shared;

/// <summary>
/// A decider's state knows the stream it was folded from, so the event store can hand it to a write as it is.
/// Evolve functions need not keep it: whoever folds the stream sets it.
/// </summary>
public abstract record DeciderState
{
    public string Id { get; init; } = "";
}
