namespace GridDispatch.Api.Http;

/// <summary>The Idempotency-Key header of a command: empty when absent, refused past 128 characters.</summary>
public static class IdempotencyKey
{
    public const string Header = "Idempotency-Key";

    public static string Of(HttpRequest request)
    {
        var key = request.Headers[Header].ToString();
        return key.Length <= 128
            ? key : throw new DomainException(DomainErrors.InvalidInput, "The Idempotency-Key is longer than 128 characters", Header);
    }
}
