using System.Collections.Immutable;
using System.Globalization;

namespace GridDispatch;

/// <summary>Worker actions on campaign tasks, addressed by task id ("{campaign}:{round}:{grid}:{target}").</summary>
public static class CampaignTasks
{
    public static string Id(string campaignId, int round, string grid, string target) =>
        string.Create(CultureInfo.InvariantCulture, $"{campaignId}:{round}:{grid}:{target}");

    /// <summary>(campaign id, round, grid code, target) of a task id, or null when it is not one.</summary>
    public static (string Campaign, int Round, string Grid, string Target)? Parse(string taskId)
    {
        var parts = taskId.Split(':');
        return parts.Length == 4 && int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var round)
            && RegionCode.IsValid(parts[2], RegionLevel.Grid) && parts[0].Length > 0 && parts[3].Length > 0
            ? (parts[0], round, parts[2], parts[3])
            : null;
    }

    /// <summary>The grid that owns a task id, or a refusal naming the field.</summary>
    public static IGridGrain GridOf(this IGrainFactory grains, string taskId) => Parse(taskId) is { } id
        ? grains.GetGrain<IGridGrain>(id.Grid)
        : throw new DomainException(DomainErrors.InvalidInput, "A campaign task id is campaign:round:grid:target", "taskId");

    /// <summary>
    /// The assigned worker's result. Each finding then becomes an incident of its own, reported from the task's grid
    /// with a stable external id, so a retried call reports nothing twice.
    /// </summary>
    public static async Task<(SweepTaskView Task, ImmutableArray<string> Incidents)> FinishTaskAsync(this IGrainFactory grains, string taskId, SweepResult result)
    {
        var findings = CheckFindings(result.Findings);

        // A finding whose category the catalogue does not know fails after the task is recorded; repeating the call
        // returns the recorded task and reports the findings again (each once, by its external id).
        var task = await grains.GridOf(taskId).FinishSweepTaskAsync(taskId, result with { Findings = findings });
        var household = HouseholdOf(task.Target);
        if (household is not null)
        {
            // The register's household hears of the visit: the campaign's visit counts as its in-person revisit.
            // Keyed by the task, so the documented retry of this call logs the visit once.
            await grains.GetGrain<IHouseholdGrain>(household).VisitAsync(new VisitCommand(result.Actor, VisitKind.InPerson,
                result.Reached ? (findings.IsEmpty ? VisitOutcome.Ok : VisitOutcome.Problem) : VisitOutcome.NotReachable,
                string.IsNullOrWhiteSpace(result.Note) ? $"campaign {task.CampaignId}" : $"campaign {task.CampaignId}: {result.Note}", taskId));
        }

        var incidents = ImmutableArray.CreateBuilder<string>();
        for (var i = 0; i < findings.Length; i++)
        {
            var f = findings[i];
            var externalId = string.Create(CultureInfo.InvariantCulture, $"{taskId}#{i + 1}");
            var report = new IncidentReport(f.Category, f.Severity, task.GridCode, f.Description, "campaign", externalId, null, null, result.Actor, household);
            var created = await grains.GetGrain<IIncidentGrain>(IncidentIds.For("campaign", externalId)).ReportAsync(report);
            if (household is not null)
            {
                await grains.GetGrain<IHouseholdGrain>(household).FindingReportedAsync(created.Incident.Id);
            }

            incidents.Add(created.Incident.Id);
        }

        return (task, incidents.ToImmutable());
    }

    /// <summary>The suffix of a household's second-visit task (its first visit found nobody).</summary>
    public const string SecondVisit = "~2";

    /// <summary>The register household a campaign target is (a check or delivery task, first or second visit), or null.</summary>
    public static string? HouseholdOf(string target)
    {
        var id = target.EndsWith(SecondVisit, StringComparison.Ordinal) ? target[..^SecondVisit.Length] : target;
        return HouseholdIds.IsHousehold(id) ? id : null;
    }

    /// <summary>Findings as reported (at most 20, each with a category, severity and description), or a refusal naming the one that is wrong.</summary>
    public static ImmutableArray<Finding> CheckFindings(ImmutableArray<Finding> given)
    {
        var findings = given.IsDefault ? [] : given;
        if (findings.Length > 20)
        {
            throw new DomainException(DomainErrors.InvalidInput, "At most 20 findings per task", "findings");
        }

        for (var i = 0; i < findings.Length; i++)
        {
            var f = findings[i];
            if (f is null || f.Category is not { Length: 4 } || !f.Category.All(char.IsAsciiDigit))
            {
                throw new DomainException(DomainErrors.InvalidInput, "A finding's category is a 4-digit category code", $"findings[{i}].category");
            }

            if (!Enum.IsDefined(f.Severity))
            {
                throw new DomainException(DomainErrors.InvalidInput, "Severity is routine, urgent or critical", $"findings[{i}].severity");
            }

            if (string.IsNullOrWhiteSpace(f.Description) || f.Description.Length > 4000)
            {
                throw new DomainException(DomainErrors.InvalidInput, "A description of 1–4000 characters is required", $"findings[{i}].description");
            }
        }

        return findings;
    }
}
