using System.Security.Claims;

namespace GridDispatch.Api.Auth;

/// <summary>The roles of GridDispatch tokens (claim "role").</summary>
public enum CallerRole
{
    Resident,
    Worker,
    GridLeader,
    CommunityAdmin,
    StreetAdmin,
    DistrictAdmin,
    Department,
    Commander,
}

/// <summary>
/// Who is calling, from a validated token: subject, role and the region (or "{city}:{department}") they act in. Every
/// route and hub subscription asks it before touching the engine; a refusal is a 403 naming what was out of reach.
/// </summary>
public sealed record Caller(string Id, CallerRole Role, string? Scope)
{
    private static readonly Dictionary<string, CallerRole> Roles = new(StringComparer.Ordinal)
    {
        ["resident"] = CallerRole.Resident,
        ["worker"] = CallerRole.Worker,
        ["grid-leader"] = CallerRole.GridLeader,
        ["community-admin"] = CallerRole.CommunityAdmin,
        ["street-admin"] = CallerRole.StreetAdmin,
        ["district-admin"] = CallerRole.DistrictAdmin,
        ["department"] = CallerRole.Department,
        ["commander"] = CallerRole.Commander,
    };

    public static Caller From(ClaimsPrincipal user)
    {
        var id = user.UserId();
        var role = user.FindFirstValue(GridClaims.Role);
        if (string.IsNullOrEmpty(id) || role is null || !Roles.TryGetValue(role, out var r))
        {
            throw new DomainException(DomainErrors.NotAllowed, "The token names no subject or no known role", "token");
        }

        var scope = user.FindFirstValue(GridClaims.Scope);
        if (r is not CallerRole.Resident && string.IsNullOrEmpty(scope))
        {
            throw new DomainException(DomainErrors.NotAllowed, $"A {role} token must name the region it acts in", "token");
        }

        return new Caller(id, r, scope);
    }

    public static string RoleName(CallerRole role) => Roles.First(kv => kv.Value == role).Key;

    /// <summary>Administrators, leaders and commanders: everything under their region.</summary>
    public bool Supervises => Role is CallerRole.GridLeader or CallerRole.CommunityAdmin or CallerRole.StreetAdmin or CallerRole.DistrictAdmin
        or CallerRole.Commander;

    /// <summary>The department a department officer belongs to (the part after the city code).</summary>
    public string? Department => Role == CallerRole.Department && Scope is { } s && s.IndexOf(':', StringComparison.Ordinal) is > 0 and var i ? s[(i + 1)..] : null;

    /// <summary>True when <paramref name="code"/> (a region or grid) lies in this caller's region.</summary>
    public bool Covers(string code) => Role switch
    {
        CallerRole.Worker => Scope is not null && code.StartsWith(Scope, StringComparison.Ordinal) && RegionCode.IsValid(code),
        _ when Supervises => Scope is not null && code.StartsWith(Scope, StringComparison.Ordinal),
        _ => false,
    };

    public void RequireCovers(string code, string field = "code")
    {
        if (!Covers(code))
        {
            throw new DomainException(DomainErrors.NotAllowed, $"{Id} ({RoleName(Role)} of {Scope ?? "no region"}) may not see or act on {code}", field);
        }
    }

    public void RequireSupervisorOf(string code, string field = "code")
    {
        if (!Supervises || !Covers(code))
        {
            throw new DomainException(DomainErrors.NotAllowed, $"Only a grid leader, administrator or commander of {code} or above may do this", field);
        }
    }

    public void RequireCommanderOf(string code, string field = "code")
    {
        if (Role != CallerRole.Commander || !Covers(code))
        {
            throw new DomainException(DomainErrors.NotAllowed, $"Only a commander of {code} or a scope above it may do this", field);
        }
    }

    /// <summary>The acting user is the token's subject: a body that names someone else is refused.</summary>
    public string Actor(string? named)
    {
        if (!string.IsNullOrEmpty(named) && named != Id)
        {
            throw new DomainException(DomainErrors.NotAllowed, $"You act as {Id}, not as {named}", "actor");
        }

        return Id;
    }
}
