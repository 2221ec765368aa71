using System.Xml.Linq;

namespace RuleDsl.Cli.Tests;

/// <summary>The stages run one way, Syntax → Symbolic → Semantics → Runtime → Library (the package RuleDsl) → Cli: each project references
/// only earlier stages, so a later stage can never be reached back into. Read from the project files,
/// so an added arrow fails here before anyone builds on it.</summary>
public class StageOrderTests
{
    static readonly Dictionary<string, string[]> Allowed = new()
    {
        ["RuleDsl.Syntax"] = [],
        ["RuleDsl.Symbolic"] = [],
        ["RuleDsl.Semantics"] = ["RuleDsl.Syntax", "RuleDsl.Symbolic"],
        ["RuleDsl.Runtime"] = ["RuleDsl.Semantics", "RuleDsl.Symbolic"],
        // The library package's facade over the runtime; the CLI is its client.
        ["RuleDsl.Library"] = ["RuleDsl.Runtime"],
        ["RuleDsl.Cli"] = ["RuleDsl.Library", "RuleDsl.Runtime"],
    };

    /// Each project under src/ with the projects it references directly.
    static Dictionary<string, string[]> References()
    {
        var src = Path.Combine(Cli.RepoRoot(), "src");
        return Directory.GetDirectories(src)
            .SelectMany(d => Directory.GetFiles(d, "*.*proj"))
            .ToDictionary(
                p => Path.GetFileNameWithoutExtension(p),
                p => XDocument.Load(p).Descendants("ProjectReference")
                    .Select(r => Path.GetFileNameWithoutExtension(r.Attribute("Include")!.Value.Replace('\\', '/')))
                    .Order().ToArray());
    }

    [Fact]
    public void Every_project_references_exactly_the_stages_before_it_that_it_is_allowed()
    {
        var actual = References();
        Assert.Equal(Allowed.Keys.Order(), actual.Keys.Order());
        foreach (var (project, refs) in actual)
            Assert.True(Allowed[project].Order().SequenceEqual(refs),
                $"{project} references {string.Join(", ", refs)}; the stage order allows {string.Join(", ", Allowed[project])}");
    }

    /// Rooms a reader can hold in mind (docs/architecture.md): no source file of the tool over 600 lines.
    [Fact]
    public void No_source_file_is_over_600_lines()
    {
        var src = Path.Combine(Cli.RepoRoot(), "src");
        var big = Directory.GetFiles(src, "*.*", SearchOption.AllDirectories)
            .Where(f => f.EndsWith(".cs") || f.EndsWith(".fs") || f.EndsWith(".fsi"))
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}") && !f.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}"))
            .Select(f => (File: Path.GetRelativePath(src, f), Lines: File.ReadLines(f).Count()))
            .Where(x => x.Lines > 600).ToList();
        Assert.True(big.Count == 0, string.Join("\n", big.Select(x => $"{x.File}: {x.Lines} lines")));
    }
}
