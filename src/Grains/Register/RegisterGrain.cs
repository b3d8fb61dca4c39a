using System.Collections.Immutable;
using GridDispatch.Domain;
using Orleans.Concurrency;

namespace GridDispatch.Register;

/// <summary>
/// The register's entry for the API host: imports (merged into what the grid holds, written as one transaction) and
/// paged reads. Stateless: any silo runs it next to its caller; a household's own changes go through its grain.
/// </summary>
[StatelessWorker]
public sealed class RegisterGrain(IHouseholdStore store, HouseholdTagCatalog tags, EngineClock clock) : Grain, IRegisterGrain
{
    private const int Attempts = 4;
    public const int MaxPageSize = 500;

    /// <summary>The most households one grid holds (a grid is 30–300 households; imports beyond this are refused).</summary>
    public const int MaxHouseholdsPerGrid = 20_000;

    public async Task<ImportOutcome> ImportAsync(string gridCode, ImmutableArray<HouseholdInput> households, string actor, string reason) =>
        households.IsDefaultOrEmpty
            ? new ImportOutcome(gridCode, 0, 0, 0)
            : (await ImportRegionAsync(ImmutableDictionary<string, ImmutableArray<HouseholdInput>>.Empty.Add(gridCode, households), actor, reason))[0];

    public async Task<ImmutableArray<ImportOutcome>> ImportRegionAsync(ImmutableDictionary<string, ImmutableArray<HouseholdInput>> byGrid, string actor, string reason)
    {
        var grids = byGrid.Keys.Order(StringComparer.Ordinal).ToList();
        foreach (var chunk in grids.Chunk(32))
        {
            // A grid the city does not have is refused before anything is written: not found, the grid's code as the field.
            var modes = await Task.WhenAll(chunk.Select(g => GrainFactory.Reference<IGridGrain>(g).GetModeAsync()));
            if (Array.IndexOf(modes, null) is var missing and >= 0)
            {
                throw new DomainException(DomainErrors.NotFound, $"No grid {chunk[missing]} in the city", chunk[missing]);
            }
        }

        for (var attempt = 1; ; attempt++)
        {
            var now = clock.Now;
            var changes = new List<HouseholdChange>();
            var outcomes = new List<ImportOutcome>(grids.Count);
            foreach (var grid in grids)
            {
                var existing = (await store.InGridAsync(grid)).ToDictionary(r => r.Id, StringComparer.Ordinal);
                var people = existing.Count == 0 ? new Dictionary<string, IReadOnlyList<PersonRecord>>() : await store.PeopleOfGridAsync(grid);
                var added = byGrid[grid].Count(h => !existing.ContainsKey(HouseholdIds.Household(grid, h.Building, h.Unit)));
                if (existing.Count + added > MaxHouseholdsPerGrid)
                {
                    throw new DomainException(DomainErrors.InvalidInput,
                        $"Grid {grid} would hold {existing.Count + added:N0} households; a grid holds at most {MaxHouseholdsPerGrid:N0} (30–300 is usual)", "body");
                }

                outcomes.Add(Merge(grid, byGrid[grid], existing, people, actor, reason, now, changes));
            }

            try
            {
                await store.WriteAsync(changes);   // every grid's changes in one transaction: all of the file or none
            }
            catch (HouseholdConflictException) when (attempt < Attempts)
            {
                continue;   // a household changed meanwhile: merge into what is there now
            }
            catch (HouseholdConflictException)
            {
                throw new DomainException(DomainErrors.Conflict, "The households kept changing during the import; nothing was imported, try again");
            }

            foreach (var outcome in outcomes.Where(o => o.Added + o.Updated > 0))
            {
                await GrainFactory.Reference<IGridGrain>(outcome.GridCode).HouseholdsChangedAsync();
            }

            return [.. outcomes];
        }
    }

    /// <summary>One grid's file merged into what it holds: new households registered, changed ones updated, the rest only get their people written.</summary>
    private ImportOutcome Merge(string gridCode, ImmutableArray<HouseholdInput> households, Dictionary<string, HouseholdRecord> existing,
        IReadOnlyDictionary<string, IReadOnlyList<PersonRecord>> existingPeople, string actor, string reason, DateTimeOffset now, List<HouseholdChange> changes)
    {
        int added = 0, updated = 0, unchanged = 0;
        foreach (var input in households)
        {
            var id = HouseholdIds.Household(gridCode, input.Building, input.Unit);
            var people = input.People.IsDefault ? [] : input.People.Select((p, i) => new PersonRecord(i + 1, p.Name, p.Phone, p.IdNumber)).ToList();
            var inputTags = input.Tags.IsDefault ? [] : input.Tags.Order(StringComparer.Ordinal).ToArray();
            if (existing.TryGetValue(id, out var row))
            {
                var stored = existingPeople.GetValueOrDefault(id) ?? [];
                var samePeople = stored.Where(p => p.ErasedAt is null).Select(p => (p.Name, p.Phone, p.IdNumber))
                    .SequenceEqual(people.Select(p => (p.Name, p.Phone, p.IdNumber)));
                var sameRow = row.Size == input.Size && row.Tags.Order(StringComparer.Ordinal).SequenceEqual(inputTags);
                if (sameRow && samePeople)
                {
                    unchanged++;
                    continue;
                }

                var next = row.Copy();
                var what = sameRow ? $"{reason}: people updated ({people.Count})"
                    : $"{reason}: size {row.Size} → {input.Size}, tags [{string.Join(',', row.Tags)}] → [{string.Join(',', inputTags)}]"
                      + (samePeople ? "" : $", people updated ({people.Count})");
                (next.Size, next.Tags, next.UpdatedAt) = (input.Size, inputTags, now);
                Evaluate(next, now);
                changes.Add(new HouseholdChange(next, row.Version, samePeople ? null : people, new HouseholdLogEntry(now, actor, "import", what)));
                updated++;
            }
            else
            {
                var next = new HouseholdRecord
                {
                    Id = id, Grid = gridCode, Building = input.Building, Unit = input.Unit is { Length: > 0 } u ? u : null,
                    Size = input.Size, Tags = inputTags, RegisteredAt = now, UpdatedAt = now, RegisteredBy = actor, RegisteredWhy = reason,
                };
                Evaluate(next, now);
                changes.Add(new HouseholdChange(next, 0, people, new HouseholdLogEntry(now, actor, "import", $"{reason}: registered")));
                added++;
            }
        }

        return new ImportOutcome(gridCode, added, updated, unchanged);
    }

    public async Task<ImmutableArray<HouseholdExportRow>> ExportAsync(string gridCode)
    {
        var rows = await store.InGridAsync(gridCode);
        var people = await store.PeopleOfGridAsync(gridCode);
        return [.. rows.Select(h =>
        {
            var first = people.TryGetValue(h.Id, out var list) ? list.FirstOrDefault(p => p.ErasedAt is null) : null;
            return new HouseholdExportRow(h.Building, h.Unit, h.Size, [.. h.Tags], h.Colour, h.RevisitDueAt, Masking.Name(first?.Name), Masking.Phone(first?.Phone));
        })];
    }

    /// <summary>
    /// The import sets the rules' colour, but leaves a warning to the household's grain: a row whose causes call for
    /// one is made due now, so the sweeper wakes it at once.
    /// </summary>
    private void Evaluate(HouseholdRecord row, DateTimeOffset now)
    {
        if (HouseholdRules.Evaluate(row, now, tags) != Colour.Green && row.WarningId is null)
        {
            row.DueAt = now;
        }
    }

    public async Task<bool> SeedAsync(string gridCode, ImmutableArray<HouseholdInput> households, ImmutableArray<BuildingInfo> buildings)
    {
        if ((await store.ListAsync(gridCode, null, null, 0, 1)).Total > 0)
        {
            // Registered already (by another silo, or a cluster before this one): the grid counts what is there.
            await GrainFactory.Reference<IGridGrain>(gridCode).HouseholdsChangedAsync();
            return false;
        }

        var now = clock.Now;
        var changes = households.Select(input =>
        {
            var row = new HouseholdRecord
            {
                Id = HouseholdIds.Household(gridCode, input.Building, input.Unit), Grid = gridCode, Building = input.Building,
                Unit = input.Unit is { Length: > 0 } u ? u : null, Size = input.Size, Tags = [.. input.Tags.Order(StringComparer.Ordinal)],
                RegisteredAt = now, UpdatedAt = now, RegisteredBy = "city-loader", RegisteredWhy = "registered with the city",
            };
            Evaluate(row, now);
            return new HouseholdChange(row, 0, [.. input.People.Select((p, i) => new PersonRecord(i + 1, p.Name, p.Phone, p.IdNumber))],
                new HouseholdLogEntry(now, "city-loader", "import", "registered with the city"));
        }).ToList();
        try
        {
            await store.WriteAsync(changes, buildings);
        }
        catch (HouseholdConflictException)
        {
            await GrainFactory.Reference<IGridGrain>(gridCode).HouseholdsChangedAsync();
            return false;   // another silo seeded it first: the grid counts what it wrote
        }

        await GrainFactory.Reference<IGridGrain>(gridCode).HouseholdsChangedAsync();
        return true;
    }

    public async Task<HouseholdPage> ListAsync(string gridCode, Colour? colour, string? tag, int page, int pageSize)
    {
        page = Math.Max(1, page);
        pageSize = Math.Clamp(pageSize, 1, MaxPageSize);
        var (items, total) = await store.ListAsync(gridCode, colour, tag, (page - 1) * pageSize, pageSize);
        return new HouseholdPage([.. items.Select(h => HouseholdViews.Of(h, null, null))], page, pageSize, total);
    }

    public async Task<ImmutableArray<BuildingView>> BuildingsAsync(string gridCode) => [.. await store.BuildingsAsync(gridCode)];

    public async Task<ImmutableArray<DueRevisit>> DueRevisitsAsync(string gridCode, DateTimeOffset upTo, int limit) =>
        [.. (await store.RevisitsDueAsync(gridCode, upTo, Math.Clamp(limit, 1, MaxPageSize)))
            .Select(h => new DueRevisit(h.Id, h.Building, h.Unit, h.RevisitKind ?? VisitKind.Phone, h.RevisitDueAt!.Value, h.Colour))];
}

/// <summary>How an export shows personal data: enough to recognise a household at the door, not to contact or identify anyone.</summary>
public static class Masking
{
    /// <summary>王芳 → 王*, Li Lei → L******.</summary>
    public static string? Name(string? name) => name is not { Length: > 0 } ? null : name[..1] + new string('*', Math.Max(1, name.Length - 1));

    /// <summary>13800000001 → 138****0001 (a mobile number: its first three and last four digits); any shorter number shows its last two only.</summary>
    public static string? Phone(string? phone)
    {
        var digits = phone is null ? "" : new string([.. phone.Where(char.IsAsciiDigit)]);
        return digits.Length == 0 ? null
            : digits.Length >= 11 ? $"{digits[..3]}{new string('*', digits.Length - 7)}{digits[^4..]}"
            : new string('*', Math.Max(0, digits.Length - 2)) + digits[^Math.Min(2, digits.Length)..];
    }
}

/// <summary>A campaign's targets at one grid from its register.</summary>
public static class RegisterTargets
{
    /// <summary>Buildings for a sweep; households for a check (those with one of <paramref name="tags"/>, if any); isolated households for a delivery.</summary>
    public static IEnumerable<string> Of(string gridCode, IReadOnlyList<HouseholdRecord> rows, CampaignKind kind, IReadOnlyCollection<string>? tags)
    {
        if (kind == CampaignKind.SweepBuildings)
        {
            return rows.Select(r => r.Building).Distinct(StringComparer.Ordinal).Select(b => HouseholdIds.Building(gridCode, b));
        }

        IReadOnlyCollection<string> wanted = kind == CampaignKind.DeliverSupplies ? ["isolated"] : tags ?? [];
        return rows.Where(r => wanted.Count == 0 || r.Tags.Any(wanted.Contains)).Select(r => r.Id);
    }
}
