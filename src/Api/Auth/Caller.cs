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
/// Who is calling, from a validated token: subject, role, the region (or "{city}:{department}") they act in and, for an
/// integration (a hotline, a sensor gateway), the intake source its token is bound to. What the caller may do is
/// <see cref="Policy"/>'s to decide.
/// </summary>
public sealed record Caller(string Id, CallerRole Role, string? Scope, string? Source = null)
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

        // A resident acts for themself only: a region in their token means nothing. Everyone else's region must be a
        // real code of their level (a department's "{city}:{department}"), so no short prefix covers half the country.
        var scope = r == CallerRole.Resident ? null : user.FindFirstValue(GridClaims.Scope);
        if (r is not CallerRole.Resident && !ValidScope(r, scope))
        {
            throw new DomainException(DomainErrors.NotAllowed, $"A {role} token must name the region it acts in, as a code of its level", "token");
        }

        var source = user.FindFirstValue(GridClaims.Source);
        return new Caller(id, r, scope, string.IsNullOrEmpty(source) ? null : source);
    }

    private static bool ValidScope(CallerRole role, string? scope) => role switch
    {
        CallerRole.Worker or CallerRole.GridLeader => RegionCode.IsValid(scope, RegionLevel.Grid),
        CallerRole.CommunityAdmin => RegionCode.IsValid(scope, RegionLevel.Community),
        CallerRole.StreetAdmin => RegionCode.IsValid(scope, RegionLevel.Street),
        CallerRole.DistrictAdmin => RegionCode.IsValid(scope, RegionLevel.District),
        CallerRole.Commander => RegionCode.TryGetLevel(scope, out var level) && level is RegionLevel.City or RegionLevel.District or RegionLevel.Street,
        CallerRole.Department => scope is { Length: > 5 } key && key[4] == ':' && RegionCode.IsValid(key[..4], RegionLevel.City)
            && key[5..].All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_'),
        _ => false,
    };

    /// <summary>The city a department officer serves.</summary>
    public string? City => Role == CallerRole.Department && Scope is { Length: > 5 } s ? s[..4] : null;

    public static string RoleName(CallerRole role) => Roles.First(kv => kv.Value == role).Key;

    /// <summary>Administrators, leaders and commanders: everything under their region.</summary>
    public bool Supervises => Role is CallerRole.GridLeader or CallerRole.CommunityAdmin or CallerRole.StreetAdmin or CallerRole.DistrictAdmin
        or CallerRole.Commander;

    /// <summary>The department a department officer belongs to (the part after the city code).</summary>
    public string? Department => Role == CallerRole.Department && Scope is { Length: > 5 } s ? s[5..] : null;

    /// <summary>True when <paramref name="code"/> (a region or grid) lies in this caller's region.</summary>
    public bool Covers(string code) => Role switch
    {
        CallerRole.Worker => Scope is not null && code.StartsWith(Scope, StringComparison.Ordinal) && RegionCode.IsValid(code),
        _ when Supervises => Scope is not null && code.StartsWith(Scope, StringComparison.Ordinal),
        _ => false,
    };

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
