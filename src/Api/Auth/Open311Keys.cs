using System.Security.Cryptography;
using System.Text;

namespace GridDispatch.Api.Auth;

/// <summary>
/// The api_key of each Open311 app (section "GridDispatch:Open311:ApiKeys", app name → key). An app's key is revoked by
/// removing it from configuration; keys are compared in constant time and never logged or returned.
/// </summary>
public sealed class Open311Keys(IConfiguration configuration)
{
    public const string Section = "GridDispatch:Open311:ApiKeys";

    /// <summary>The app a key was issued to, or null.</summary>
    public string? AppFor(string key)
    {
        var offered = Encoding.UTF8.GetBytes(key);
        foreach (var app in configuration.GetSection(Section).GetChildren())
        {
            if (app.Value is { Length: > 0 } issued && CryptographicOperations.FixedTimeEquals(offered, Encoding.UTF8.GetBytes(issued)))
            {
                return app.Key;
            }
        }

        return null;
    }
}
