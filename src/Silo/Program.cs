using GridDispatch.Silo;
using GridDispatch.Silo.Telemetry;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using OpenTelemetry.Metrics;

if (args is ["generate-city", ..])
{
    return CityTool.Generate(args[1..]);
}

if (args is ["migrate", ..])
{
    // migrate [connection string]; without one, ConnectionStrings__GridDispatch from the environment.
    var connection = args.Length > 1 ? args[1] : Environment.GetEnvironmentVariable("ConnectionStrings__GridDispatch");
    if (string.IsNullOrWhiteSpace(connection))
    {
        Console.Error.WriteLine("usage: migrate \"Host=...;Database=...;Username=...\" (or set ConnectionStrings__GridDispatch)");
        return 2;
    }

    var applied = await GridDispatch.Silo.Database.SchemaMigrator.MigrateAsync(connection);
    Console.WriteLine(applied.Count == 0 ? "schema up to date" : "applied: " + string.Join(", ", applied));
    return 0;
}

var builder = Host.CreateApplicationBuilder(args);
builder.Configuration.AddGridDispatchDefaults();
builder.UseOrleans(silo => silo.UseGridDispatch(builder.Configuration));
var prometheusPort = GridDispatch.Silo.Telemetry.TelemetryOptions.Read(builder.Configuration).PrometheusPort;
builder.Services.AddGridDispatchTelemetry(builder.Configuration, "griddispatch-silo", metrics: m =>
{
    if (prometheusPort > 0)
    {
        m.AddPrometheusHttpListener(o => (o.Host, o.Port) = ("+", prometheusPort));     // /metrics on every address
    }
});
await builder.Build().RunAsync();
return 0;
