namespace RuleDsl.Runtime.Tests;

/// The repository the tests run in, for the shipped rules, models, examples and data.
static class Repo
{
    /// The folder holding RuleDsl.sln, found upwards from the test assembly.
    public static string Root { get; } = Find();

    static string Find()
    {
        var d = new DirectoryInfo(AppContext.BaseDirectory);
        while (d is not null && !File.Exists(Path.Combine(d.FullName, "RuleDsl.sln"))) d = d.Parent;
        return d?.FullName ?? throw new InvalidOperationException("repository root not found");
    }
}
