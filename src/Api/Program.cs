using GridDispatch.Api;

GridDispatchApi.Create(args).Run();
