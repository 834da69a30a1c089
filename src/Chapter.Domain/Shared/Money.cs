namespace Chapter.Domain.Shared;

/// <summary>An amount in an ISO 4217 currency. Amounts in different currencies are never added together.</summary>
public sealed record Money(decimal Amount, string Currency);
