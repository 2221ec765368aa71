namespace RuleDsl.Cli.Tests;

/// A run as a user drives it from the shell: run, run again, reword the file, change a setting.
public class RunWorkflowTests
{
    static string Experiment(string dir, string header, int seed = 42) =>
        $"{header}experiment cli_smoke\n  rule = {Path.Combine(Cli.RepoRoot(), "rules", "bio.rule")} bio\n  layers = 784 12 5\n" +
        $"  data = fashion-mnist:subset\n  train = 3\n  query = 2\n  episodes = 2\n  trials = 1\n  seed = {seed}\n  output = {Path.Combine(dir, "out")}\n";

    [Fact]
    public void A_finished_run_asks_for_resume_survives_a_reworded_comment_and_refuses_a_changed_setting()
    {
        var dir = Directory.CreateTempSubdirectory().FullName;
        var file = Path.Combine(dir, "smoke.experiment");
        File.WriteAllText(file, Experiment(dir, "# first wording\n"));
        var first = Cli.Run("run", file);
        Assert.True(first.Exit == 0, first.Err);
        Assert.Contains("final accuracy", first.Out);

        var again = Cli.Run("run", file);
        Assert.Equal(2, again.Exit);
        Assert.Contains("--resume", again.Err);
        Assert.True(again.HasNoTrace, again.Err);

        File.WriteAllText(file, Experiment(dir, "# reworded: what this run is for\n"));
        var resumed = Cli.Run("run", file, "--resume");
        Assert.True(resumed.Exit == 0, resumed.Err);
        Assert.Contains("final accuracy", resumed.Out);

        File.WriteAllText(file, Experiment(dir, "# first wording\n", seed: 7));
        var changed = Cli.Run("run", file, "--resume");
        Assert.Equal(2, changed.Exit);
        Assert.Contains("different experiment", changed.Err);
        Assert.Contains("seed: 42 (line 10) then, 7 (line 10) now", changed.Err);
        Assert.True(changed.HasNoTrace, changed.Err);
    }
}
