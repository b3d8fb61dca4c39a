using System.Security.Claims;
using System.Security.Cryptography;
using GridDispatch.Api.Http;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Authorization;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace GridDispatch.Api.Auth;

/// <summary>Who may call the API (section "GridDispatch:Auth").</summary>
public sealed class AuthOptions
{
    public const string Section = "GridDispatch:Auth";

    /// <summary>An OpenID Connect issuer; its signing keys come from its discovery document.</summary>
    public string? Authority { get; set; }

    /// <summary>The audience tokens must be issued for.</summary>
    public string Audience { get; set; } = Auth.DevIssuer.DefaultAudience;

    /// <summary>Accept plain-HTTP metadata (a local test issuer only).</summary>
    public bool RequireHttpsMetadata { get; set; } = true;

    public DevIssuerOptions DevIssuer { get; set; } = new();
}

/// <summary>
/// The development issuer: signs tokens for demo users so the dashboard works out of the box. Off unless the host runs in
/// the Development environment or <see cref="Enabled"/> is set; never used when an <see cref="AuthOptions.Authority"/> is.
/// </summary>
public sealed class DevIssuerOptions
{
    public bool? Enabled { get; set; }

    /// <summary>Base64 HMAC key (at least 32 bytes); a random one per process when unset, so tokens die with the process.</summary>
    public string? SigningKey { get; set; }

    public TimeSpan Lifetime { get; set; } = TimeSpan.FromHours(8);

    public List<DevUser> Users { get; set; } = [];

    /// <summary>
    /// Networks (CIDR) besides this machine's loopback whose callers may use /dev: a container's bridge, where a
    /// browser on the Docker host comes from (deploy/docker/compose.yaml). Empty: this machine only.
    /// </summary>
    public List<string> AllowFrom { get; set; } = [];
}

/// <summary>A demo user: id (the token subject), display name, role and the region (or department) they act in.</summary>
public sealed record DevUser(string Id, string Name, string Role, string? Scope = null)
{
    public DevUser() : this("", "", "")
    {
    }
}

/// <summary>Claim names of GridDispatch tokens (from the development issuer or an OpenID Connect issuer's mapping).</summary>
public static class GridClaims
{
    public const string Subject = "sub";
    public const string Name = "name";
    public const string Role = "role";

    /// <summary>Region code (or "{city}:{department}") the user acts in.</summary>
    public const string Scope = "gd_scope";

    /// <summary>The intake source an integration's token is bound to (e.g. "hotline-12345"): its reports carry that source only.</summary>
    public const string Source = "gd_source";
}

public sealed class DevIssuer(SymmetricSecurityKey key, DevIssuerOptions options)
{
    public const string Issuer = "griddispatch-dev";
    public const string DefaultAudience = "griddispatch";

    public SymmetricSecurityKey Key { get; } = key;

    public IReadOnlyList<DevUser> Users => options.Users;

    public string TokenFor(DevUser user, string audience, TimeProvider time)
    {
        var now = time.GetUtcNow().UtcDateTime;
        var claims = new Dictionary<string, object>
        {
            [GridClaims.Subject] = user.Id,
            [GridClaims.Name] = user.Name,
            [GridClaims.Role] = user.Role,
        };
        if (!string.IsNullOrEmpty(user.Scope))
        {
            claims[GridClaims.Scope] = user.Scope;
        }

        return new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Issuer = Issuer,
            Audience = audience,
            Claims = claims,
            NotBefore = now.AddSeconds(-5),
            IssuedAt = now,
            Expires = now + options.Lifetime,
            SigningCredentials = new SigningCredentials(Key, SecurityAlgorithms.HmacSha256),
        });
    }
}

public static partial class AuthSetup
{
    /// <summary>JWT bearer on every endpoint unless it allows anonymous callers; the hub reads the token from the query too.</summary>
    public static WebApplicationBuilder AddGridDispatchAuth(this WebApplicationBuilder builder)
    {
        var options = builder.Configuration.GetSection(AuthOptions.Section).Get<AuthOptions>() ?? new AuthOptions();
        var devEnabled = options.DevIssuer.Enabled ?? builder.Environment.IsDevelopment();
        if (string.IsNullOrWhiteSpace(options.Authority) && !devEnabled)
        {
            throw new InvalidOperationException(
                "No token issuer: set GridDispatch:Auth:Authority (and Audience) to an OpenID Connect issuer, or enable the development issuer (GridDispatch:Auth:DevIssuer:Enabled=true) outside production.");
        }

        DevIssuer? dev = null;
        if (string.IsNullOrWhiteSpace(options.Authority))
        {
            var keyBytes = string.IsNullOrWhiteSpace(options.DevIssuer.SigningKey)
                ? RandomNumberGenerator.GetBytes(32)
                : Convert.FromBase64String(options.DevIssuer.SigningKey);
            if (keyBytes.Length < 32)
            {
                throw new InvalidOperationException("GridDispatch:Auth:DevIssuer:SigningKey must be at least 32 bytes (base64).");
            }

            dev = new DevIssuer(new SymmetricSecurityKey(keyBytes), options.DevIssuer);
            builder.Services.AddSingleton(dev);
        }

        builder.Services.AddSingleton(options);
        builder.Services.AddAuthentication(JwtBearerDefaults.AuthenticationScheme).AddJwtBearer(o =>
        {
            o.MapInboundClaims = false;
            o.TokenValidationParameters = new TokenValidationParameters
            {
                ValidAudience = options.Audience,
                NameClaimType = GridClaims.Subject,
                RoleClaimType = GridClaims.Role,
                ClockSkew = TimeSpan.FromSeconds(30),
            };
            if (dev is null)
            {
                o.Authority = options.Authority;
                o.Audience = options.Audience;
                o.RequireHttpsMetadata = options.RequireHttpsMetadata;
            }
            else
            {
                o.TokenValidationParameters.ValidIssuer = DevIssuer.Issuer;
                o.TokenValidationParameters.IssuerSigningKey = dev.Key;
            }

            o.Events = new JwtBearerEvents
            {
                // Browsers cannot set headers on a WebSocket: the SignalR client sends the token as access_token.
                OnMessageReceived = context =>
                {
                    if (context.Request.Path.StartsWithSegments("/hubs") && context.Request.Query["access_token"] is { Count: > 0 } token)
                    {
                        context.Token = token.ToString();
                    }

                    ClusterDashboard.ReadToken(context);
                    return Task.CompletedTask;
                },
                OnTokenValidated = context =>
                {
                    ClusterDashboard.KeepToken(context);
                    return Task.CompletedTask;
                },
            };
        });
        var authorization = builder.Services.AddAuthorizationBuilder()
            .SetFallbackPolicy(new AuthorizationPolicyBuilder().RequireAuthenticatedUser().Build());
        ClusterDashboard.AddPolicy(authorization);
        return builder;
    }

    /// <summary>GET /dev/users and POST /dev/token, only while the development issuer is on.</summary>
    public static WebApplication MapDevIssuer(this WebApplication app)
    {
        if (app.Services.GetService<DevIssuer>() is not { } dev)
        {
            return app;
        }

        var options = app.Services.GetRequiredService<AuthOptions>();
        if (!app.Environment.IsDevelopment())
        {
            LogDevIssuerOutsideDevelopment(app.Logger, app.Environment.EnvironmentName);
        }

        // Only for a developer on this machine: any other caller finds nothing here — one from another address (unless
        // DevIssuer:AllowFrom names its network), and any request that came through a proxy (a proxy on this machine
        // makes every client look local).
        var allowed = CallerNetworks.Parse(options.DevIssuer.AllowFrom, $"{AuthOptions.Section}:DevIssuer:AllowFrom");
        var routes = app.MapGroup("/dev").AllowAnonymous().WithTags("Development").AddEndpointFilter(async (context, next) =>
            allowed.Admits(context.HttpContext) ? await next(context) : Results.NotFound());
        routes.MapGet("/users", () => dev.Users.Select(u => new DevUserBrief(u.Id, u.Name, u.Role, u.Scope)));
        routes.MapPost("/token", async (HttpRequest request, IGrainFactory grains) =>
        {
            var body = await JsonBody.ReadAsync<DevTokenRequest>(request);
            var user = dev.Users.FirstOrDefault(u => u.Id == body.User) ?? await WorkerUserAsync(grains, body.User)
                ?? throw new DomainException(DomainErrors.InvalidInput, "Not a development user (see GET /dev/users) nor a registered worker", "user");
            return Results.Ok(new DevToken(dev.TokenFor(user, options.Audience, TimeProvider.System), "Bearer",
                (int)options.DevIssuer.Lifetime.TotalSeconds, user));
        }).RequireRateLimiting(RateLimits.Login).Takes<DevTokenRequest>().Produces<DevToken>();
        routes.WithProblems();
        return app;
    }

    /// <summary>Any registered worker may sign in too (development only), acting in their home unit.</summary>
    private static async Task<DevUser?> WorkerUserAsync(IGrainFactory grains, string? id)
    {
        if (!Identifiers.IsWorkerId(id))
        {
            return null;
        }

        try
        {
            var worker = await grains.GetGrain<IWorkerGrain>(id).GetAsync();
            var p = worker.Profile;
            return p.Home is { } home ? new DevUser(p.Id, p.Name, "worker", home) : null;
        }
        catch (DomainException)
        {
            return null;
        }
    }

    [LoggerMessage(EventId = 6201, Level = LogLevel.Warning,
        Message = "The development token issuer is enabled in the {Environment} environment: anyone on this machine can sign in as any demo user or worker. Turn it off (GridDispatch:Auth:DevIssuer:Enabled=false) and set GridDispatch:Auth:Authority.")]
    private static partial void LogDevIssuerOutsideDevelopment(ILogger logger, string environment);

    /// <summary>The token's subject: who is acting.</summary>
    public static string UserId(this ClaimsPrincipal user) => user.FindFirstValue(GridClaims.Subject) ?? "";
}

public sealed record DevTokenRequest(string? User);

/// <summary>A development user as GET /dev/users lists them.</summary>
public sealed record DevUserBrief(string Id, string Name, string Role, string? Scope);

/// <summary>The development issuer's token (OAuth's field names).</summary>
public sealed record DevToken(
    [property: System.Text.Json.Serialization.JsonPropertyName("access_token")] string AccessToken,
    [property: System.Text.Json.Serialization.JsonPropertyName("token_type")] string TokenType,
    [property: System.Text.Json.Serialization.JsonPropertyName("expires_in")] int ExpiresIn,
    DevUser User);
