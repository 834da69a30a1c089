namespace Chapter.Domain.Shared;

/// <summary>A domain rule refused a command; the API maps each kind to its HTTP status.</summary>
public abstract class DomainException(string message) : Exception(message);

/// <summary>The command breaks a business rule about its own data (HTTP 422); <see cref="Field"/> names the input at fault.</summary>
public sealed class RuleBroken(string field, string message) : DomainException(message)
{
    public string Field { get; } = field;
}

/// <summary>The command conflicts with what already happened (HTTP 409).</summary>
public sealed class StateConflict(string message) : DomainException(message);

/// <summary>The acting member may not do this (HTTP 403).</summary>
public sealed class NotPermitted(string message) : DomainException(message);

/// <summary>The command addresses something that does not exist (HTTP 404).</summary>
public sealed class NotFound(string message) : DomainException(message);
