using GridDispatch.Register;

namespace GridDispatch.Tests.Register;

/// <summary>The household import file: every line checked, every error named by line and column, nothing half-taken.</summary>
public sealed class HouseholdCsvTests
{
    private static readonly HouseholdTagCatalog Tags = HouseholdTagCatalog.LoadDefault();

    private const string Header = "building,unit,size,tags,name,phone\n";

    [Fact]
    public void A_good_file_gives_every_household_with_its_line()
    {
        var import = HouseholdCsv.Parse(
            "\uFEFFBuilding,Unit,Size,Tags,Name,Phone\r\n"
            + "3栋,1单元101,3,rented;shop,张伟,13800138000\r\n"
            + "\"Lane 5, No. 2\",,1,elderly-alone; low-income ; elderly-alone,\"Li \"\"Old\"\" Wang\",+86 755-8888-1234\r\n"
            + "\r\n"
            + "3栋,1单元102,2,,,\r\n", Tags);

        Assert.True(import.Ok, string.Join("; ", import.Errors));
        Assert.Equal(3, import.Rows.Count);
        var first = import.Rows[0];
        Assert.Equal((2, "3栋", "1单元101", 3, "张伟", "13800138000"), (first.Line, first.Building, first.Unit, first.Size, first.Name, first.Phone));
        Assert.Equal(["rented", "shop"], first.Tags.ToArray());
        var house = import.Rows[1];
        Assert.Equal(("Lane 5, No. 2", (string?)null, "Li \"Old\" Wang"), (house.Building, house.Unit, house.Name));
        Assert.Equal(["elderly-alone", "low-income"], house.Tags.ToArray());
        Assert.Equal(5, import.Rows[2].Line);
        Assert.Null(import.Rows[2].Phone);
    }

    [Fact]
    public void One_bad_line_refuses_the_file_and_every_bad_line_is_named()
    {
        var import = HouseholdCsv.Parse(Header
            + "1栋,101,3,,,\n"                       // line 2: fine
            + "1栋,102,3,,\n"                        // line 3: five columns
            + "1栋,103,zero,,,\n"                    // line 4: size
            + "1栋,104,2,haunted,,\n"                // line 5: unknown tag
            + ",105,2,,,\n"                          // line 6: no building
            + "1栋,101,1,,,\n"                       // line 7: household of line 2 again
            + "1栋,106,2,,,call me\n"                // line 8: phone
            + "1栋,107,51,,,\n", Tags);              // line 9: size over the limit

        Assert.False(import.Ok);
        Assert.Empty(import.Rows);
        Assert.Equal(
            [(3, null), (4, "size"), (5, "tags"), (6, "building"), (7, "unit"), (8, "phone"), (9, "size")],
            import.Errors.Select(e => (e.Line, e.Field)));
        Assert.Contains("haunted", import.Errors.Single(e => e.Line == 5).Message, StringComparison.Ordinal);
        Assert.Contains("line 2", import.Errors.Single(e => e.Line == 7).Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("", 1)]
    [InlineData("building,unit,size,tags,name\n1,2,3,,\n", 1)]
    [InlineData("unit,building,size,tags,name,phone\n", 1)]
    public void A_file_without_the_header_is_refused_at_line_1(string text, int line)
    {
        var import = HouseholdCsv.Parse(text, Tags);
        Assert.False(import.Ok);
        Assert.Equal(line, Assert.Single(import.Errors).Line);
    }

    [Fact]
    public void A_quoted_field_spanning_lines_is_read_as_one_record_and_refused_and_an_unclosed_one_refuses_the_file()
    {
        // A line break is no part of an address: the record is refused, and the next record's line is still right.
        var spanning = HouseholdCsv.Parse(Header + "\"Block A\nNorth gate\",1,2,,,\n2栋,1,x,,,\n", Tags);
        Assert.Equal([(2, "building"), (4, "size")], spanning.Errors.Select(e => (e.Line, e.Field)));

        var unclosed = HouseholdCsv.Parse(Header + "1栋,1,2,,\"Zhang,\n", Tags);
        Assert.False(unclosed.Ok);
        Assert.Contains(unclosed.Errors, e => e.Line == 2 && e.Message.Contains("not closed", StringComparison.Ordinal));
    }

    [Fact]
    public void Control_characters_and_overlong_text_are_refused()
    {
        var import = HouseholdCsv.Parse(Header + $"1栋,1,2,,Zh\u0000ang,\n1栋,2,2,,{new string('名', 51)},\n", Tags);
        Assert.Equal([(2, "name"), (3, "name")], import.Errors.Select(e => (e.Line, e.Field)));
    }

    [Fact]
    public void Errors_past_the_limit_are_counted_not_listed_and_a_file_over_the_row_limit_is_refused()
    {
        var bad = Header + string.Concat(Enumerable.Range(0, 150).Select(i => $"1栋,{i},x,,,\n"));
        var import = HouseholdCsv.Parse(bad, Tags);
        Assert.Equal((HouseholdCsv.MaxErrors, 150), (import.Errors.Count, import.ErrorCount));

        var big = Header + string.Concat(Enumerable.Range(0, 11).Select(i => $"1栋,{i},1,,,\n"));
        var refused = HouseholdCsv.Parse(big, Tags, maxRows: 10);
        Assert.False(refused.Ok);
        Assert.Contains("More than 10", Assert.Single(refused.Errors).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_tag_catalogue_refuses_malformed_codes_and_duplicates()
    {
        Assert.True(Tags.TryGet("isolated", out var isolated) && isolated.Personal);
        Assert.Throws<InvalidDataException>(() => new HouseholdTagCatalog([new HouseholdTag("Elderly", "x", "x", true)]));
        Assert.Throws<InvalidDataException>(() => new HouseholdTagCatalog([new HouseholdTag("a", "x", "x", true), new HouseholdTag("a", "y", "y", false)]));
    }
}
