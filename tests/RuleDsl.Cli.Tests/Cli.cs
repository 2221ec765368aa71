// `ruledsl` writes to Console.Out and Console.Error, which are process-wide: one command at a time.
[assembly: CollectionBehavior(DisableTestParallelization = true)]

namespace RuleDsl.Cli.Tests;

/// <summary>What one `ruledsl` invocation printed and returned.</summary>
public sealed record Outcome(int Exit, string Out, string Err)
{
    /// A message a user can act on, not a .NET stack trace or an internal error.
    public bool HasNoTrace => !Err.Contains("   at ") && !Out.Contains("   at ") && !Err.Contains("internal error");
}

/// <summary>Runs `ruledsl ARGS` in this process from the repository root, capturing its output.</summary>
public static class Cli
{
    public static string RepoRoot()
    {
        var d = new DirectoryInfo(AppContext.BaseDirectory);
        while (d is not null && !File.Exists(Path.Combine(d.FullName, "RuleDsl.sln"))) d = d.Parent;
        return d?.FullName ?? throw new InvalidOperationException("repository root not found");
    }

    static readonly object Gate = new();

    public static Outcome Run(params string[] args)
    {
        lock (Gate)
        {
            TextWriter oldOut = Console.Out, oldErr = Console.Error;
            string oldDir = Directory.GetCurrentDirectory();
            var (o, e) = (new StringWriter(), new StringWriter());
            try
            {
                Console.SetOut(o);
                Console.SetError(e);
                Directory.SetCurrentDirectory(RepoRoot());
                int exit = Program.Main(args);
                return new Outcome(exit, o.ToString(), e.ToString());
            }
            finally
            {
                Console.SetOut(oldOut);
                Console.SetError(oldErr);
                Directory.SetCurrentDirectory(oldDir);
            }
        }
    }
}
