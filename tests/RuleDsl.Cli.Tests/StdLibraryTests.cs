using System.Text.Json.Nodes;

namespace RuleDsl.Cli.Tests;

/// The standard library inside the tool: `include "std/terms.rule"`, `rule = std/fa.rule fa` and
/// `model = std/mlp.model` work from any folder; a run records the library's text as its source, and
/// resuming compares it like any file's.
public class StdLibraryTests
{
    const string MyRule = "include \"std/terms.rule\"\n\nrule mine : feedforward\n  param theta0 = 1e-3\n  param theta2 = 0\n  dW = theta0 * F[0] + theta2 * F[2]\n";

    static string Folder(string rule = MyRule)
    {
        var dir = Directory.CreateTempSubdirectory().FullName;
        File.WriteAllText(Path.Combine(dir, "my.rule"), rule);
        return dir;
    }

    static string Experiment(string dir, string rule, int episodes = 2)
    {
        var file = Path.Combine(dir, "my.experiment");
        File.WriteAllText(file, $"experiment mine\n  rule = {rule}\n  model = std/mlp.model\n  layers = 784 12 5\n" +
                                $"  data = fashion-mnist:subset\n  train = 3\n  query = 2\n  episodes = {episodes}\n  trials = 1\n  output = {Path.Combine(dir, "out")}\n");
        return file;
    }

    [Fact]
    public void A_rule_in_a_temp_folder_including_std_terms_checks_and_runs_and_its_sources_record_the_library()
    {
        var dir = Folder();
        var check = Cli.Run("check", Path.Combine(dir, "my.rule"));
        Assert.True(check.Exit == 0, check.Err + check.Out);
        Assert.Contains("∂ΔW/∂theta2", check.Out);

        var exp = Experiment(dir, "my.rule mine");
        var run = Cli.Run("run", exp);
        Assert.True(run.Exit == 0, run.Err + run.Out);
        var sources = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "out", "run.json")))!["sources"]!.AsArray()
            .ToDictionary(n => n!["path"]!.GetValue<string>(), n => n!["text"]!.GetValue<string>());
        Assert.Equal(MyRule, sources["my.rule"]);
        Assert.Equal(File.ReadAllText(Path.Combine(Cli.RepoRoot(), "rules", "terms.rule")), sources["ruledsl:std/terms.rule"]);
        Assert.Equal(File.ReadAllText(Path.Combine(Cli.RepoRoot(), "models", "mlp.model")), sources["ruledsl:std/mlp.model"]);

        // Resuming compares the library's recorded text too: the same text continues...
        Experiment(dir, "my.rule mine", episodes: 3);
        var resumed = Cli.Run("run", exp, "--resume");
        Assert.True(resumed.Exit == 0, resumed.Err + resumed.Out);
        Assert.Equal(3, File.ReadAllLines(Path.Combine(dir, "out", "episodes.csv")).Length - 1);
        // ...and a library that says something else now (a recorded copy edited) is refused, naming it.
        var runJson = Path.Combine(dir, "out", "run.json");
        var doc = JsonNode.Parse(File.ReadAllText(runJson))!;
        foreach (var n in doc["sources"]!.AsArray())
            if (n!["path"]!.GetValue<string>() == "ruledsl:std/terms.rule")
                n["text"] = n["text"]!.GetValue<string>().Replace("term F[0] = -outer(e_post, y_pre)", "term F[0] = outer(e_post, y_pre)");
        File.WriteAllText(runJson, doc.ToJsonString());
        Experiment(dir, "my.rule mine", episodes: 4);
        var refused = Cli.Run("run", exp, "--resume");
        Assert.Equal(2, refused.Exit);
        Assert.Contains("std/terms.rule", refused.Err);
        Assert.True(refused.HasNoTrace, refused.Err);
    }

    [Fact]
    public void A_shipped_rule_and_model_are_named_from_any_folder()
    {
        var dir = Directory.CreateTempSubdirectory().FullName;
        var r = Cli.Run("run", Experiment(dir, "std/fa.rule fa"), "--check");
        Assert.True(r.Exit == 0, r.Err + r.Out);
        Assert.Contains("rule fa", r.Out);
        Assert.Equal(0, Cli.Run("check", "std/pool.rule").Exit);
    }

    [Fact]
    public void A_file_beside_the_rule_wins_over_the_library()
    {
        var dir = Folder();
        Directory.CreateDirectory(Path.Combine(dir, "std"));
        // A local std/terms.rule without F[2]: the rule now names a term that does not exist.
        File.WriteAllText(Path.Combine(dir, "std", "terms.rule"), "term F[0] = -outer(e_post, y_pre)\n");
        var r = Cli.Run("check", Path.Combine(dir, "my.rule"));
        Assert.Equal(2, r.Exit);
        Assert.Contains("F", r.Err);
    }

    [Fact]
    public void A_missing_std_file_is_a_located_error_naming_the_nearest()
    {
        var dir = Folder(MyRule.Replace("std/terms.rule", "std/term.rule"));
        var file = Path.Combine(dir, "my.rule");
        var r = Cli.Run("check", file);
        Assert.Equal(2, r.Exit);
        Assert.Contains($"{file}:1:9: error RD0101: cannot find included file std/term.rule", r.Err);
        Assert.Contains("hint: did you mean include \"std/terms.rule\"?", r.Err);
        Assert.True(r.HasNoTrace, r.Err);

        var missingModel = Cli.Run("run", Experiment(dir, "std/fa.rule fa"), "--check");
        Assert.Equal(0, missingModel.Exit);
        File.WriteAllText(Path.Combine(dir, "my.experiment"), File.ReadAllText(Path.Combine(dir, "my.experiment")).Replace("std/mlp.model", "std/mlpp.model"));
        var bad = Cli.Run("run", Path.Combine(dir, "my.experiment"), "--check");
        Assert.Equal(2, bad.Exit);
        Assert.Contains("my.experiment:3:11: error RD0103: cannot read the model file std/mlpp.model", bad.Err);
        Assert.Contains("did you mean `model = std/mlp.model`?", bad.Err);
        Assert.True(bad.HasNoTrace, bad.Err);
    }
}
