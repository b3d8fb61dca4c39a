using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace GridDispatch.Domain;

public static class EngineServiceCollectionExtensions
{
    /// <summary>
    /// The domain services grains depend on: options, the engine clock (system time unless one is registered first),
    /// the working calendar, deadline policy, difficulty scorer and category catalogue.
    /// </summary>
    public static IServiceCollection AddGridDispatchEngine(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<DispatchOptions>().Bind(configuration.GetSection(DispatchOptions.Section))
            .Validate(o => ValidLimits(o.Everyday) && ValidLimits(o.Emergency),
                "GridDispatch:Dispatch:<mode>:HandleLimits take 2- or 4-digit codes and limits like 30m, 2h, 5wh or 1wd")
            .Checked(DispatchOptions.Rules);
        services.AddOptions<DifficultyOptions>().Bind(configuration.GetSection(DifficultyOptions.Section)).Checked(DifficultyOptions.Rules);
        services.AddOptions<CalendarOptions>().Bind(configuration.GetSection(CalendarOptions.Section)).Checked(CalendarOptions.Rules);
        services.AddOptions<CommandOptions>().Bind(configuration.GetSection(CommandOptions.Section)).Checked(CommandOptions.Rules);
        services.AddOptions<CatalogOptions>().Bind(configuration.GetSection(CatalogOptions.Section)).Checked(CatalogOptions.Rules);
        services.TryAddSingleton(new EngineClock(TimeProvider.System));
        services.TryAddSingleton<WorkingCalendar>();
        services.TryAddSingleton<DeadlinePolicy>();
        services.TryAddSingleton<DifficultyScorer>();
        services.TryAddSingleton<CategoryCatalog>();
        services.TryAddSingleton(sp => sp.GetRequiredService<Microsoft.Extensions.Options.IOptions<CatalogOptions>>().Value.HouseholdTagsPath is { Length: > 0 } tags
            ? Register.HouseholdTagCatalog.Load(tags) : Register.HouseholdTagCatalog.LoadDefault());
        services.TryAddSingleton<Register.IHouseholdStore, Register.MemoryHouseholdStore>();
        services.TryAddSingleton<CommandAuthority>();
        services.TryAddSingleton<IIncidentEventSink, NoIncidentEventSink>();
        services.TryAddSingleton<IPersonalDataStore, MemoryPersonalDataStore>();
        services.TryAddSingleton<IIncidentStore, MemoryIncidentStore>();
        services.TryAddSingleton<IChangeFeed>(sp => sp.GetRequiredService<IIncidentStore>() as IChangeFeed
            ?? throw new InvalidOperationException("The incident store registered has no change feed: register an IChangeFeed with it"));
        services.TryAddSingleton<ILegacyIncidentRows, NoLegacyIncidentRows>();
        services.TryAddSingleton<Live.LiveFeed>();
        services.AddMetrics();
        services.TryAddSingleton<Telemetry.EngineMetrics>();
        return services;
    }

    private static bool ValidLimits(ModePolicy policy)
    {
        foreach (var (code, limit) in policy.HandleLimits)
        {
            if (!Identifiers.IsClassOrCategory(code))
            {
                return false;
            }

            try
            {
                TimeLimit.Parse(limit);
            }
            catch (FormatException)
            {
                return false;
            }
        }

        return true;
    }
}
