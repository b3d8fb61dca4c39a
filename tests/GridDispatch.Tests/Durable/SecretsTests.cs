using System.Collections.Concurrent;
using System.Net.Http.Json;
using GridDispatch.Api;
using GridDispatch.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Logging;

namespace GridDispatch.Tests.Durable;

/// <summary>Connection strings and signing keys come from configuration and never show in logs or responses.</summary>
[Collection(PostgresCollection.Name)]
public sealed class SecretsTests(PostgresServer postgres)
{
    [Fact]
    public async Task Secrets_never_appear_in_logs_or_responses()
    {
        // The test server trusts every login, so any password works: give it one that is easy to search for.
        const string password = "Pw-marker-7f3a9c";
        var connection = await postgres.CreateDatabaseAsync("gd_" + Guid.NewGuid().ToString("N")[..12]) + $";Password={password}";
        const string openKey = "open311-key-marker-55e1";
        var logs = new CapturingLoggerProvider();
        await using var app = GridDispatchApi.Create(ApiFixture.HostArgs(connection,
            $"--GridDispatch:Open311:ApiKeys:marker-app={openKey}",
            "--Logging:LogLevel:Default=Debug", "--Logging:LogLevel:Orleans=Information", "--Logging:LogLevel:Microsoft.AspNetCore=Debug",
            "--Logging:LogLevel:Polly=Debug", "--Logging:LogLevel:Npgsql=Debug"), RepoPaths.ApiProject, builder =>
        {
            builder.Logging.SetMinimumLevel(LogLevel.Debug);
            builder.Logging.AddProvider(logs);
        });
        await app.StartAsync();
        using var http = new HttpClient { BaseAddress = new Uri(app.Urls.First()) };

        var bodies = new List<string>();
        async Task Collect(Task<HttpResponseMessage> call) => bodies.Add(await (await call).Content.ReadAsStringAsync());
        await Collect(http.GetAsync("/health/ready"));
        await Collect(http.GetAsync("/openapi/v1.json"));
        await Collect(http.GetAsync("/dev/users"));
        await Collect(http.PostAsJsonAsync("/dev/token", new { user = "commander-city" }));
        await Collect(http.PostAsync("/open311/v2/requests.json", new FormUrlEncodedContent([new("api_key", "wrong"), new("service_code", "0101")])));
        await Collect(http.PostAsync("/open311/v2/requests.json", new FormUrlEncodedContent(
            [new("api_key", openKey), new("service_code", "0101"), new("address_id", "449901001001001"), new("description", "x")])));
        http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", ApiFixture.Sign("commander-city", "commander", "4499"));
        await Collect(http.GetAsync("/api/regions/4499"));
        await Collect(http.PostAsync("/api/incidents", new StringContent("{broken", System.Text.Encoding.UTF8, "application/json")));
        await app.StopAsync();

        var secrets = new[] { password, openKey, ApiFixture.SigningKey };
        Assert.True(logs.Messages.Count > 10, "the host logged something");
        foreach (var secret in secrets)
        {
            Assert.DoesNotContain(logs.Messages, m => m.Contains(secret, StringComparison.Ordinal));
            Assert.DoesNotContain(bodies, b => b.Contains(secret, StringComparison.Ordinal));
        }
    }

    private sealed class CapturingLoggerProvider : ILoggerProvider
    {
        public ConcurrentQueue<string> Messages { get; } = new();

        public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

        public void Dispose()
        {
        }

        private sealed class Logger(CapturingLoggerProvider provider, string category) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
                provider.Messages.Enqueue($"{category}: {formatter(state, exception)} {exception}");
        }
    }
}
