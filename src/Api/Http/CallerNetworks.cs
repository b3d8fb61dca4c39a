using System.Net;
using Microsoft.Extensions.Options;

namespace GridDispatch.Api.Http;

/// <summary>
/// Who may reach an operator's endpoint that has no token of its own (the development issuer, the Prometheus scrape):
/// this machine, or a network an operator named in settings (CIDR). A request carrying a proxy's forwarding header is
/// never admitted: it came through a proxy or the ingress, and a proxy on this machine makes every client look local.
/// </summary>
public sealed class CallerNetworks
{
    private static readonly string[] ProxyHeaders = ["X-Forwarded-For", "X-Original-For", "Forwarded", "X-Real-IP"];

    private readonly IReadOnlyList<IPNetwork> _allowed;

    private CallerNetworks(IReadOnlyList<IPNetwork> allowed) => _allowed = allowed;

    /// <summary>The networks of setting <paramref name="setting"/>; one that is not a network stops the start, named.</summary>
    public static CallerNetworks Parse(IReadOnlyList<string> cidrs, string setting)
    {
        var failures = cidrs.Select((cidr, i) => IPNetwork.TryParse(cidr, out _) ? null : $"{setting}:{i} is a network in CIDR form (172.28.0.0/16), not '{cidr}'")
            .OfType<string>().ToList();
        if (failures.Count > 0)
        {
            throw new OptionsValidationException(setting, typeof(CallerNetworks), failures);
        }

        return new CallerNetworks([.. cidrs.Select(c => IPNetwork.Parse(c))]);
    }

    public bool Admits(HttpContext context) =>
        context.Connection.RemoteIpAddress is { } address
        && (IPAddress.IsLoopback(address) || _allowed.Any(n => n.Contains(address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address)))
        && !ProxyHeaders.Any(h => context.Request.Headers.ContainsKey(h));
}
