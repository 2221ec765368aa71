using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace RuleDsl.Cli.Tests;

/// <summary>The documented notebooks cannot rot: examples/notebook.fsx runs with `dotnet fsi` against the
/// package packed from this tree, and examples/notebook.ipynb holds exactly its sections as cells.</summary>
public class NotebookTests
{
    static string Fsx => Path.Combine(Cli.RepoRoot(), "examples", "notebook.fsx");
    static string Ipynb => Path.Combine(Cli.RepoRoot(), "examples", "notebook.ipynb");

    /// The .fsx's sections: a line `// ---- NAME` starts one (a notebook cell); the header before the first is not a cell.
    public static List<(string Name, string Code)> Sections(string fsx)
    {
        var sections = new List<(string, List<string>)>();
        foreach (var line in fsx.Replace("\r\n", "\n").TrimEnd('\n').Split('\n'))
        {
            if (line.StartsWith("// ---- ", StringComparison.Ordinal)) sections.Add((line[8..].Trim(), []));
            else if (sections.Count > 0) sections[^1].Item2.Add(line);
        }
        return sections.Select(s => (s.Item1, string.Join("\n", s.Item2).Trim('\n'))).ToList();
    }

    /// The .ipynb the sections make: a Markdown title cell per section, then its code (F# kernel of
    /// .NET Interactive / Polyglot Notebooks).
    public static string Notebook(string fsx)
    {
        static JsonArray Lines(string text)
        {
            var lines = text.Split('\n');
            return new JsonArray(lines.Select((l, i) => (JsonNode?)JsonValue.Create(i < lines.Length - 1 ? l + "\n" : l)).ToArray());
        }
        var cells = new JsonArray(new JsonObject
        {
            ["cell_type"] = "markdown", ["metadata"] = new JsonObject(),
            ["source"] = Lines("# RuleDsl in a notebook\n\nA rule written inline, derived, checked, run, read back and plotted. The same code as `examples/notebook.fsx` (generated from it; see docs/library.md for where the package comes from)."),
        });
        foreach (var (name, code) in Sections(fsx))
        {
            cells.Add(new JsonObject { ["cell_type"] = "markdown", ["metadata"] = new JsonObject(), ["source"] = Lines("## " + name) });
            cells.Add(new JsonObject
            {
                ["cell_type"] = "code", ["execution_count"] = null,
                ["metadata"] = new JsonObject { ["dotnet_interactive"] = new JsonObject { ["language"] = "fsharp" }, ["polyglot_notebook"] = new JsonObject { ["kernelName"] = "fsharp" } },
                ["outputs"] = new JsonArray(), ["source"] = Lines(code),
            });
        }
        var nb = new JsonObject
        {
            ["cells"] = cells,
            ["metadata"] = new JsonObject
            {
                ["kernelspec"] = new JsonObject { ["display_name"] = ".NET (F#)", ["language"] = "F#", ["name"] = ".net-fsharp" },
                ["language_info"] = new JsonObject { ["file_extension"] = ".fs", ["mimetype"] = "text/x-fsharp", ["name"] = "F#", ["pygments_lexer"] = "fsharp", ["version"] = "10.0" },
                ["polyglot_notebook"] = new JsonObject { ["kernelInfo"] = new JsonObject { ["defaultKernelName"] = "fsharp", ["items"] = new JsonArray(new JsonObject { ["aliases"] = new JsonArray(), ["name"] = "fsharp" }) } },
            },
            ["nbformat"] = 4, ["nbformat_minor"] = 5,
        };
        return nb.ToJsonString(new JsonSerializerOptions { WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }) + "\n";
    }

    [Fact]
    public void The_ipynb_cells_are_the_fsx_sections()
    {
        var expected = Notebook(File.ReadAllText(Fsx));
        // RULEDSL_WRITE_NOTEBOOK=1 regenerates the notebook after an edit of the .fsx.
        if (Environment.GetEnvironmentVariable("RULEDSL_WRITE_NOTEBOOK") == "1") File.WriteAllText(Ipynb, expected);
        var actual = File.ReadAllText(Ipynb);
        var cells = JsonNode.Parse(actual)!["cells"]!.AsArray()
            .Where(c => (string?)c!["cell_type"] == "code")
            .Select(c => string.Concat(c!["source"]!.AsArray().Select(l => (string?)l))).ToList();
        Assert.Equal(Sections(File.ReadAllText(Fsx)).Select(s => s.Code), cells);
        Assert.True(expected == actual, "examples/notebook.ipynb is not the one examples/notebook.fsx makes: run RULEDSL_WRITE_NOTEBOOK=1 dotnet test tests/RuleDsl.Cli.Tests --filter NotebookTests");
        Assert.True(Sections(File.ReadAllText(Fsx)).Count >= 6);
    }

    static (int Exit, string Out) Run(string dir, string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file) { WorkingDirectory = dir, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var err = p.StandardError.ReadToEndAsync();
        var output = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        return (p.ExitCode, output + err.Result);
    }

    /// The version the notebook references is the one Directory.Build.props gives every assembly and the package.
    static string RepoVersion() =>
        Regex.Match(File.ReadAllText(Path.Combine(Cli.RepoRoot(), "Directory.Build.props")), "<Version>([^<]+)</Version>").Groups[1].Value;

    [Fact]
    public void The_fsx_runs_with_dotnet_fsi_against_the_packed_package()
    {
        var fsx = File.ReadAllText(Fsx);
        var reference = $"#r \"nuget: RuleDsl, {RepoVersion()}\"";
        Assert.Contains(reference, fsx);
        var tmp = Directory.CreateTempSubdirectory("ruledsl-notebook-");
        // A version of its own, so that fsi cannot take an older build of this package from the NuGet cache.
        var version = $"{RepoVersion()}-test.{DateTime.UtcNow:yyyyMMddHHmmss}{Environment.ProcessId}";
        var cache = Path.Combine(Environment.GetEnvironmentVariable("NUGET_PACKAGES") ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages"), "ruledsl", version);
        try
        {
            var pkg = Path.Combine(tmp.FullName, "pkg");
            var pack = Run(Cli.RepoRoot(), "dotnet", "pack", "src/RuleDsl.Library", "-c", "Release", "-o", pkg, $"-p:PackageVersion={version}", "--nologo");
            Assert.True(pack.Exit == 0, pack.Out);
            // One package: the facade and every stage with their XML docs, and its README.
            using (var zip = System.IO.Compression.ZipFile.OpenRead(Path.Combine(pkg, $"RuleDsl.{version}.nupkg")))
            {
                var entries = zip.Entries.Select(e => e.FullName).ToHashSet();
                foreach (var a in new[] { "Library", "Syntax", "Symbolic", "Semantics", "Runtime" })
                    Assert.Contains($"lib/net10.0/RuleDsl.{a}.dll", entries);
                foreach (var a in new[] { "Library", "Syntax", "Symbolic", "Semantics" })
                    Assert.Contains($"lib/net10.0/RuleDsl.{a}.xml", entries);
                Assert.Contains("README.md", entries);
            }
            var script = $"#i \"nuget: {pkg}\"\n" + fsx.Replace(reference, $"#r \"nuget: RuleDsl, {version}\"");
            File.WriteAllText(Path.Combine(tmp.FullName, "notebook.fsx"), script);
            var (exit, output) = Run(tmp.FullName, "dotnet", "fsi", "--quiet", "notebook.fsx");
            Assert.True(exit == 0, output);
            // What it printed is what the library computed and wrote.
            Assert.Contains("error RD0301: shape mismatch", output);
            Assert.Contains("∂ΔW/∂theta1 = outer(e_post, e_pre)", output);
            Assert.Contains("all passed: true", output);
            var run = Path.Combine(tmp.FullName, "results", "notebook");
            var summary = JsonNode.Parse(File.ReadAllText(Path.Combine(run, "summary.json")))!;
            var mean = (double)summary["FinalAccuracyMean"]!;
            Assert.Contains($"final accuracy: {(100 * mean).ToString("F2", CultureInfo.InvariantCulture)} %", output);
            Assert.Equal(1 + 2 * 10, File.ReadAllLines(Path.Combine(run, "episodes.csv")).Length);
            Assert.Contains("20 episodes, θ columns theta0, theta1", output);
            foreach (var png in new[] { "accuracy.png", "meta_loss.png", "theta.png" })
                Assert.True(new FileInfo(Path.Combine(run, png)).Length > 1000, png);
        }
        finally
        {
            tmp.Delete(true);
            if (Directory.Exists(cache)) Directory.Delete(cache, true);
        }
    }
}
