using System.Reflection;

namespace RuleDsl.Runtime.Results;

/// <summary>The version of ruledsl that wrote a result, as `ruledsl --version` prints it (0.1.0+commit):
/// every assembly takes its version from Directory.Build.props and the build adds the commit.</summary>
public static class ToolVersion
{
    public static string Text { get; } =
        typeof(ToolVersion).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion
        ?? typeof(ToolVersion).Assembly.GetName().Version?.ToString() ?? "unknown";

    /// <summary>"ruledsl 0.1.0+commit", as result files record it.</summary>
    public static string Tool => $"ruledsl {Text}";
}
