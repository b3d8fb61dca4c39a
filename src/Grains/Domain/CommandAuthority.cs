using Microsoft.Extensions.Options;

namespace GridDispatch.Domain;

/// <summary>Who may command emergency operations (section "GridDispatch:Command").</summary>
public sealed class CommandOptions
{
    public const string Section = "GridDispatch:Command";

    /// <summary>
    /// Commander → the region code they command ("*" for every city). A commander of a scope may switch modes, launch
    /// campaigns and call in surge workers at that scope and anywhere below it. Nobody is a commander unless listed.
    /// </summary>
    public Dictionary<string, string> Commanders { get; set; } = new(StringComparer.Ordinal);

    public static SettingRules<CommandOptions> Rules => new SettingRules<CommandOptions>(Section)
        .Explained(o => o.Commanders.FirstOrDefault(c => string.IsNullOrWhiteSpace(c.Value)) is { Key: { } who }
            ? $"{nameof(Commanders)}:{who} names the region code they command (\"*\" for the whole city), not nothing"
            : null);
}

/// <summary>
/// The check every command of emergency operations passes first. Until the access-control work puts roles in signed
/// tokens, the actor named in the command is matched against the configured commanders.
/// </summary>
public sealed class CommandAuthority(IOptions<CommandOptions> options)
{
    private readonly CommandOptions _o = options.Value;

    public bool MayCommand(string actor, string? verifiedScope, string scope) =>
        verifiedScope is not null
            ? verifiedScope.Length > 0 && scope.StartsWith(verifiedScope, StringComparison.Ordinal)
            : _o.Commanders.TryGetValue(actor, out var commands) && (commands == "*" || scope.StartsWith(commands, StringComparison.Ordinal));

    /// <summary>
    /// Refuses unless <paramref name="actor"/> commands <paramref name="scope"/> or a scope above it: by the region the
    /// caller verified from a signed token (<paramref name="verifiedScope"/>), or else by the configured commanders.
    /// </summary>
    public void Require(string? actor, string? verifiedScope, string scope, string what)
    {
        if (string.IsNullOrWhiteSpace(actor) || actor.Length > 128)
        {
            throw new DomainException(DomainErrors.InvalidInput, "An actor (1–128 characters) is required", "actor");
        }

        if (!MayCommand(actor, verifiedScope, scope))
        {
            throw new DomainException(DomainErrors.NotAllowed, $"'{actor}' is not a commander of {scope} or a scope above it, so may not {what}", "actor");
        }
    }
}
