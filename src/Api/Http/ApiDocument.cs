using System.Text.Json;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.AspNetCore.Routing;
using Microsoft.OpenApi;

namespace GridDispatch.Api.Http;

/// <summary>
/// The API document at <c>/openapi/v1.json</c> (browsable at <c>/docs</c>), in one place: its title and bearer scheme,
/// an operation id, tag and security requirement per route, and the problem answers each kind of route can give.
/// </summary>
/// <remarks>
/// OpenAPI 3.0 rather than ASP.NET Core's default 3.1: the client generators a city's integrators use (NSwag, Kiota,
/// openapi-generator) all read 3.0, not all read 3.1's type arrays. Routes that read their body by hand (to name the bad
/// field in a 400) declare it with <see cref="Takes{T}"/>.
/// </remarks>
public static class ApiDocument
{
    public const string Name = "v1";
    public const string Path = "/openapi/v1.json";
    private const string Bearer = "bearer";

    public static IServiceCollection AddGridDispatchOpenApi(this IServiceCollection services) => services.AddOpenApi(Name, o =>
    {
        o.OpenApiVersion = OpenApiSpecVersion.OpenApi3_0;
        o.AddDocumentTransformer((document, _, _) =>
        {
            document.Info = new OpenApiInfo
            {
                Title = "GridDispatch API",
                Version = "v1",
                Description = "Dispatch for city grid management: intake, the incident loop, regions and workers, emergency operation, "
                    + "the household register, photos, the public board and Open311. Refusals are problem details (RFC 9457) whose "
                    + "'field' names the input at fault; Open311 routes answer in GeoReport v2's own error shape.",
            };
            document.Servers?.Clear();      // the document is served by the host it describes: relative to it
            document.Components ??= new OpenApiComponents();
            document.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>();
            document.Components.SecuritySchemes[Bearer] = new OpenApiSecurityScheme
            {
                Type = SecuritySchemeType.Http,
                Scheme = "bearer",
                BearerFormat = "JWT",
                Description = "A token of the city's issuer (or, on a developer's machine, of POST /dev/token).",
            };
            foreach (var schema in document.Components.Schemas?.Values.OfType<OpenApiSchema>() ?? [])
            {
                NullableAsOmitted(schema, document.Components.Schemas!);
                if (schema is { Type: null, Enum: { Count: > 0 } values } && values.All(v => v is null || v.GetValueKind() is JsonValueKind.String or JsonValueKind.Null))
                {
                    // Enums are written as camelCase strings: without a type, generators make them integers. A shared enum
                    // that was first met as nullable lists null as a value; where a member may be null, the member says so.
                    schema.Type = JsonSchemaType.String;
                    schema.Enum = [.. values.Where(v => v is not null && v.GetValueKind() == JsonValueKind.String)];
                }
            }

            return Task.CompletedTask;
        });
        o.AddOperationTransformer(DescribeBody);
        o.AddOperationTransformer((operation, context, _) =>
        {
            var endpoint = context.Description;
            operation.OperationId ??= OperationId(endpoint.HttpMethod ?? "GET", endpoint.RelativePath ?? "");
            if (!endpoint.ActionDescriptor.EndpointMetadata.OfType<IAllowAnonymous>().Any())
            {
                operation.Security = [new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(Bearer, context.Document)] = [] }];
            }

            return Task.CompletedTask;
        });
        o.AddSchemaTransformer((schema, context, _) =>
        {
            // Open311 answers with its own (snake_case) serializer options, not the API's camelCase ones.
            if (context.JsonTypeInfo.Type.Name.StartsWith("Open311", StringComparison.Ordinal) && schema.Properties is { Count: > 0 } properties)
            {
                schema.Properties = properties.ToDictionary(p => JsonNamingPolicy.SnakeCaseLower.ConvertName(p.Key), p => p.Value);
                if (schema.Required is { Count: > 0 } required)
                {
                    schema.Required = required.Select(JsonNamingPolicy.SnakeCaseLower.ConvertName).ToHashSet();
                }
            }

            return Task.CompletedTask;
        });
    });

    /// <summary>
    /// The API leaves nulls out of what it writes (and reads a missing member as null), so a nullable member is not
    /// required; and a nullable reference is written in 3.0's own idiom (nullable + allOf) instead of a oneOf with a null
    /// enum, which generators turn into a type of its own.
    /// </summary>
    private static void NullableAsOmitted(OpenApiSchema schema, IDictionary<string, IOpenApiSchema> components)
    {
        if (schema.Properties is not { Count: > 0 } properties)
        {
            return;
        }

        foreach (var (name, property) in properties.ToList())
        {
            if (property is OpenApiSchema { OneOf: { Count: 2 } choices } && choices.Count(IsNull) == 1 && choices.Single(c => !IsNull(c)) is OpenApiSchemaReference target)
            {
                properties[name] = new OpenApiSchema { AllOf = [target], Type = JsonSchemaType.Null
                    | (target.Reference.Id is { } id && components.TryGetValue(id, out var shared) ? shared.Type ?? JsonSchemaType.Null : JsonSchemaType.Object) };
            }

            if (properties[name] is { Type: { } type } && type.HasFlag(JsonSchemaType.Null))
            {
                schema.Required?.Remove(name);
            }
        }

        static bool IsNull(IOpenApiSchema choice) => choice.Type == JsonSchemaType.Null || choice.Enum is { Count: 1 } only && only[0] is null;
    }

    /// <summary>
    /// The body a route reads by hand (JSON unless told), for the document only. Not <c>Accepts</c>: its content types
    /// also make routing answer a wrong one with a bare 415 before the route can answer with the field at fault, and
    /// refuse a body the route takes as optional. This metadata names the type and no content type, which routing ignores.
    /// </summary>
    public static RouteHandlerBuilder Takes<T>(this RouteHandlerBuilder builder, params string[] contentTypes) where T : notnull =>
        builder.WithMetadata(new DocumentedBody(typeof(T), contentTypes));

    /// <summary>What <see cref="Takes{T}"/> leaves: a request type for the API explorer, its content types for the document.</summary>
    public sealed class DocumentedBody(Type type, string[] documented) : IAcceptsMetadata
    {
        public IReadOnlyList<string> ContentTypes => [];

        public Type? RequestType => type;

        public bool IsOptional => false;

        public IReadOnlyList<string> Documented => documented;
    }

    /// <summary>The explorer describes a body of no named content type as JSON: a route that reads another gets its own.</summary>
    private static Task DescribeBody(OpenApiOperation operation, OpenApiOperationTransformerContext context, CancellationToken _)
    {
        if (context.Description.ActionDescriptor.EndpointMetadata.OfType<DocumentedBody>().LastOrDefault() is { Documented.Count: > 0 } body
            && operation.RequestBody is OpenApiRequestBody { Content: { Count: > 0 } content } request)
        {
            var described = content.Values.First();
            if (body.RequestType == typeof(string) || body.RequestType == typeof(byte[]))
            {
                described = new OpenApiMediaType { Schema = new OpenApiSchema { Type = JsonSchemaType.String, Format = body.RequestType == typeof(byte[]) ? "binary" : null } };
            }

            request.Content = body.Documented.ToDictionary(t => t, _ => described);
        }

        return Task.CompletedTask;
    }

    /// <summary>
    /// The problem answers every route under <paramref name="builder"/> can give, decided from what each route is once all
    /// its own conventions have run: 400 (a bad value), 401/403 unless it is anonymous, 404 when it names something by a
    /// route value, 409 for commands, 413 when it takes a body, 429 (the global limiter) and 503 (the engine busy or moving).
    /// </summary>
    public static TBuilder WithProblems<TBuilder>(this TBuilder builder, Type? shape = null) where TBuilder : IEndpointConventionBuilder
    {
        var type = shape ?? typeof(Problem);
        var contentType = shape is null ? "application/problem+json" : "application/json";
        builder.Finally(endpoint =>
        {
            if (endpoint is not RouteEndpointBuilder route)
            {
                return;
            }

            var metadata = endpoint.Metadata;
            var method = metadata.OfType<HttpMethodMetadata>().FirstOrDefault()?.HttpMethods.FirstOrDefault() ?? "GET";
            var anonymous = metadata.OfType<IAllowAnonymous>().Any();
            var declared = metadata.OfType<IProducesResponseTypeMetadata>().Select(m => m.StatusCode).ToHashSet();
            var statuses = new List<int> { StatusCodes.Status400BadRequest };
            if (!anonymous)
            {
                statuses.Add(StatusCodes.Status401Unauthorized);
                statuses.Add(StatusCodes.Status403Forbidden);
            }

            if (route.RoutePattern.Parameters.Count > 0 || route.RoutePattern.RawText?.StartsWith("/dev", StringComparison.Ordinal) == true)
            {
                statuses.Add(StatusCodes.Status404NotFound);
            }

            if (method is not ("GET" or "HEAD"))
            {
                statuses.Add(StatusCodes.Status409Conflict);
            }

            if (metadata.OfType<IAcceptsMetadata>().Any())
            {
                statuses.Add(StatusCodes.Status413PayloadTooLarge);
            }

            statuses.Add(StatusCodes.Status429TooManyRequests);
            statuses.Add(StatusCodes.Status503ServiceUnavailable);
            foreach (var status in statuses.Where(s => !declared.Contains(s)))
            {
                metadata.Add(new ProducesResponseTypeMetadata(status, type, [contentType]));
            }
        });
        return builder;
    }

    /// <summary>A stable operation id from the route: POST /api/incidents/{id}/{action} → postIncidentsByIdByAction (segments after /api or /open311/v2).</summary>
    internal static string OperationId(string method, string relativePath)
    {
        var name = new System.Text.StringBuilder(method.ToLowerInvariant());
        foreach (var segment in relativePath.Split('/', StringSplitOptions.RemoveEmptyEntries).SkipWhile(s => s is "api" or "open311" or "v2"))
        {
            var part = segment.StartsWith('{') ? "by-" + segment.Trim('{', '}').Split(':')[0] : segment;
            foreach (var word in part.Split('-', '.', '_').Where(w => w.Length > 0))
            {
                name.Append(char.ToUpperInvariant(word[0])).Append(word.AsSpan(1));
            }
        }

        return name.ToString();
    }

    /// <summary>A refusal as the API writes it (RFC 9457 problem details with the field at fault).</summary>
    /// <param name="Title">The refusal's code: invalid-input, not-found, not-allowed, conflict, illegal-transition, unavailable…</param>
    /// <param name="Field">The input at fault (a body field, a query or route value, a header), when there is one.</param>
    public sealed record Problem(string? Type, string Title, int Status, string? Detail, string? Field, string? Instance);
}
