namespace GridDispatch.Incidents;

/// <summary>What a command must satisfy before it makes any entry: its input, the state, and who may take a worker's step.</summary>
public sealed partial class IncidentGrain
{
    /// <summary>
    /// A worker step comes from the assignee: the worker it is with, or an officer of the department it is with (the
    /// department the API verified from the caller's token travels in the command).
    /// </summary>
    private void RequireAssignee(ActorCommand command)
    {
        switch (S.Assignee)
        {
            case { Kind: AssigneeKind.Worker } worker when worker.Id != command.Actor:
                throw new DomainException(DomainErrors.NotAllowed, $"Only the assigned worker ({worker.Id}) may do this", "actor");
            case { Kind: AssigneeKind.Department } department when department.Id != command.Department:
                throw new DomainException(DomainErrors.NotAllowed, $"Only an officer of department {department.Id} may do this", "actor");
        }
    }

    private void Expect(IncidentEventKind kind)
    {
        if (!S.Exists)
        {
            throw new DomainException(DomainErrors.NotFound, $"No incident '{Id}'");
        }

        IncidentRules.Next(kind, S.State);
    }

    private static void RequireActor(ActorCommand command, bool reasonRequired = false)
    {
        if (string.IsNullOrWhiteSpace(command.Actor) || command.Actor.Length > 128)
        {
            throw new DomainException(DomainErrors.InvalidInput, "An actor (1–128 characters) is required", "actor");
        }

        if (reasonRequired && string.IsNullOrWhiteSpace(command.Reason))
        {
            throw new DomainException(DomainErrors.InvalidInput, "A reason is required for this step", "reason");
        }

        if (command.Reason is { Length: > 4000 })
        {
            throw new DomainException(DomainErrors.InvalidInput, "The reason is longer than 4000 characters", "reason");
        }
    }

    private void ValidateReport(IncidentReport r)
    {
        if (!catalog.TryGet(r.Category, out _))
        {
            throw new DomainException(DomainErrors.InvalidInput, $"Unknown category '{r.Category}'", "category");
        }

        if (!Enum.IsDefined(r.Severity))
        {
            throw new DomainException(DomainErrors.InvalidInput, $"Unknown severity '{r.Severity}'", "severity");
        }

        if (!RegionCode.IsValid(r.GridCode, RegionLevel.Grid))
        {
            throw new DomainException(DomainErrors.InvalidInput, "A grid code has 15 digits", "gridCode");
        }

        if (string.IsNullOrWhiteSpace(r.Description) || r.Description.Length > 4000)
        {
            throw new DomainException(DomainErrors.InvalidInput, "A description of 1–4000 characters is required", "description");
        }

        if (string.IsNullOrWhiteSpace(r.Source) || r.Source.Length > 64)
        {
            throw new DomainException(DomainErrors.InvalidInput, "A source of 1–64 characters is required", "source");
        }

        if (r.ExternalId is { Length: > 128 })
        {
            throw new DomainException(DomainErrors.InvalidInput, "The external id is longer than 128 characters", "externalId");
        }

        if (r.Location is { IsValid: false })
        {
            throw new DomainException(DomainErrors.InvalidInput, "Latitude must be within ±90 and longitude within ±180", "location");
        }

        RequireActor(new ActorCommand(r.Actor));
    }
}
