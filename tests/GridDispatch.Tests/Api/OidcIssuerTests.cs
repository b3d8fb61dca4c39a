using System.Net;
using System.Security.Cryptography;
using System.Text.Json;
using GridDispatch.Api;
using GridDispatch.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace GridDispatch.Tests.Api;

/// <summary>
/// Production sign-in: an OpenID Connect issuer named by Authority (a stand-in issuer on loopback serving its discovery
/// document and signing keys); the API takes its tokens and refuses ones signed by anyone else.
/// </summary>
public sealed class OidcIssuerTests
{
    [Fact]
    public async Task Tokens_of_the_configured_openid_connect_issuer_are_accepted_and_others_refused()
    {
        using var rsa = RSA.Create(2048);
        var key = new RsaSecurityKey(rsa) { KeyId = "city-key-1" };
        var issuerPort = ApiFixture.FreePort();
        var authority = $"http://127.0.0.1:{issuerPort}/realms/city";

        var issuerBuilder = WebApplication.CreateBuilder();
        issuerBuilder.WebHost.UseUrls($"http://127.0.0.1:{issuerPort}");
        await using var issuer = issuerBuilder.Build();
        issuer.MapGet("/realms/city/.well-known/openid-configuration", () => Results.Json(new Dictionary<string, object>
        {
            ["issuer"] = authority, ["jwks_uri"] = $"{authority}/jwks", ["id_token_signing_alg_values_supported"] = new[] { "RS256" },
        }));
        var jwk = JsonWebKeyConverter.ConvertFromRSASecurityKey(new RsaSecurityKey(rsa.ExportParameters(false)) { KeyId = "city-key-1" });
        issuer.MapGet("/realms/city/jwks", () => Results.Text(
            JsonSerializer.Serialize(new { keys = new[] { new { kty = jwk.Kty, kid = jwk.Kid, use = "sig", alg = "RS256", n = jwk.N, e = jwk.E } } }),
            "application/json"));
        await issuer.StartAsync();

        await using var app = GridDispatchApi.Create(ApiFixture.HostArgs(loadCity: false,
        [
            "--environment=Production",
            $"--GridDispatch:Auth:Authority={authority}",
            "--GridDispatch:Auth:Audience=griddispatch",
            "--GridDispatch:Auth:RequireHttpsMetadata=false",
            "--Logging:LogLevel:Default=Warning",
        ]), RepoPaths.ApiProject);
        await app.StartAsync();
        using var http = new HttpClient { BaseAddress = new Uri(app.Urls.First()) };

        static string Token(SecurityKey signingKey, string iss) => new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Issuer = iss,
            Audience = "griddispatch",
            Claims = new Dictionary<string, object> { ["sub"] = "commander-city", ["role"] = "commander", ["gd_scope"] = "4499" },
            Expires = DateTime.UtcNow.AddMinutes(10),
            SigningCredentials = new SigningCredentials(signingKey, SecurityAlgorithms.RsaSha256),
        });

        async Task<HttpStatusCode> CategoriesWith(string? token)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "/api/categories");
            if (token is not null)
            {
                request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
            }

            return (await http.SendAsync(request)).StatusCode;
        }

        using var other = RSA.Create(2048);
        Assert.Equal(HttpStatusCode.OK, await CategoriesWith(Token(key, authority)));
        Assert.Equal(HttpStatusCode.Unauthorized, await CategoriesWith(Token(new RsaSecurityKey(other) { KeyId = "city-key-1" }, authority)));
        Assert.Equal(HttpStatusCode.Unauthorized, await CategoriesWith(Token(key, "http://elsewhere.example/realms/city")));
        Assert.Equal(HttpStatusCode.Unauthorized, await CategoriesWith(null));
        var dev = await http.PostAsync("/dev/token", new StringContent("{\"user\":\"commander-city\"}", System.Text.Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.Unauthorized, dev.StatusCode);            // no such route: the development issuer is off
        Assert.DoesNotContain("access_token", await dev.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        await app.StopAsync();
        await issuer.StopAsync();
    }
}
