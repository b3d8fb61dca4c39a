using GridDispatch.Api;

var builder = WebApplication.CreateBuilder(args);
builder.AddGridDispatchApi();
var app = builder.Build();
app.MapGridDispatchApi();
app.Run();
