using System.Security.Claims;
using GridDispatch.Api.Auth;

namespace GridDispatch.Tests.Api;

/// <summary>The relations of the policy at their edges, written by hand (not derived from the table).</summary>
public sealed class PolicyRelationTests
{
    private static Caller Token(string role, string? scope, string id = "someone")
    {
        var claims = new List<Claim> { new(GridClaims.Subject, id), new(GridClaims.Role, role) };
        if (scope is not null)
        {
            claims.Add(new Claim(GridClaims.Scope, scope));
        }

        return Caller.From(new ClaimsPrincipal(new ClaimsIdentity(claims, "test")));
    }

    [Theory]
    [InlineData("street-admin", "44")]                   // a short prefix would cover whole cities
    [InlineData("street-admin", "449901")]               // a district code in a street administrator's token
    [InlineData("worker", "449901001")]                  // a worker's region is a grid
    [InlineData("commander", "449901001001001")]         // commanders command a city, district or street
    [InlineData("department", "4499:")]                  // no department name
    [InlineData("department", "44:city-management")]     // no city
    [InlineData("grid-leader", null)]
    public void A_token_whose_region_is_not_a_code_of_its_roles_level_is_refused(string role, string? scope)
    {
        var refused = Assert.Throws<DomainException>(() => Token(role, scope));
        Assert.Equal(DomainErrors.NotAllowed, refused.Code);
    }

    [Fact]
    public void A_residents_region_claim_means_nothing()
    {
        var resident = Token("resident", "4499");
        Assert.Null(resident.Scope);
        Assert.Null(Policy.Decide(resident, Act.RegionRead, Target.RegionOf("4499")));
    }

    [Fact]
    public void Regions_cover_by_code_not_by_any_prefix()
    {
        var street = Token("street-admin", "449901001");
        Assert.True(Policy.Holds(street, Relation.InRegion, Target.RegionOf("449901001002003")));
        Assert.False(Policy.Holds(street, Relation.InRegion, Target.RegionOf("449901002001001")));   // the neighbouring street
        Assert.False(Policy.Holds(street, Relation.InRegion, Target.RegionOf("449901")));            // the district above
        Assert.False(Policy.Holds(street, Relation.InRegion, new Target("nothing")));
    }

    [Fact]
    public void A_department_with_no_name_owns_nothing_and_departments_stay_in_their_city()
    {
        var officer = Token("department", "4499:city-management");
        var noOwner = new Target("incident", Region: "449901001001001", OwningDepartment: null);
        Assert.False(Policy.Holds(officer, Relation.OwningDepartment, noOwner));
        Assert.True(Policy.Holds(officer, Relation.OwningDepartment, noOwner with { OwningDepartment = "city-management" }));
        Assert.False(Policy.Holds(officer, Relation.OwningDepartment, noOwner with { OwningDepartment = "city-management", Region = "449801001001001" }));
        Assert.False(Policy.Holds(officer, Relation.AssignedDepartment, noOwner with { AssignedDepartment = "4498:city-management" }));
        Assert.True(Policy.Holds(officer, Relation.AssignedDepartment, noOwner with { AssignedDepartment = "4499:city-management" }));
    }

    [Fact]
    public void Supervisors_rate_for_a_resident_only_when_the_incident_names_no_reporter()
    {
        var leader = Token("grid-leader", "449901001001001");
        var incident = new Target("incident", Region: "449901001001001", Reporter: "resident-1");
        Assert.Null(Policy.Decide(leader, Act.IncidentRate, incident));
        Assert.NotNull(Policy.Decide(leader, Act.IncidentRate, incident with { Reporter = null }));
        Assert.NotNull(Policy.Decide(Token("resident", null, "resident-1"), Act.IncidentRate, incident));
    }

    [Fact]
    public void Where_a_case_goes_is_decided_by_the_unit_it_is_at_now()
    {
        var leader = Token("grid-leader", "449901001001001");
        var escalated = new Target("incident", Region: "449901001001001", Unit: "449901001001");
        foreach (var act in new[] { Act.IncidentAssign, Act.IncidentCancel, Act.IncidentDefer, Act.IncidentResume, Act.IncidentEscalate })
        {
            Assert.Null(Policy.Decide(leader, act, escalated));
            Assert.NotNull(Policy.Decide(Token("community-admin", "449901001001"), act, escalated));
        }

        Assert.NotNull(Policy.Decide(leader, Act.IncidentVerify, escalated));     // the grid still checks the work done in it
    }
}
