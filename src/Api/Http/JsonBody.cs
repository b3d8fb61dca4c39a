using System.Text.Json;
using System.Text.Json.Serialization;

namespace GridDispatch.Api.Http;

/// <summary>Reads request bodies strictly, turning every JSON problem into a 400 that names the field.</summary>
public static class JsonBody
{
    /// <summary>API JSON: camelCase, enums as camelCase strings (no integers), numbers as numbers, unknown members refused.</summary>
    public static readonly JsonSerializerOptions Options = Configure(new JsonSerializerOptions(JsonSerializerDefaults.Web));

    public static JsonSerializerOptions Configure(JsonSerializerOptions o)
    {
        o.Converters.Add(new JsonStringEnumConverter(JsonNamingPolicy.CamelCase, allowIntegerValues: false));
        o.NumberHandling = JsonNumberHandling.Strict;   // a number is a number ("5" is refused), as the API document says
        o.UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow;
        o.DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull;
        return o;
    }

    /// <summary>Largest JSON body the API reads (64 KiB); a larger one is refused with 413 before it is parsed.</summary>
    public const int MaxBytes = 64 * 1024;

    public static async Task<T> ReadAsync<T>(HttpRequest request)
        where T : class
    {
        if (!request.HasJsonContentType())
        {
            throw new DomainException(DomainErrors.InvalidInput, "Send a JSON body with Content-Type: application/json", "body");
        }

        var bytes = await ReadLimitedAsync(request, MaxBytes);
        try
        {
            using (var document = JsonDocument.Parse(bytes))
            {
                RefuseControlCharacters(document.RootElement, "");
            }

            return JsonSerializer.Deserialize<T>(bytes, Options)
                ?? throw new DomainException(DomainErrors.InvalidInput, "The body is empty or null", "body");
        }
        catch (JsonException ex)
        {
            var field = FieldOf(ex);
            throw new DomainException(DomainErrors.InvalidInput,
                field == "body" ? "The body is not well-formed JSON of the expected shape" : $"'{field}' is malformed, of the wrong type or not a known field",
                field);
        }
    }

    /// <summary>The body, refused with 413 as soon as it is known to be over <paramref name="maxBytes"/> (declared, or as read).</summary>
    public static async Task<byte[]> ReadLimitedAsync(HttpRequest request, int maxBytes)
    {
        if (request.ContentLength > maxBytes)
        {
            throw new BadHttpRequestException($"The body is larger than {maxBytes} bytes", StatusCodes.Status413PayloadTooLarge);
        }

        using var buffer = new MemoryStream();
        var chunk = new byte[8192];
        int read;
        while ((read = await request.Body.ReadAsync(chunk, request.HttpContext.RequestAborted)) > 0)
        {
            if (buffer.Length + read > maxBytes)
            {
                throw new BadHttpRequestException($"The body is larger than {maxBytes} bytes", StatusCodes.Status413PayloadTooLarge);
            }

            buffer.Write(chunk, 0, read);
        }

        return buffer.ToArray();
    }

    /// <summary>Text may hold line breaks and tabs but no other control characters (they corrupt logs, exports and screens).</summary>
    private static void RefuseControlCharacters(JsonElement element, string path)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                foreach (var property in element.EnumerateObject())
                {
                    RefuseControlCharacters(property.Value, path.Length == 0 ? property.Name : $"{path}.{property.Name}");
                }

                break;
            case JsonValueKind.Array:
                var i = 0;
                foreach (var item in element.EnumerateArray())
                {
                    RefuseControlCharacters(item, $"{path}[{i++}]");
                }

                break;
            case JsonValueKind.String:
                if (HasControlCharacters(element.GetString()!))
                {
                    throw new DomainException(DomainErrors.InvalidInput, "Text may not contain control characters", path.Length == 0 ? "body" : path);
                }

                break;
        }
    }

    /// <summary>The rule for every text the API takes (JSON and forms): line breaks and tabs, no other control characters.</summary>
    public static bool HasControlCharacters(string text) =>
        text.Any(c => (char.IsControl(c) && c is not ('\n' or '\r' or '\t')) || c is '\u2028' or '\u2029');

    private static string FieldOf(JsonException ex)
    {
        // An unknown member is reported with the path of its parent object and its name in the message.
        var path = ex.Path is null or "$" ? "" : ex.Path.TrimStart('$', '.');
        var start = ex.Message.IndexOf("JSON property '", StringComparison.Ordinal);
        if (start >= 0)
        {
            start += "JSON property '".Length;
            var end = ex.Message.IndexOf('\'', start);
            if (end > start)
            {
                var name = ex.Message[start..end];
                path = path.Length == 0 || path.EndsWith(name, StringComparison.Ordinal) ? (path.Length == 0 ? name : path) : $"{path}.{name}";
            }
        }

        return path.Length == 0 ? "body" : path;
    }
}
