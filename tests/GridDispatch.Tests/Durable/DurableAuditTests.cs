using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using GridDispatch.Api;
using GridDispatch.Tests.Infrastructure;
using Npgsql;

namespace GridDispatch.Tests.Durable;

/// <summary>The audit log on PostgreSQL: commands land in audit_log, administrators read them back, nobody rewrites them.</summary>
[Collection(PostgresCollection.Name)]
public sealed class DurableAuditTests(PostgresServer postgres)
{
    [Fact]
    public async Task Commands_are_kept_in_an_append_only_table()
    {
        var connection = await postgres.CreateDatabaseAsync("gd_" + Guid.NewGuid().ToString("N")[..12]);
        await using var app = GridDispatchApi.Create(ApiFixture.HostArgs(connection), RepoPaths.ApiProject);
        await app.StartAsync();
        using var http = new HttpClient { BaseAddress = new Uri(app.Urls.First()) };
        http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", ApiFixture.Sign("resident-11", "resident"));
        var reported = await http.PostAsJsonAsync("/api/incidents", new { category = "0101", severity = "routine", gridCode = "449901001001002", description = "kept" });
        Assert.Equal(HttpStatusCode.Created, reported.StatusCode);

        http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", ApiFixture.Sign("admin-d", "district-admin", "449901"));
        var rows = await Eventually.Get(async () => (await http.GetFromJsonAsync<JsonArray>("/api/audit?actor=resident-11"))!, r => r.Count == 1,
            TimeSpan.FromSeconds(20), "the command read back from audit_log");
        Assert.Equal(("449901001001002", 201), (rows[0]!["region"]!.GetValue<string>(), rows[0]!["status"]!.GetValue<int>()));

        await using var db = new NpgsqlConnection(connection);
        await db.OpenAsync();
        await using var rewrite = new NpgsqlCommand("UPDATE audit_log SET actor = 'someone else'", db);
        Assert.Contains("append-only", (await Assert.ThrowsAsync<PostgresException>(() => rewrite.ExecuteNonQueryAsync())).MessageText);
        await using var erase = new NpgsqlCommand("DELETE FROM audit_log", db);
        await Assert.ThrowsAsync<PostgresException>(() => erase.ExecuteNonQueryAsync());
        await app.StopAsync();
    }
}
