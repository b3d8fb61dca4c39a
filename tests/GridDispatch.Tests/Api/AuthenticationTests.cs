using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using GridDispatch.Api;
using GridDispatch.Api.Auth;
using GridDispatch.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.IdentityModel.JsonWebTokens;

namespace GridDispatch.Tests.Api;

[Collection(ApiCollection.Name)]
public sealed class AuthenticationTests(ApiFixture api)
{
    private static string Token(byte[] key, DateTime expires, string issuer = DevIssuer.Issuer, string audience = DevIssuer.DefaultAudience) =>
        ApiFixture.Sign("commander-city", "commander", "4499", expires, key, issuer, audience);

    private async Task<HttpStatusCode> GetWith(string? token, string path = "/api/regions/4499")
    {
        using var client = api.Anonymous();
        if (token is not null)
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        return (await client.GetAsync(path)).StatusCode;
    }

    [Fact]
    public async Task The_api_needs_a_valid_token_and_health_does_not()
    {
        Assert.Equal(HttpStatusCode.Unauthorized, await GetWith(null));
        Assert.Equal(HttpStatusCode.Unauthorized, await GetWith(null, "/api/incidents/some-id"));
        Assert.Equal(HttpStatusCode.OK, await GetWith(null, "/health/live"));
        Assert.Equal(HttpStatusCode.OK, await GetWith(null, "/health/ready"));
        Assert.Equal(HttpStatusCode.OK, await GetWith(null, "/"));               // the dashboard page itself; it signs in
        Assert.Equal(HttpStatusCode.OK, await GetWith(await api.TokenAsync("admin-449901"), "/api/regions/449901"));

        var key = Convert.FromBase64String(ApiFixture.SigningKey);
        Assert.Equal(HttpStatusCode.OK, await GetWith(Token(key, DateTime.UtcNow.AddMinutes(10))));             // a well-made token passes
        Assert.Equal(HttpStatusCode.Unauthorized, await GetWith(Token(key, DateTime.UtcNow.AddMinutes(-5))));   // expired
        Assert.Equal(HttpStatusCode.Unauthorized, await GetWith(Token("an-attacker-s-own-key-of-32-bytes!!"u8.ToArray(), DateTime.UtcNow.AddMinutes(10)))); // forged
        Assert.Equal(HttpStatusCode.Unauthorized, await GetWith(Token(key, DateTime.UtcNow.AddMinutes(10), issuer: "someone-else")));
        Assert.Equal(HttpStatusCode.Unauthorized, await GetWith(Token(key, DateTime.UtcNow.AddMinutes(10), audience: "another-app")));
        Assert.Equal(HttpStatusCode.Unauthorized, await GetWith("not.a.token"));
    }

    [Fact]
    public async Task The_development_issuer_lists_demo_users_and_signs_tokens_only_for_them()
    {
        using var anonymous = api.Anonymous();
        var users = await anonymous.GetFromJsonAsync<JsonArray>("/dev/users");
        Assert.Contains(users!, u => u!["id"]!.GetValue<string>() == "commander-city" && u["role"]!.GetValue<string>() == "commander");
        Assert.Contains(users!, u => u!["role"]!.GetValue<string>() == "resident");

        var unknown = await anonymous.PostAsJsonAsync("/dev/token", new { user = "mallory" });
        Assert.Equal(HttpStatusCode.BadRequest, unknown.StatusCode);
        Assert.Equal("user", (await unknown.Content.ReadFromJsonAsync<JsonObject>())!["field"]!.GetValue<string>());
        var token = await anonymous.PostAsJsonAsync("/dev/token", new { user = "admin-449901" });
        var body = (await token.Content.ReadFromJsonAsync<JsonObject>())!;
        var jwt = new JsonWebToken(body["access_token"]!.GetValue<string>());
        Assert.Equal(("admin-449901", "district-admin", "449901"), (jwt.Subject, jwt.GetClaim("role").Value, jwt.GetClaim("gd_scope").Value));
    }

    [Fact]
    public async Task The_live_hub_refuses_a_connection_without_a_token()
    {
        await using var connection = new HubConnectionBuilder().WithUrl(new Uri(api.BaseAddress, "/hubs/live")).Build();
        var refused = await Assert.ThrowsAsync<HttpRequestException>(() => connection.StartAsync());
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
    }

    [Fact]
    public async Task The_development_issuer_is_off_outside_development_unless_enabled()
    {
        static bool HasDevRoutes(WebApplication app) => ((IEndpointRouteBuilder)app).DataSources
            .SelectMany(d => d.Endpoints).OfType<RouteEndpoint>().Any(e => e.RoutePattern.RawText?.StartsWith("/dev", StringComparison.Ordinal) == true);

        string[] common = ["--GridDispatch:Simulation:Enabled=false", "--GridDispatch:City:LoadOnStart=false", "--environment=Production"];

        // Production with an OpenID Connect issuer configured: no development issuer, no /dev routes.
        await using var production = GridDispatchApi.Create([.. common, "--GridDispatch:Auth:Authority=https://id.example.test/realms/city"], RepoPaths.ApiProject);
        Assert.Null(production.Services.GetService<DevIssuer>());
        Assert.False(HasDevRoutes(production));

        // Production with no issuer at all refuses to start rather than run open or with demo users.
        var none = Assert.Throws<InvalidOperationException>(() => GridDispatchApi.Create(common, RepoPaths.ApiProject));
        Assert.Contains("GridDispatch:Auth:Authority", none.Message, StringComparison.Ordinal);

        // Development turns it on by itself; elsewhere only an explicit setting does.
        await using var development = GridDispatchApi.Create(["--GridDispatch:Simulation:Enabled=false", "--environment=Development"], RepoPaths.ApiProject);
        Assert.NotNull(development.Services.GetService<DevIssuer>());
        Assert.True(HasDevRoutes(development));
    }
}
