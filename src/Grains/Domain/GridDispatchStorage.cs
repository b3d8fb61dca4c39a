namespace GridDispatch.Domain;

/// <summary>Names of the storage providers, in one place.</summary>
public static class GridDispatchStorage
{
    /// <summary>Grain state of every GridDispatch grain.</summary>
    public const string Name = "griddispatch";
}
