using System.Text.Json.Nodes;

namespace RuleDsl.Cli.Tests;

/// A resumed run continues only with the files it began with: its rule, the files the rule includes
/// and its model may change in comments and layout, nothing else (issue 17, item 1). Each test works
/// on copies of the shipped files in a folder of its own.
public class ResumeSourcesTests
{
    /// A folder holding rules/fa.rule, rules/terms.rule, models/mlp.model (copies) and ex/run.experiment.
    static string Workspace(int episodes = 2, bool model = false)
    {
        var dir = Directory.CreateTempSubdirectory().FullName;
        foreach (var f in new[] { "rules/fa.rule", "rules/terms.rule", "models/mlp.model" })
        {
            Directory.CreateDirectory(Path.GetDirectoryName(Path.Combine(dir, f))!);
            File.Copy(Path.Combine(Cli.RepoRoot(), f), Path.Combine(dir, f));
        }
        Directory.CreateDirectory(Path.Combine(dir, "ex"));
        WriteExperiment(dir, episodes, model);
        return dir;
    }

    static void WriteExperiment(string dir, int episodes, bool model = false) =>
        File.WriteAllText(Path.Combine(dir, "ex", "run.experiment"),
            $"experiment resume_files\n  rule = ../rules/fa.rule fa\n{(model ? "  model = ../models/mlp.model\n" : "")}  layers = 784 12 5\n" +
            $"  data = fashion-mnist:subset\n  train = 3\n  query = 2\n  episodes = {episodes}\n  trials = 1\n  output = {Path.Combine(dir, "out")}\n");

    static string Exp(string dir) => Path.Combine(dir, "ex", "run.experiment");

    static void Edit(string dir, string file, string from, string to)
    {
        var path = Path.Combine(dir, file);
        var text = File.ReadAllText(path);
        Assert.Contains(from, text);
        File.WriteAllText(path, text.Replace(from, to));
    }

    static int Rows(string dir) => File.ReadAllLines(Path.Combine(dir, "out", "episodes.csv")).Length - 1;

    static void Finished(Outcome o) => Assert.True(o.Exit == 0, o.Err + o.Out);

    [Fact]
    public void A_rule_changed_from_F0_to_F1_is_refused_with_its_file_and_line_then_and_now_even_when_episodes_were_raised()
    {
        var dir = Workspace();
        Finished(Cli.Run("run", Exp(dir)));
        Edit(dir, "rules/fa.rule", "dW = theta0 * F[0]", "dW = theta0 * F[1]");
        WriteExperiment(dir, episodes: 4);
        var r = Cli.Run("run", Exp(dir), "--resume");
        Assert.Equal(2, r.Exit);
        Assert.Contains("fa.rule:7: then: dW = theta0 * F[0]", r.Err);
        Assert.Contains("fa.rule:7: now:  dW = theta0 * F[1]", r.Err);
        Assert.True(r.HasNoTrace, r.Err);
        // Nothing ran, and run.json does not claim a longer run.
        Assert.Equal(2, Rows(dir));
        Assert.DoesNotContain("extended", File.ReadAllText(Path.Combine(dir, "out", "run.json")));
    }

    [Fact]
    public void A_changed_include_is_refused_with_its_file_and_line()
    {
        var dir = Workspace();
        Finished(Cli.Run("run", Exp(dir)));
        Edit(dir, "rules/terms.rule", "term F[0] = -outer(e_post, y_pre)", "term F[0] = -outer(e_post, y_pre) * 2");
        var r = Cli.Run("run", Exp(dir), "--resume");
        Assert.Equal(2, r.Exit);
        Assert.Contains("terms.rule:6: now:  term F[0] = -outer(e_post, y_pre) * 2", r.Err);
        Assert.True(r.HasNoTrace, r.Err);
    }

    [Fact]
    public void A_changed_model_is_refused_with_its_file_and_line()
    {
        var dir = Workspace(model: true);
        Finished(Cli.Run("run", Exp(dir)));
        Edit(dir, "models/mlp.model", "feedback fa   = (B @ e_post) * dsigma", "feedback fa   = (W' @ e_post) * dsigma");
        var r = Cli.Run("run", Exp(dir), "--resume");
        Assert.Equal(2, r.Exit);
        Assert.Contains("mlp.model:15: then: feedback fa   = (B @ e_post) * dsigma", r.Err);
        Assert.True(r.HasNoTrace, r.Err);
    }

    [Fact]
    public void Comments_and_layout_of_rules_includes_and_model_may_change_and_a_raised_episodes_still_resumes()
    {
        var dir = Workspace(model: true);
        Finished(Cli.Run("run", Exp(dir)));
        Edit(dir, "rules/fa.rule", "  dW = theta0 * F[0]", "  # reworded: the pseudo-gradient alone\n\n  dW   =   theta0 *\n      F[0]    # over two lines");
        Edit(dir, "rules/terms.rule", "term F[0] = -outer(e_post, y_pre)", "term F[0] = -outer( e_post,y_pre )");
        Edit(dir, "models/mlp.model", "  const beta = 10", "# a comment of its own\n  const  beta =  10");
        WriteExperiment(dir, episodes: 3, model: true);
        var r = Cli.Run("run", Exp(dir), "--resume");
        Finished(r);
        Assert.Equal(3, Rows(dir));
        Assert.Contains("episodes_from", File.ReadAllText(Path.Combine(dir, "out", "run.json")));
    }

    [Fact]
    public void A_run_folder_written_before_the_files_were_recorded_is_refused_and_says_why()
    {
        var dir = Workspace();
        Finished(Cli.Run("run", Exp(dir)));
        var runJson = Path.Combine(dir, "out", "run.json");
        var doc = JsonNode.Parse(File.ReadAllText(runJson))!.AsObject();
        doc.Remove("sources");
        File.WriteAllText(runJson, doc.ToJsonString());
        var r = Cli.Run("run", Exp(dir), "--resume");
        Assert.Equal(2, r.Exit);
        Assert.Contains("cannot be verified", r.Err);
        Assert.Contains("another results folder", r.Err);
        Assert.True(r.HasNoTrace, r.Err);
    }

    [Fact]
    public void Run_json_and_summary_json_record_the_version_ruledsl_prints()
    {
        // What a user sees: the built tool's --version, in a process of its own.
        var start = new System.Diagnostics.ProcessStartInfo("dotnet", [Path.Combine(AppContext.BaseDirectory, "ruledsl.dll"), "--version"])
        {
            RedirectStandardOutput = true,
        };
        using var tool = System.Diagnostics.Process.Start(start)!;
        var printed = tool.StandardOutput.ReadToEnd().Trim();
        tool.WaitForExit();
        Assert.Matches(@"^\d+\.\d+\.\d+\+[0-9a-f]{7,}$", printed); // with the commit
        var dir = Workspace();
        Finished(Cli.Run("run", Exp(dir)));
        Assert.Equal("ruledsl " + printed, JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "out", "run.json")))!["tool"]!.GetValue<string>());
        Assert.Equal("ruledsl " + printed, JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "out", "summary.json")))!["Tool"]!.GetValue<string>());
        // The same in-process, where the entry assembly is the test host's.
        Assert.Equal(printed, Cli.Run("--version").Out.Trim());
    }

    [Fact]
    public void Learn_resume_refuses_a_changed_rule_with_its_file_and_line()
    {
        var dir = Directory.CreateTempSubdirectory().FullName;
        File.Copy(Path.Combine(Cli.RepoRoot(), "rules", "miconi.rule"), Path.Combine(dir, "miconi.rule"));
        var exp = Path.Combine(dir, "m.experiment");
        File.WriteAllText(exp, $"experiment m\n  setting = recurrent\n  rule = miconi.rule miconi\n  task = dnms\n  units = 8\n  dt = 0.01\n  horizon = 5\n  output = {Path.Combine(dir, "run")}\n");
        var outDir = Path.Combine(dir, "learn");
        string[] learn = ["learn", exp, "--seeds", "1", "--trials", "3", "--out", outDir];
        Finished(Cli.Run(learn));
        Assert.Contains("\"tool\": \"ruledsl ", File.ReadAllText(Path.Combine(outDir, "learn.json")).Replace("\\u002B", "+"));
        Finished(Cli.Run([.. learn, "--resume"]));
        Edit(dir, "miconi.rule", "const eta = 0.1", "const eta = 0.2");
        var r = Cli.Run([.. learn, "--resume"]);
        Assert.Equal(2, r.Exit);
        Assert.Contains("miconi.rule:17: now:  const eta = 0.2", r.Err);
        Assert.True(r.HasNoTrace, r.Err);
    }

    /// run --check and check resolve the data an experiment names, and point at its `data =` line.
    [Theory]
    [InlineData("fashion_mnist", "unknown data set 'fashion_mnist'")]
    [InlineData("idx:DIR/missing-images-idx3-ubyte", "no such file")]
    [InlineData("idx:DIR/bad-images-idx3-ubyte", "found magic number")]
    [InlineData("mnist:subset\n  classes = 12", "cannot draw 12 classes per episode from 10 classes")]
    public void Run_check_reads_the_data_and_names_the_data_line_when_it_cannot(string data, string message)
    {
        var dir = Directory.CreateTempSubdirectory().FullName;
        File.WriteAllText(Path.Combine(dir, "bad-images-idx3-ubyte"), "not an IDX file");
        File.WriteAllText(Path.Combine(dir, "bad-labels-idx1-ubyte"), "not an IDX file");
        var file = Path.Combine(dir, "d.experiment");
        File.WriteAllText(file, $"experiment d\n  rule = {Path.Combine(Cli.RepoRoot(), "rules", "fa.rule")} fa\n  layers = 784 12 5\n  data = {data.Replace("DIR", dir)}\n");
        foreach (var args in new[] { new[] { "run", file, "--check" }, ["check", file] })
        {
            var r = Cli.Run(args);
            Assert.Equal(2, r.Exit);
            Assert.Contains($"{file}:4:10: error RD0702: ", r.Err);
            Assert.Contains(message, r.Err);
            Assert.DoesNotContain("experiment d", r.Out);
            Assert.True(r.HasNoTrace, r.Err);
        }
    }
}
