using System.Net;
using System.Text.Json;
using GridDispatch.Api.Audit;
using GridDispatch.Api.Auth;
using GridDispatch.Tests.Infrastructure;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;
using Xunit.Abstractions;

namespace GridDispatch.Tests.Api.Matrix;

/// <summary>
/// The whole access matrix, generated from <see cref="Policy.Table"/>: every act × every role (and no token) × inside and
/// outside the caller's region, each on a target of its own. What the table allows must succeed over HTTP (and the hub,
/// for topics); what it refuses must answer 401/403, leave the target exactly as it was and be in the audit log. An act
/// added to the table without a scenario fails here, and so does a grant no case could ever exercise.
/// </summary>
[Collection(ApiCollection.Name)]
public sealed class PolicyMatrixTests(ITestOutputHelper output) : IAsyncLifetime
{
    // Reports wait for a supervisor to accept them, so "accept" has something to act on.
    private readonly ApiFixture api = new("--GridDispatch:Dispatch:AutoAccept=false");

    public Task InitializeAsync() => api.InitializeAsync();

    public Task DisposeAsync() => api.DisposeAsync();

    /// <summary>
    /// Grants no case can exercise, and why: an unassigned incident waits at city level (every level below passes up what
    /// it cannot place), so only a commander ever finds one to assign; the others' grant covers the moment in between.
    /// </summary>
    private static readonly HashSet<(Act, CallerRole)> Unreachable =
    [
        (Act.IncidentAssign, CallerRole.GridLeader), (Act.IncidentAssign, CallerRole.CommunityAdmin),
        (Act.IncidentAssign, CallerRole.StreetAdmin), (Act.IncidentAssign, CallerRole.DistrictAdmin),
    ];

    private static readonly HttpStatusCode[] Created = [HttpStatusCode.Created];

    [Fact]
    public async Task Every_act_for_every_role_inside_and_outside_its_region_is_allowed_or_refused_as_the_table_says()
    {
        var scenarios = new Scenarios(api.Grains, api.App.Services.GetRequiredService<GridDispatch.Domain.CategoryCatalog>());
        var audit = api.App.Services.GetRequiredService<IAuditLog>();
        var elsewhere = await TestCity.Create().LoadAsync(api.Grains);
        var failures = new List<string>();
        var exercised = new HashSet<(Act, CallerRole)>();
        var counts = new Dictionary<string, int>();
        var roles = Enum.GetValues<CallerRole>().Select(r => (CallerRole?)r).Append(null).ToArray();

        foreach (var act in Policy.Table.Keys.OrderBy(a => a))
        {
            var arrange = scenarios.For(act);
            if (arrange is null)
            {
                failures.Add($"{act}: no scenario — a new act needs one here before it can ship");
                continue;
            }

            foreach (var role in roles)
            {
                foreach (var where in new[] { Where.Inside, Where.Neighbour, Where.Elsewhere })
                {
                    var inside = where == Where.Inside;
                    if (role is null && !inside)
                    {
                        continue;
                    }

                    var grant = role is { } r ? Policy.Table[act].FirstOrDefault(g => g.Role == r) : null;
                    var subject = await arrange(grant);
                    var (sub, scope) = role is { } rr ? Placement.Of(rr, grant, subject.Facts, where, elsewhere) : ("", null);
                    var caller = role is { } c ? new Caller(sub, c, scope) : null;
                    var allowed = caller is not null && Policy.Decide(caller, act, subject.Facts) is not null;
                    var label = $"{act} as {(role is null ? "no token" : Caller.RoleName(role.Value))} {where.ToString().ToLowerInvariant()} ({sub} of {scope ?? "-"})";
                    var outcome = await RunAsync(subject, caller, allowed, act, audit, label);
                    if (outcome is not null)
                    {
                        failures.Add(outcome);
                    }

                    if (allowed && role is { } granted)
                    {
                        exercised.Add((act, granted));
                    }

                    var key = role is null ? "401" : allowed ? "allowed" : "refused";
                    counts[key] = counts.GetValueOrDefault(key) + 1;
                }
            }
        }

        foreach (var (act, grants) in Policy.Table)
        {
            foreach (var role in grants.Select(g => g.Role).Distinct())
            {
                if (!exercised.Contains((act, role)) && !Unreachable.Contains((act, role)))
                {
                    failures.Add($"{act}: the {Caller.RoleName(role)} grant was never exercised by an allowed case (fix the scenario or the placement)");
                }
            }
        }

        output.WriteLine(string.Join(", ", counts.OrderBy(kv => kv.Key).Select(kv => $"{kv.Key} {kv.Value}")));
        Assert.True(failures.Count == 0, $"{failures.Count} case(s) off the table:\n" + string.Join("\n", failures.Take(40)));
    }

    /// <summary>One case: the HTTP call (and the hub subscription, for topics); null when it went as the table says.</summary>
    private async Task<string?> RunAsync(Subject subject, Caller? caller, bool allowed, Act act, IAuditLog audit, string label)
    {
        var token = caller is null ? null : ApiFixture.Sign(caller.Id, Caller.RoleName(caller.Role), caller.Scope);
        var before = await subject.Snapshot();
        using var request = subject.Request();
        using var client = token is null ? api.Anonymous() : api.WithToken(token);
        var path = request.RequestUri!.OriginalString;
        var response = await client.SendAsync(request);
        var after = await subject.Snapshot();
        var status = response.StatusCode;
        var body = await response.Content.ReadAsStringAsync();

        if (caller is null || !allowed)
        {
            var expected = caller is null ? HttpStatusCode.Unauthorized : HttpStatusCode.Forbidden;
            if (status != expected)
            {
                return $"{label}: expected {(int)expected}, got {(int)status} {Clip(body)}";
            }

            if (before != after)
            {
                return $"{label}: refused with {(int)status} but the target changed:\n  before {before}\n  after  {after}";
            }

            if (caller is not null)
            {
                var entries = await audit.QueryAsync("", caller.Id, 200, CancellationToken.None);
                if (!entries.Any(e => e.Target == path.Split('?')[0] && e.Status == 403))
                {
                    return $"{label}: the refusal is not in the audit log";
                }
            }
        }
        else
        {
            var success = act is Act.IncidentReport or Act.CampaignLaunch or Act.HouseholdRegister or Act.HouseholdVisit or Act.PhotoUpload ? Created : [HttpStatusCode.OK];
            if (!success.Contains(status))
            {
                return $"{label}: allowed by the table, but got {(int)status} {Clip(body)}";
            }
        }

        return subject.HubTopic is { } topic ? await SubscribeAsync(topic, token, caller is not null && allowed, label) : null;
    }

    private async Task<string?> SubscribeAsync(string topic, string? token, bool allowed, string label)
    {
        var connection = new HubConnectionBuilder()
            .WithUrl(new Uri(api.BaseAddress, "/hubs/live"), o => o.AccessTokenProvider = () => Task.FromResult(token))
            .Build();
        await using (connection)
        {
            try
            {
                await connection.StartAsync();
            }
            catch (HttpRequestException e) when (e.StatusCode == HttpStatusCode.Unauthorized)
            {
                return token is null ? null : $"{label}: hub refused the connection";
            }

            if (token is null)
            {
                return $"{label}: hub accepted a connection without a token";
            }

            try
            {
                await connection.InvokeAsync<JsonElement>("Subscribe", topic);
                return allowed ? null : $"{label}: hub subscription to {topic} was not refused";
            }
            catch (Microsoft.AspNetCore.SignalR.HubException e)
            {
                return allowed ? $"{label}: hub refused {topic}: {e.Message}" : null;
            }
        }
    }

    private static string Clip(string text) => text.Length <= 300 ? text : text[..300];
}

/// <summary>
/// Inside: the relation the role's grant needs holds. Neighbour: the same role next door — the next unit of its level in
/// the same city (a sibling street, the next grid), another department of the city — under another name. Elsewhere: in
/// another city.
/// </summary>
public enum Where
{
    Inside,
    Neighbour,
    Elsewhere,
}

public static class Placement
{
    public static (string Sub, string? Scope) Of(CallerRole role, Grant? grant, Target t, Where where, TestCity elsewhere)
    {
        if (where == Where.Neighbour)
        {
            var (_, near) = Of(role, grant, t, Where.Inside, elsewhere);
            return ($"{Caller.RoleName(role)}-neighbour", role switch
            {
                CallerRole.Resident => null,
                CallerRole.Department => $"{near![..4]}:police",
                _ => Next(near!),
            });
        }

        var inside = where == Where.Inside;
        var anchor = t.Region ?? t.Unit ?? t.WorkerHome ?? (t.Department is { } d ? d[..d.IndexOf(':', StringComparison.Ordinal)] : null) ?? "4499";
        var city = RegionCode.AncestorAt(anchor, RegionLevel.City);
        var name = Caller.RoleName(role);
        if (!inside)
        {
            return ($"{name}-outsider", role switch
            {
                CallerRole.Resident => null,
                CallerRole.Department => $"{elsewhere.Code}:city-management",
                _ => At(elsewhere.Grid, role),
            });
        }

        var sub = $"{name}-m";
        return (grant?.Relation, role) switch
        {
            (_, CallerRole.Resident) => (grant?.Relation == Relation.Reporter ? t.Reporter ?? sub : sub, null),
            (Relation.Assignee, _) => (t.AssignedWorker ?? sub, At(anchor, role)),
            (Relation.Self, _) => (t.WorkerId ?? sub, t.WorkerHome ?? At(anchor, role)),
            (Relation.TaskHolder, _) => (t.TaskHolder ?? sub, At(anchor, role)),
            (Relation.Home, _) => (sub, At(t.WorkerHome ?? anchor, role)),
            (Relation.InUnit, _) => (sub, At(t.Unit ?? anchor, role)),
            (Relation.AssignedDepartment, _) => (sub, t.AssignedDepartment),
            (Relation.OwningDepartment, _) => (sub, $"{city}:{t.OwningDepartment}"),
            (Relation.OwnDepartment, _) => (sub, t.Department),
            (_, CallerRole.Department) => (sub, $"{city}:city-management"),
            _ => (sub, At(anchor, role)),
        };
    }

    /// <summary>The next code of the same level under the same parent (a city's is its district "02": cities have no siblings here).</summary>
    private static string Next(string code)
    {
        if (code.Length == 4)
        {
            return code + "02";
        }

        var width = code.Length == 6 ? 2 : 3;
        var last = int.Parse(code[^width..], System.Globalization.CultureInfo.InvariantCulture) + 1;
        return code[..^width] + last.ToString(new string('0', width), System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>The region of the role's level at or around <paramref name="code"/>: its ancestor, or its first descendant.</summary>
    private static string At(string code, CallerRole role)
    {
        var level = role switch
        {
            CallerRole.Worker or CallerRole.GridLeader => RegionLevel.Grid,
            CallerRole.CommunityAdmin => RegionLevel.Community,
            CallerRole.StreetAdmin => RegionLevel.Street,
            CallerRole.DistrictAdmin => RegionLevel.District,
            _ => RegionLevel.City,
        };
        var length = RegionCode.LengthOf(level);
        var scope = code;
        while (scope.Length < length)
        {
            scope += scope.Length == 4 ? "01" : "001";
        }

        return scope[..length];
    }
}
