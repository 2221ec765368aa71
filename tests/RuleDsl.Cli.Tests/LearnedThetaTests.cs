using System.Text.Json.Nodes;

namespace RuleDsl.Cli.Tests;

/// `learn`, `analyse` and `samples` take θ from a finished run only when it is the θ of the rule as
/// the files read now, and a θ that was meta-learned (issue 17, follow-up A); a run that learned
/// nothing says so instead of printing a discovered rule (follow-up B). Each test works in a folder
/// of its own.
public class LearnedThetaTests
{
    const string RecurrentRule = "rule m : recurrent\n  param theta0 = -1\n  const eta = 0.1\n  trace E += outer(x - xbar, r)^3\n"
        + "  dW = clip(eta * theta0 * Rbar * (R - Rbar) * E, -3e-4, 3e-4)\n";

    /// m.rule (one θ) and m.experiment: a recurrent run small enough for a test.
    static string Recurrent(int units = 8)
    {
        var dir = Directory.CreateTempSubdirectory().FullName;
        File.WriteAllText(Path.Combine(dir, "m.rule"), RecurrentRule);
        WriteRecurrent(dir, units);
        return dir;
    }

    static void WriteRecurrent(string dir, int units) =>
        File.WriteAllText(Path.Combine(dir, "m.experiment"), $"experiment m\n  setting = recurrent\n  rule = m.rule m\n  task = dnms\n  units = {units}\n"
            + $"  dt = 0.01\n  horizon = 3\n  episodes = 2\n  trials = 1\n  output = {Path.Combine(dir, "run")}\n");

    /// rules/fa.rule and rules/terms.rule (copies) and ex/f.experiment, a feedforward run; `extra`
    /// adds settings.
    static string Feedforward(string rule = "../rules/fa.rule fa", string extra = "")
    {
        var dir = Directory.CreateTempSubdirectory().FullName;
        Directory.CreateDirectory(Path.Combine(dir, "rules"));
        Directory.CreateDirectory(Path.Combine(dir, "ex"));
        foreach (var f in new[] { "fa.rule", "terms.rule" })
            File.Copy(Path.Combine(Cli.RepoRoot(), "rules", f), Path.Combine(dir, "rules", f));
        File.WriteAllText(Path.Combine(dir, "ex", "f.experiment"), $"experiment f\n  rule = {rule}\n  layers = 784 12 5\n  data = fashion-mnist:subset\n"
            + $"  train = 3\n  query = 2\n  episodes = 2\n  trials = 1\n{extra}  output = {Path.Combine(dir, "out")}\n");
        return dir;
    }

    /// A rule whose every episode diverges (a learning rate of 10⁹), so θ never gets a meta-gradient.
    static string Exploding(int maxDiverged)
    {
        var dir = Feedforward("../rules/blow.rule blow", $"  max_diverged = {maxDiverged}\n");
        File.WriteAllText(Path.Combine(dir, "rules", "blow.rule"), "rule blow : feedforward\n  param theta0 = 1e9\n  dW = -theta0 * outer(e_post, y_pre)\n");
        WriteEpisodes(dir, 3);
        return dir;
    }

    static void WriteEpisodes(string dir, int episodes)
    {
        var path = Path.Combine(dir, "ex", "f.experiment");
        File.WriteAllText(path, System.Text.RegularExpressions.Regex.Replace(File.ReadAllText(path), @"episodes = \d+", $"episodes = {episodes}"));
    }

    static void Edit(string path, string from, string to)
    {
        var text = File.ReadAllText(path);
        Assert.Contains(from, text);
        File.WriteAllText(path, text.Replace(from, to));
    }

    static string[] Learn(string dir, params string[] more) =>
        ["learn", Path.Combine(dir, "m.experiment"), "--seeds", "1", "--trials", "3", "--out", Path.Combine(dir, "learn"), .. more];

    static string[] Analyse(string dir) =>
        ["analyse", Path.Combine(dir, "m.experiment"), "--trials", "3", "--out", Path.Combine(dir, "analysis")];

    static string[] Samples(string dir, params string[] more) =>
        ["samples", Path.Combine(dir, "ex", "f.experiment"), "--samples", "3", "--networks", "1", "--out", Path.Combine(dir, "samples"), .. more];

    static void Finished(Outcome o) => Assert.True(o.Exit == 0, o.Err + o.Out);

    static void Refused(Outcome o, params string[] says)
    {
        Assert.True(o.Exit == 2, o.Err + o.Out);
        foreach (var s in says) Assert.Contains(s, o.Err);
        Assert.True(o.HasNoTrace, o.Err);
    }

    [Fact]
    public void Learn_and_analyse_refuse_theta_from_a_run_whose_rule_changed_since_but_not_for_a_comment()
    {
        var dir = Recurrent();
        Finished(Cli.Run("run", Path.Combine(dir, "m.experiment")));
        var rule = Path.Combine(dir, "m.rule");
        // Comments and layout leave the rule what it was: its θ is still the one learned.
        Edit(rule, "  const eta = 0.1", "  # Miconi's rate\n  const eta   =  0.1");
        var same = Cli.Run(Learn(dir));
        Finished(same);
        Assert.Contains("(θ meta-learned in ", same.Out);

        Edit(rule, "const eta   =  0.1", "const eta = 0.2");
        foreach (var args in new[] { Learn(dir), Analyse(dir) })
            Refused(Cli.Run(args), "m.rule:3: then: const eta = 0.1", "m.rule:4: now:  const eta = 0.2", "run the experiment again");
    }

    [Fact]
    public void Learn_refuses_theta_from_a_run_of_the_experiment_before_a_setting_changed()
    {
        var dir = Recurrent();
        Finished(Cli.Run("run", Path.Combine(dir, "m.experiment")));
        WriteRecurrent(dir, units: 10);
        Refused(Cli.Run(Learn(dir)), "m.experiment:5: then: units = 8", "m.experiment:5: now:  units = 10");
    }

    [Fact]
    public void Learn_refuses_theta_from_a_run_that_did_not_record_its_files()
    {
        var dir = Recurrent();
        Finished(Cli.Run("run", Path.Combine(dir, "m.experiment")));
        var runJson = Path.Combine(dir, "run", "run.json");
        var doc = JsonNode.Parse(File.ReadAllText(runJson))!.AsObject();
        doc.Remove("sources");
        File.WriteAllText(runJson, doc.ToJsonString());
        Refused(Cli.Run(Learn(dir)), "cannot be verified", "run the experiment again");
    }

    [Fact]
    public void Learn_refuses_the_summary_of_a_run_whose_continuation_to_more_episodes_did_not_finish()
    {
        var dir = Recurrent();
        var exp = Path.Combine(dir, "m.experiment");
        Finished(Cli.Run("run", exp));
        // What `run --resume` leaves when interrupted after raising `episodes`: run.json says 3, summary.json is of 2.
        Edit(exp, "episodes = 2", "episodes = 3");
        var runJson = Path.Combine(dir, "run", "run.json");
        var doc = JsonNode.Parse(File.ReadAllText(runJson))!.AsObject();
        doc["experiment"] = File.ReadAllText(exp);
        File.WriteAllText(runJson, doc.ToJsonString());
        Refused(Cli.Run(Learn(dir)), "θ is of the run's first 2 episodes", "run --resume");
    }

    [Fact]
    public void An_output_folder_that_holds_no_run_gives_the_initial_theta_and_says_so()
    {
        var dir = Recurrent();
        Directory.CreateDirectory(Path.Combine(dir, "run"));
        var r = Cli.Run(Learn(dir));
        Finished(r);
        Assert.Contains("(θ at its initial values", r.Out);
    }

    [Fact]
    public void Samples_refuses_theta_from_a_run_whose_include_changed()
    {
        var dir = Feedforward();
        Finished(Cli.Run("run", Path.Combine(dir, "ex", "f.experiment")));
        Edit(Path.Combine(dir, "rules", "terms.rule"), "term F[0] = -outer(e_post, y_pre)", "term F[0] = -outer(e_post, y_pre) * 2");
        Refused(Cli.Run(Samples(dir)), "terms.rule:6: now:  term F[0] = -outer(e_post, y_pre) * 2");
        // Refused before anything is written: a samples.csv from before would survive.
        Assert.False(Directory.Exists(Path.Combine(dir, "samples")));
    }

    [Fact]
    public void A_run_that_stopped_for_divergence_discovers_no_rule_and_its_theta_is_refused_unless_the_initial_one_is_asked_for()
    {
        var dir = Exploding(maxDiverged: 3);
        var run = Cli.Run("run", Path.Combine(dir, "ex", "f.experiment"));
        Assert.True(run.Exit == 3, run.Out + run.Err);
        Assert.DoesNotContain("discovered rule:", run.Out);
        Assert.Contains("no rule discovered: the run stopped for divergence", run.Out);
        var summary = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "out", "summary.json")))!.AsObject();
        Assert.Null(summary["Discovered"]);
        Assert.Null(summary["DiscoveredLatex"]);
        Assert.Contains("3 episodes in a row", summary["NotLearned"]![0]!.GetValue<string>());

        Refused(Cli.Run(Samples(dir)), "θ is not meta-learned", "trial 0: 3 episodes in a row", "--initial-theta");
        var initial = Cli.Run(Samples(dir, "--initial-theta"));
        Finished(initial);
        Assert.Contains("(θ at its initial values", initial.Out);
    }

    [Fact]
    public void A_run_whose_every_episode_diverged_discovers_no_rule_and_its_theta_is_refused()
    {
        // max_diverged = 0: the trial never stops, and never learns either.
        var dir = Exploding(maxDiverged: 0);
        var run = Cli.Run("run", Path.Combine(dir, "ex", "f.experiment"));
        // It ran to its end, but learned nothing: exit 3 as for a stop, with what to try.
        Assert.Equal(3, run.Exit);
        Assert.True(run.HasNoTrace, run.Err);
        Assert.Contains("1 of 1 trials learned nothing", run.Err);
        Assert.Contains("on_divergence = shrink", run.Err);
        Assert.DoesNotContain("discovered rule:", run.Out);
        Assert.Contains("no rule discovered: trial 0: every one of its 3 episodes diverged", run.Out);
        Refused(Cli.Run(Samples(dir)), "θ is not meta-learned", "trial 0: every one of its 3 episodes diverged", "--initial-theta");
    }
}
