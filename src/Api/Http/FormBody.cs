namespace GridDispatch.Api.Http;

/// <summary>Reads form bodies, turning every body the form reader refuses into a 400 on "body".</summary>
public static class FormBody
{
    /// <summary>
    /// The form, or a refusal. The form reader throws InvalidDataException for what it will not parse (a NUL in a key
    /// or value, a key or value over its length limit, too many values, a multipart body without a boundary) and
    /// IOException for a multipart body that ends early; both are the client's input, not a fault, and name no field,
    /// so the refusal names the body. A client that went away is left to the exception handler (logged as aborted).
    /// </summary>
    public static async Task<IFormCollection> ReadAsync(HttpRequest request)
    {
        if (!request.HasFormContentType)
        {
            throw new DomainException(DomainErrors.InvalidInput, "POST bodies are form-encoded (application/x-www-form-urlencoded)", "body");
        }

        if (request.ContentLength > JsonBody.MaxBytes)
        {
            throw new BadHttpRequestException($"The body is larger than {JsonBody.MaxBytes} bytes", StatusCodes.Status413PayloadTooLarge);
        }

        // A chunked body has no length to check up front: the server stops reading it past the limit (413).
        if (request.HttpContext.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } size)
        {
            size.MaxRequestBodySize = JsonBody.MaxBytes;
        }

        IFormCollection form;
        try
        {
            form = await request.ReadFormAsync(new Microsoft.AspNetCore.Http.Features.FormOptions { ValueLengthLimit = JsonBody.MaxBytes, KeyLengthLimit = 2048 },
                request.HttpContext.RequestAborted);
        }
        catch (Exception e) when (e is InvalidDataException || (e is IOException && !request.HttpContext.RequestAborted.IsCancellationRequested))
        {
            throw new DomainException(DomainErrors.InvalidInput, $"The form body cannot be read: {e.Message.TrimEnd()}", "body");
        }

        // The same rule as JSON text: line breaks and tabs, but no other control characters.
        foreach (var (key, values) in form)
        {
            if (values.Any(v => v is not null && JsonBody.HasControlCharacters(v)))
            {
                throw new DomainException(DomainErrors.InvalidInput, "Text may not contain control characters", key);
            }
        }

        return form;
    }
}
