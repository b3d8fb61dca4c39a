using GridDispatch.Domain;
namespace GridDispatch.Incidents;

/// <summary>The reporter's personal data, kept apart from the timeline (<see cref="IPersonalDataStore"/>).</summary>
public sealed partial class IncidentGrain
{
    /// <summary>
    /// The reporter's contact comes from the personal-data store. A state written by an older version still holds it
    /// inside the report: it is moved to the store and stripped from the state (the migration did the same to the log).
    /// </summary>
    private async Task LoadContactAsync()
    {
        if (S.Timeline.Any(e => e.Kind == IncidentEventKind.PersonalDataErased))
        {
            // Erased: the entry is committed before the store is blanked, so blank it again in case that step was lost.
            _contact = null;
            await TryAsync(() => personalData.EraseAsync(Id, SystemActor));
            return;
        }

        var legacy = ReporterContact.Of(S.R.Reporter);
        try
        {
            if (legacy is not null)
            {
                await personalData.SaveAsync(Id, S.R.Reporter!.Id, legacy);
                S.StripContact();
                await Timeline.SaveSnapshotAsync();
                _contact = legacy;
                return;
            }

            _contact = S.R.Reporter is null ? null : await personalData.GetAsync(Id);     // no reporter, no contact to read
        }
        catch (Exception ex) when (ex is not DomainException)
        {
            // The incident works without its reporter's contact: a store that is away costs the contact, not the case.
            LogContactUnavailable(ex, Id);
            _contact = legacy;
        }
    }

    private async Task TryAsync(Func<Task> step)
    {
        try
        {
            await step();
        }
        catch (Exception ex) when (ex is not DomainException)
        {
            LogContactUnavailable(ex, Id);
        }
    }

    private static void ValidateContact(ReporterContact c)
    {
        foreach (var (value, field) in new[] { (c.Name, "reporter.name"), (c.Phone, "reporter.phone"), (c.Address, "reporter.address") })
        {
            if (value is { Length: > 200 })
            {
                throw new DomainException(DomainErrors.InvalidInput, $"'{field}' is longer than 200 characters", field);
            }
        }
    }
}
