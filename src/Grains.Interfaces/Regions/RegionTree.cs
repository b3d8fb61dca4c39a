namespace GridDispatch;

public static class RegionTree
{
    /// <summary>
    /// The grid codes under a region (or the code itself for a grid), found by walking the regions' definitions down,
    /// level by level, <paramref name="width"/> calls at a time. Uses only Task.WhenAll, so it runs inside a grain
    /// (on its scheduler) as well as in a client. An undefined region on the way is a NotFound refusal.
    /// </summary>
    public static async Task<IReadOnlyList<string>> GridsUnderAsync(IGrainFactory grains, string code, int width = 16)
    {
        var level = new List<string> { code };
        while (level.Count > 0 && RegionCode.LevelOf(level[0]) != RegionLevel.Grid)
        {
            var next = new List<string>();
            foreach (var batch in level.Chunk(width))
            {
                foreach (var view in await Task.WhenAll(batch.Select(c => grains.GetRegion(c).GetAsync())))
                {
                    next.AddRange(view.Definition.Children);
                }
            }

            level = next;
        }

        return level;
    }
}
