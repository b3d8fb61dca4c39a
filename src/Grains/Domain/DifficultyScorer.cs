using Microsoft.Extensions.Options;

namespace GridDispatch.Domain;

/// <summary>Grid difficulty from weighted counts, and the number of workers it calls for.</summary>
public sealed class DifficultyScorer(IOptions<DifficultyOptions> options)
{
    private readonly DifficultyOptions _o = options.Value;

    public double Score(GridDefinition g) =>
        g.Households * _o.HouseholdWeight
        + g.FloatingPopulation * _o.FloatingPopulationWeight
        + g.RentedHomes * _o.RentedHomeWeight
        + g.Shops * _o.ShopWeight
        + g.HighRiseBuildings * _o.HighRiseBuildingWeight;

    public int RecommendedWorkers(GridDefinition g) =>
        Math.Max(1, (int)Math.Ceiling(Score(g) / _o.ScorePerWorker));
}
