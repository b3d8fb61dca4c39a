using System.Net;
using GridDispatch.Tests.Infrastructure;

namespace GridDispatch.Tests.Api;

/// <summary>
/// The Orleans dashboard at /dashboard: commanders and administrators only, by bearer token or the browser's cookie.
/// On a host of its own (the test hosts turn the dashboard on; a host is off unless configured: it profiles every grain call).
/// </summary>
public sealed class ClusterDashboardTests : IAsyncLifetime
{
    private readonly ApiFixture api = new();     // its own audit log: the refused reads here are filed too

    public Task InitializeAsync() => api.InitializeAsync();

    public Task DisposeAsync() => api.DisposeAsync();

    [Fact]
    public async Task Off_unless_configured()
    {
        var shared = new ApiFixture("--GridDispatch:Telemetry:Dashboard=false");
        await shared.InitializeAsync();
        try
        {
            using var commander = await shared.ClientAsync("commander-city");
            Assert.Equal(System.Net.HttpStatusCode.NotFound, (await commander.GetAsync("/dashboard/")).StatusCode);
        }
        finally
        {
            await shared.DisposeAsync();
        }
    }

    [Fact]
    public async Task Without_a_token_it_is_401_and_for_other_roles_403()
    {
        using var anonymous = api.Anonymous();
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync("/dashboard/")).StatusCode);
        foreach (var (id, role, scope) in new[] { ("w-dash", "worker", "449901001001001"), ("res-dash", "resident", (string?)null), ("leader-dash", "grid-leader", "449901001001001"),
            ("dept-dash", "department", "4499:city-management") })
        {
            using var http = api.Anonymous();
            http.DefaultRequestHeaders.Authorization = new("Bearer", ApiFixture.Sign(id, role, scope));
            var refused = await http.GetAsync("/dashboard/");
            Assert.True(refused.StatusCode == HttpStatusCode.Forbidden, $"{role}: {(int)refused.StatusCode}");
            var byQuery = await anonymous.GetAsync($"/dashboard/?access_token={ApiFixture.Sign(id, role, scope)}");
            Assert.Equal(HttpStatusCode.Forbidden, byQuery.StatusCode);
            Assert.False(byQuery.Headers.Contains("Set-Cookie"), $"{role}'s token was kept");
        }
    }

    [Fact]
    public async Task A_commander_or_administrator_sees_it_by_token_and_then_by_the_cookie_it_leaves()
    {
        using var commander = await api.ClientAsync("commander-city");
        var page = await commander.GetAsync("/dashboard/");
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Contains("text/html", page.Content.Headers.ContentType?.MediaType);
        Assert.Contains("Orleans", await page.Content.ReadAsStringAsync(), StringComparison.OrdinalIgnoreCase);

        // A browser: the token once in the query, then only the cookie (HttpOnly, SameSite=Strict, this path only).
        // The token is then taken out of the address: a 303 to the same page without it.
        var handler = new HttpClientHandler { CookieContainer = new CookieContainer(), UseCookies = true, AllowAutoRedirect = false };
        using var browser = new HttpClient(handler) { BaseAddress = api.BaseAddress };
        var first = await browser.GetAsync($"/dashboard/?tab=silos&access_token={ApiFixture.Sign("admin-d", "district-admin", "449901")}");
        Assert.Equal((HttpStatusCode.SeeOther, "/dashboard/?tab=silos"), (first.StatusCode, first.Headers.Location?.OriginalString));
        Assert.Equal("no-referrer", first.Headers.GetValues("Referrer-Policy").Single());
        var cookie = Assert.Single(first.Headers.GetValues("Set-Cookie"));
        Assert.Contains("gd_dashboard=", cookie);
        Assert.Contains("httponly", cookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("samesite=strict", cookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("path=/dashboard", cookie, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("secure", cookie, StringComparison.OrdinalIgnoreCase);     // plain HTTP on loopback: a developer's machine
        Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync(first.Headers.Location)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync("/dashboard/ClusterStats")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await browser.GetAsync("/dashboard/GrainState?grainId=incident/x&grainType=x")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await browser.GetAsync("/dashboard/Reminders/1")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await browser.GetAsync("/api/incidents?grid=449901001001001")).StatusCode);     // the cookie is for the dashboard only

        // Behind a TLS-terminating ingress the request arrives as plain HTTP under the city's host name: the cookie is Secure.
        using var proxied = new HttpRequestMessage(HttpMethod.Get, $"/dashboard/?access_token={ApiFixture.Sign("admin-d", "district-admin", "449901")}");
        proxied.Headers.Host = "dashboard.city.example";
        using var viaIngress = new HttpClient(new HttpClientHandler { UseCookies = false, AllowAutoRedirect = false }) { BaseAddress = api.BaseAddress };
        Assert.Contains("secure", Assert.Single((await viaIngress.SendAsync(proxied)).Headers.GetValues("Set-Cookie")), StringComparison.OrdinalIgnoreCase);
    }
}
