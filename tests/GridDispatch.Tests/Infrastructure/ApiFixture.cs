using System.Net;
using System.Net.Sockets;
using GridDispatch.Api;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;

namespace GridDispatch.Tests.Infrastructure;

/// <summary>
/// The real API host — Kestrel on a loopback port, a co-hosted silo on free ports, the demo city loaded, the simulator
/// off — shared by the HTTP, Open311, SignalR and browser tests.
/// </summary>
public sealed class ApiFixture : IAsyncLifetime
{
    private readonly string[] _extra;

    public ApiFixture()
        : this([])
    {
    }

    /// <summary>A host of a test's own, with settings of its own on top of the shared ones.</summary>
    internal ApiFixture(params string[] extra) => _extra = extra;

    public WebApplication App { get; private set; } = null!;

    public Uri BaseAddress { get; private set; } = null!;

    public HttpClient Http { get; private set; } = null!;

    public IGrainFactory Grains => App.Services.GetRequiredService<IGrainFactory>();

    public const string City = "4499";

    /// <summary>The development issuer's key in tests (a fixed one, so tests can also forge and expire tokens).</summary>
    public static readonly string SigningKey = Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes("griddispatch-tests-signing-key-32-bytes!"));

    /// <summary>Arguments that turn the development issuer on with the test key, and issue the test Open311 key.</summary>
    public static readonly string[] AuthArgs =
    [
        "--GridDispatch:Auth:DevIssuer:Enabled=true",
        $"--GridDispatch:Auth:DevIssuer:SigningKey={SigningKey}",
        "--GridDispatch:Open311:ApiKeys:test-app=demo",
    ];

    /// <summary>
    /// The arguments of a test's own API host: loopback on a free port, silo ports of its own, no simulator, warnings
    /// only and the test issuer; on PostgreSQL when <paramref name="connection"/> is given. <paramref name="extra"/>
    /// come last and win over these.
    /// </summary>
    public static string[] HostArgs(string? connection, params string[] extra) =>
    [
        "--urls=http://127.0.0.1:0",
        .. connection is null ? Array.Empty<string>() : [$"--ConnectionStrings:GridDispatch={connection}"],
        $"--GridDispatch:Silo:SiloPort={FreePort()}",
        $"--GridDispatch:Silo:GatewayPort={FreePort()}",
        "--GridDispatch:Simulation:Enabled=false",
        "--Logging:LogLevel:Default=Warning",
        .. AuthArgs,
        .. extra,
    ];

    /// <summary>A token of a development user, from the host's own /dev/token.</summary>
    public static async Task<string> TokenAsync(Uri baseAddress, string user)
    {
        using var http = new HttpClient { BaseAddress = baseAddress };
        var response = await http.PostAsync("/dev/token", new StringContent($"{{\"user\":\"{user}\"}}", System.Text.Encoding.UTF8, "application/json"));
        response.EnsureSuccessStatusCode();
        using var body = System.Text.Json.JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return body.RootElement.GetProperty("access_token").GetString()!;
    }

    public Task<string> TokenAsync(string user) => TokenAsync(BaseAddress, user);

    /// <summary>A client acting as <paramref name="user"/> (dispose it).</summary>
    public async Task<HttpClient> ClientAsync(string user)
    {
        var client = new HttpClient { BaseAddress = BaseAddress };
        client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", await TokenAsync(user));
        return client;
    }

    /// <summary>A token signed with the test key for any user, role and region (as a real issuer would issue one).</summary>
    public static string Sign(string id, string role, string? scope = null, DateTime? expires = null,
        byte[]? key = null, string issuer = GridDispatch.Api.Auth.DevIssuer.Issuer, string audience = GridDispatch.Api.Auth.DevIssuer.DefaultAudience,
        string? source = null)
    {
        var claims = new Dictionary<string, object> { ["sub"] = id, ["name"] = id, ["role"] = role };
        if (scope is not null)
        {
            claims["gd_scope"] = scope;
        }

        if (source is not null)
        {
            claims["gd_source"] = source;
        }

        var until = expires ?? DateTime.UtcNow.AddHours(1);
        return new Microsoft.IdentityModel.JsonWebTokens.JsonWebTokenHandler().CreateToken(new Microsoft.IdentityModel.Tokens.SecurityTokenDescriptor
        {
            Issuer = issuer,
            Audience = audience,
            Claims = claims,
            NotBefore = until.AddHours(-2),
            IssuedAt = until.AddHours(-2),
            Expires = until,
            SigningCredentials = new Microsoft.IdentityModel.Tokens.SigningCredentials(
                new Microsoft.IdentityModel.Tokens.SymmetricSecurityKey(key ?? Convert.FromBase64String(SigningKey)), Microsoft.IdentityModel.Tokens.SecurityAlgorithms.HmacSha256),
        });
    }

    /// <summary>A client acting as <paramref name="id"/> in <paramref name="role"/> of <paramref name="scope"/> (dispose it).</summary>
    public HttpClient As(string id, string role, string? scope = null)
    {
        var client = new HttpClient { BaseAddress = BaseAddress };
        client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", Sign(id, role, scope));
        return client;
    }

    /// <summary>A client sending <paramref name="token"/> (dispose it).</summary>
    public HttpClient WithToken(string token)
    {
        var client = new HttpClient { BaseAddress = BaseAddress };
        client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
        return client;
    }

    /// <summary>A worker's client: their home grid is their region.</summary>
    public HttpClient AsWorker(string workerId, string grid) => As(workerId, "worker", grid);

    /// <summary>A client with no token.</summary>
    public HttpClient Anonymous() => new() { BaseAddress = BaseAddress };

    public async Task InitializeAsync()
    {
        App = GridDispatchApi.Create(
        [
            "--urls=http://127.0.0.1:0",
            $"--GridDispatch:Silo:SiloPort={FreePort()}",
            $"--GridDispatch:Silo:GatewayPort={FreePort()}",
            "--GridDispatch:Simulation:Enabled=false",
            "--GridDispatch:Dispatch:RollupInterval=00:00:00.100",
            "--GridDispatch:Live:AccessReviewInterval=00:00:00.500",
            "--GridDispatch:Telemetry:CityEvery=00:00:01",
            "--GridDispatch:Telemetry:Dashboard=true",         // the policy matrix reaches /dashboard too
            "--Logging:LogLevel:Default=Warning",
            "--GridDispatch:RateLimits:IntakePerMinute=1000000",      // every test comes from 127.0.0.1
            "--GridDispatch:RateLimits:LoginPerMinute=1000000",
            "--GridDispatch:RateLimits:CommandsPerUserPerMinute=1000000",
            "--GridDispatch:RateLimits:CommandsPerAddressPerMinute=1000000",
            .. AuthArgs,
            .. _extra,
        ], RepoPaths.ApiProject);
        await App.StartAsync();
        BaseAddress = new Uri(App.Urls.Single(u => u.StartsWith("http://", StringComparison.Ordinal)));
        Http = await ClientAsync("commander-city");
    }

    public async Task DisposeAsync()
    {
        Http.Dispose();
        await App.StopAsync();
        await App.DisposeAsync();
    }

    /// <summary>
    /// The arguments of a host of a test's own: Kestrel and a silo on free loopback ports, no simulator; the demo city
    /// is loaded only when <paramref name="loadCity"/>. The test's own settings follow.
    /// </summary>
    public static string[] HostArgs(bool loadCity, IEnumerable<string> settings) =>
    [
        "--urls=http://127.0.0.1:0",
        $"--GridDispatch:Silo:SiloPort={FreePort()}",
        $"--GridDispatch:Silo:GatewayPort={FreePort()}",
        "--GridDispatch:Simulation:Enabled=false",
        .. loadCity ? Array.Empty<string>() : ["--GridDispatch:City:LoadOnStart=false"],
        .. settings,
    ];

    public static int FreePort() => SiloProcess.FreePort();
}

[CollectionDefinition(Name)]
public sealed class ApiCollection : ICollectionFixture<ApiFixture>
{
    public const string Name = "api";
}

public static class RepoPaths
{
    public static string Root { get; } = FindRoot();

    public static string ApiProject => Path.Combine(Root, "src", "Api");

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "GridDispatch.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("GridDispatch.sln not found above " + AppContext.BaseDirectory);
    }
}
