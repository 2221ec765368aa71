using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace RuleDsl.Cli.Tests;

/// docs/results-format.md names exactly the columns and fields the commands write: every name in the
/// first column of its tables is written by some run, and every name a run writes is in its table.
/// Placeholders: `N` a layer number, `TASK` a task's name, `THETA` each θ's name.
public class ResultsFormatTests
{
    static string Doc => File.ReadAllText(Path.Combine(Cli.RepoRoot(), "docs", "results-format.md"));

    /// The backticked names in the first cell of each row of the table under `### title`.
    static List<string> Documented(string title)
    {
        var lines = Doc.Split('\n');
        int at = Array.FindIndex(lines, l => l.Trim() == "### " + title);
        Assert.True(at >= 0, $"docs/results-format.md has no section ### {title}");
        var names = new List<string>();
        foreach (var l in lines.Skip(at + 1).SkipWhile(l => !l.StartsWith('|')).TakeWhile(l => l.StartsWith('|')).Skip(2))
            names.AddRange(Regex.Matches(l.Split('|')[1], "`([^`]+)`").Select(m => m.Groups[1].Value));
        Assert.NotEmpty(names);
        return names;
    }

    static bool Matches(string documented, string written, IReadOnlyCollection<string> theta) => documented switch
    {
        "THETA" => theta.Contains(written),
        _ when documented.EndsWith("_N") => Regex.IsMatch(written, "^" + Regex.Escape(documented[..^1]) + @"\d+$"),
        _ when documented.EndsWith("_TASK") => Regex.IsMatch(written, "^" + Regex.Escape(documented[..^4]) + "[a-z-]+$"),
        _ => documented == written,
    };

    /// Each written name is documented by exactly one entry; each entry is written at least once.
    static void Exactly(string title, IEnumerable<string> written, IReadOnlyCollection<string> theta)
    {
        var documented = Documented(title);
        var all = written.Distinct().ToList();
        foreach (var w in all)
        {
            var by = documented.Where(d => Matches(d, w, theta)).ToList();
            Assert.True(by.Count == 1, $"{title}: `{w}` is written but documented {by.Count} times ({string.Join(", ", by)})");
        }
        foreach (var d in documented)
            Assert.True(all.Any(w => Matches(d, w, theta)), $"{title}: `{d}` is documented but no run wrote it (written: {string.Join(", ", all)})");
    }

    static string[] Header(string csv) => Regex.Matches(File.ReadLines(csv).First(), "\"([^\"]*)\"|([^,]+)").Select(m => m.Groups[1].Success ? m.Groups[1].Value : m.Groups[2].Value).ToArray();

    static void Ok(Outcome o) => Assert.True(o.Exit == 0, o.Err + o.Out);

    [Fact]
    public void The_documented_columns_and_fields_are_exactly_the_written_ones()
    {
        var dir = Directory.CreateTempSubdirectory().FullName;
        // Feedforward with a θ family (the pool), resumed with more episodes (run.json's `extended`).
        var ff = Path.Combine(dir, "ff.experiment");
        string Ff(int episodes) => $"experiment ff\n  rule = std/pool.rule pool\n  layers = 784 12 5\n  train = 3\n  query = 2\n  episodes = {episodes}\n  trials = 1\n  output = {Path.Combine(dir, "ff")}\n";
        File.WriteAllText(ff, Ff(2));
        Ok(Cli.Run("run", ff));
        File.WriteAllText(ff, Ff(3));
        Ok(Cli.Run("run", ff, "--resume"));
        // Recurrent on two tasks with a batch of networks per step.
        var rec = Path.Combine(dir, "rec.experiment");
        File.WriteAllText(rec, $"experiment rec\n  setting = recurrent\n  rule = std/neo_hebbian.rule neo_hebbian\n  task = go-nogo dnms\n  units = 8\n  horizon = 3\n  batch = 2\n  episodes = 1\n  trials = 1\n  output = {Path.Combine(dir, "rec")}\n");
        Ok(Cli.Run("run", rec));
        Ok(Cli.Run("learn", rec, "--task", "dnms", "--seeds", "1-2", "--trials", "5", "--out", Path.Combine(dir, "learn")));
        // A run by units (one trial alone, as a Slurm array task runs it): run.json's `file` and `workdir`.
        var unit = Path.Combine(dir, "unit.experiment");
        File.WriteAllText(unit, Ff(2).Replace(Path.Combine(dir, "ff"), Path.Combine(dir, "unit")));
        Ok(Cli.Run("run", unit, "--trial", "0"));

        JsonObject Json(string run, string file) => JsonNode.Parse(File.ReadAllText(Path.Combine(dir, run, file)))!.AsObject();
        var theta = new[] { "ff", "rec" }.SelectMany(r => Json(r, "summary.json")["Theta"]!.AsArray().Select(t => t!.GetValue<string>())).ToList();
        Assert.Contains("theta[3]", theta);
        Assert.Contains("theta[1,2]", theta);

        Exactly("episodes.csv", new[] { "ff", "rec" }.SelectMany(r => Header(Path.Combine(dir, r, "episodes.csv"))), theta);
        Exactly("run.json", new[] { "ff", "rec", "unit" }.SelectMany(r => Json(r, "run.json").Select(kv => kv.Key)), theta);
        Exactly("summary.json", new[] { "ff", "rec" }.SelectMany(r => Json(r, "summary.json").Select(kv => kv.Key)), theta);
        Exactly("learning.csv", Header(Path.Combine(dir, "learn", "learning.csv")), theta);
        Exactly("learning_trials.csv", Header(Path.Combine(dir, "learn", "learning_trials.csv")), theta);
    }
    /// The pandas snippet reads only documented columns and keys (it was run once by hand against a run
    /// folder; pandas is not a dependency of the tests).
    [Fact]
    public void The_pandas_snippet_reads_documented_names_only()
    {
        var snippet = Regex.Match(Doc, "```python\n(.*?)```", RegexOptions.Singleline);
        Assert.True(snippet.Success, "docs/results-format.md has no ```python block");
        var used = Regex.Matches(snippet.Groups[1].Value, @"\[[""']([A-Za-z_]+)[""']\]").Select(m => m.Groups[1].Value).Distinct().ToList();
        Assert.Contains("accuracy", used);
        var documented = Documented("episodes.csv").Concat(Documented("summary.json")).ToHashSet();
        foreach (var name in used) Assert.True(documented.Contains(name), $"the snippet reads `{name}`, which the tables do not document");
        foreach (var file in new[] { "episodes.csv", "summary.json" }) Assert.Contains(file, snippet.Groups[1].Value);
    }
}
