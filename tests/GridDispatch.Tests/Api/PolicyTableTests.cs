using GridDispatch.Api.Auth;
using GridDispatch.Tests.Infrastructure;

namespace GridDispatch.Tests.Api;

public sealed class PolicyTableTests
{
    private const string Start = "<!-- policy-table: generated from src/Api/Auth/Policy.cs, checked by PolicyTableTests -->";
    private const string End = "<!-- /policy-table -->";

    [Fact]
    public void Readme_shows_the_policy_table_as_it_is_in_code()
    {
        var readme = File.ReadAllText(Path.Combine(RepoPaths.Root, "README.md")).ReplaceLineEndings("\n");
        var expected = Policy.Markdown().ReplaceLineEndings("\n");
        var from = readme.IndexOf(Start, StringComparison.Ordinal);
        var to = readme.IndexOf(End, StringComparison.Ordinal);
        var shown = from >= 0 && to > from ? readme[(from + Start.Length)..to].Trim('\n') + "\n" : "";
        if (shown != expected)
        {
            // The table as it should read, for whoever changed the policy: paste it between the markers.
            Directory.CreateDirectory(Path.Combine(RepoPaths.Root, "artifacts"));
            File.WriteAllText(Path.Combine(RepoPaths.Root, "artifacts", "policy-table.md"), expected);
        }

        Assert.Equal(expected, shown);
    }

    [Fact]
    public void Every_act_has_at_least_one_grant_and_no_grant_repeats()
    {
        foreach (var (act, grants) in Policy.Table)
        {
            Assert.NotEmpty(grants);
            Assert.Equal(grants.Length, grants.Distinct().Count());
        }

        Assert.Equal(Enum.GetValues<Act>().Length, Policy.Table.Count);
    }
}
