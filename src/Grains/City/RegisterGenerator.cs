using System.Collections.Immutable;
using System.Globalization;

namespace GridDispatch.City;

/// <summary>
/// A register for a grid of a simulated or generated city, from its counts: its buildings (the high-rise ones first,
/// 18–33 floors, the others 3–7), its households spread over them floor by floor, one person each with a made-up name
/// and phone, and tags in shares that look like a city's (elderly living alone 5 %, disabled 2 %, low income 2 %, at
/// risk of poverty 1 %, special population 0.5 %, vacant 3 %; rented homes and shops as the grid's counts say).
/// Deterministic: the same grid always gets the same register.
/// </summary>
public static class RegisterGenerator
{
    private static readonly string[] Surnames = ["王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭", "何", "林", "罗", "高"];
    private static readonly string[] Given = ["伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "涛", "明", "超", "秀英", "桂兰", "建华", "志强"];

    private static readonly (string Tag, double Share)[] Shares =
        [("elderly-alone", 0.05), ("disabled", 0.02), ("low-income", 0.02), ("poverty-watch", 0.01), ("special-population", 0.005), ("vacant", 0.03)];

    public static (ImmutableArray<HouseholdInput> Households, ImmutableArray<BuildingInfo> Buildings) For(GridEntry grid)
    {
        var random = new Random(StableSeed(grid.Code));
        var buildingCount = Math.Max(1, grid.Buildings);
        var households = Math.Max(1, grid.Households);
        var buildings = Enumerable.Range(1, buildingCount).Select(b => new BuildingInfo(grid.Code, $"{b}栋",
            $"{grid.Name} {b}栋", b <= grid.HighRiseBuildings ? random.Next(18, 34) : random.Next(3, 8))).ToImmutableArray();
        var list = ImmutableArray.CreateBuilder<HouseholdInput>(households);
        for (var i = 0; i < households; i++)
        {
            var building = buildings[i % buildingCount];
            var perBuilding = i / buildingCount;                 // the n-th household of its building
            var floors = building.Floors ?? 6;
            var unit = string.Create(CultureInfo.InvariantCulture, $"{perBuilding % floors + 1}{perBuilding / floors + 1:D2}");
            var tags = ImmutableArray.CreateBuilder<string>();
            if (i < grid.RentedHomes)
            {
                tags.Add("rented");
            }

            if (i >= households - Math.Min(grid.Shops, households / 10))
            {
                tags.Add("shop");
            }

            foreach (var (tag, share) in Shares)
            {
                if (random.NextDouble() < share)
                {
                    tags.Add(tag);
                }
            }

            var vacant = tags.Contains("vacant");
            var name = Surnames[random.Next(Surnames.Length)] + Given[random.Next(Given.Length)];
            var phone = string.Create(CultureInfo.InvariantCulture, $"1{random.Next(30, 90)}{random.Next(0, 100_000_000):D8}");
            list.Add(new HouseholdInput(building.Name, unit, vacant ? 1 : random.Next(1, 6), tags.ToImmutable(),
                vacant ? [] : [new PersonInput(name, phone)]));
        }

        return (list.MoveToImmutable(), buildings);
    }

    private static int StableSeed(string code)
    {
        var hash = 17;
        foreach (var c in code)
        {
            hash = unchecked(hash * 31 + c);
        }

        return hash;
    }
}
