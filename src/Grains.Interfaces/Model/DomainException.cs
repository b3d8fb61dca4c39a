namespace GridDispatch;

/// <summary>Error codes carried by <see cref="DomainException"/>; the API maps them to HTTP statuses.</summary>
public static class DomainErrors
{
    /// <summary>The command is not allowed in the incident's current state (409).</summary>
    public const string IllegalTransition = "illegal-transition";
    /// <summary>The entity was never created (404).</summary>
    public const string NotFound = "not-found";
    /// <summary>A field has a bad value (400); <see cref="DomainException.Field"/> names it.</summary>
    public const string InvalidInput = "invalid-input";
    /// <summary>The actor may not do this (403).</summary>
    public const string NotAllowed = "not-allowed";
    /// <summary>The same key was used for a different request (409).</summary>
    public const string Conflict = "conflict";
}

/// <summary>A refused command. Nothing is changed when it is thrown.</summary>
[GenerateSerializer, Alias("GridDispatch.DomainException")]
public sealed class DomainException : Exception
{
    public DomainException(string code, string message, string? field = null)
        : base(message)
    {
        Code = code;
        Field = field;
    }

    [Id(0)]
    public string Code { get; }

    [Id(1)]
    public string? Field { get; }
}
