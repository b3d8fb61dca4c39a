using System.Text.Json;
using System.Text.Json.Serialization;

namespace GridDispatch.Api.Http;

/// <summary>Reads request bodies strictly, turning every JSON problem into a 400 that names the field.</summary>
public static class JsonBody
{
    /// <summary>API JSON: camelCase, enums as camelCase strings (no integers), unknown members refused.</summary>
    public static readonly JsonSerializerOptions Options = Configure(new JsonSerializerOptions(JsonSerializerDefaults.Web));

    public static JsonSerializerOptions Configure(JsonSerializerOptions o)
    {
        o.Converters.Add(new JsonStringEnumConverter(JsonNamingPolicy.CamelCase, allowIntegerValues: false));
        o.UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow;
        o.DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull;
        return o;
    }

    public static async Task<T> ReadAsync<T>(HttpRequest request)
        where T : class
    {
        if (!request.HasJsonContentType())
        {
            throw new DomainException(DomainErrors.InvalidInput, "Send a JSON body with Content-Type: application/json", "body");
        }

        try
        {
            return await JsonSerializer.DeserializeAsync<T>(request.Body, Options, request.HttpContext.RequestAborted)
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
