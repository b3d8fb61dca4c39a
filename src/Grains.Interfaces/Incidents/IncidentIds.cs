using System.Security.Cryptography;
using System.Text;

namespace GridDispatch;

/// <summary>Incident ids. The same source and external id always give the same id, which makes intake idempotent.</summary>
public static class IncidentIds
{
    public static string New() => Guid.NewGuid().ToString("N");

    public static string For(string source, string? externalId) =>
        string.IsNullOrEmpty(externalId) ? New() : "x" + Hash($"{source}\n{externalId}")[..31];

    internal static string Hash(string text) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));

    /// <summary>A digest of what a report says, to tell a repeat of the same request from a different one under the same key.</summary>
    public static string Fingerprint(IncidentReport r) =>
        Hash(string.Join('\u001f', r.Category, r.Severity, r.GridCode, r.Description, r.Source, r.ExternalId ?? "",
            r.Location?.Latitude.ToString("R", System.Globalization.CultureInfo.InvariantCulture) ?? "",
            r.Location?.Longitude.ToString("R", System.Globalization.CultureInfo.InvariantCulture) ?? ""))[..32];
}
