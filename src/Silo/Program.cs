using GridDispatch.Silo;
using Microsoft.Extensions.Hosting;

if (args is ["generate-city", ..])
{
    return CityTool.Generate(args[1..]);
}

var builder = Host.CreateApplicationBuilder(args);
builder.Configuration.AddGridDispatchDefaults();
builder.UseOrleans(silo => silo.UseGridDispatch(builder.Configuration));
await builder.Build().RunAsync();
return 0;
