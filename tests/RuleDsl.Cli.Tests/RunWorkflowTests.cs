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

    [Fact]
    public void A_run_whose_every_episode_diverges_stops_with_exit_3_and_plot_has_nothing_to_draw()
    {
        var dir = Directory.CreateTempSubdirectory().FullName;
        // A learning rate of 10⁹: every episode's weights explode, so θ never gets a gradient.
        File.WriteAllText(Path.Combine(dir, "blow.rule"), "rule blow : feedforward\n  param theta0 = 1e9\n  dW = -theta0 * outer(e_post, y_pre)\n");
        var file = Path.Combine(dir, "blow.experiment");
        var output = Path.Combine(dir, "out");
        File.WriteAllText(file, $"experiment blow\n  rule = {Path.Combine(dir, "blow.rule")} blow\n  layers = 784 12 5\n  data = fashion-mnist:subset\n" +
            $"  train = 3\n  query = 2\n  episodes = 50\n  trials = 1\n  max_diverged = 3\n  output = {output}\n");
        var run = Cli.Run("run", file);
        Assert.True(run.Exit == 3, run.Out + run.Err);
        Assert.Contains("stopped for divergence: trial 0: 3 episodes in a row", run.Out);
        Assert.Contains("on_divergence = shrink", run.Err);
        Assert.Contains("final accuracy (last 10% of episodes): none", run.Out);
        Assert.DoesNotContain("NaN", run.Out);
        Assert.True(run.HasNoTrace, run.Err);
        Assert.Equal(4, File.ReadAllLines(Path.Combine(output, "episodes.csv")).Length);   // header + 3 episodes
        var summary = File.ReadAllText(Path.Combine(output, "summary.json"));
        Assert.Contains("\"Stopped\": [", summary);
        Assert.Contains("3 episodes in a row", summary);

        var resumed = Cli.Run("run", file, "--resume");
        Assert.Equal(3, resumed.Exit);
        Assert.Contains("does not continue a trial that stopped for divergence", resumed.Err);
        Assert.Equal(4, File.ReadAllLines(Path.Combine(output, "episodes.csv")).Length);

        var plot = Cli.Run("plot", output);
        Assert.Equal(3, plot.Exit);
        Assert.Contains("nothing to draw", plot.Err);
        Assert.Empty(Directory.GetFiles(output, "*.png"));
        Assert.True(plot.HasNoTrace, plot.Err);

        // compare against itself: no window has a finite accuracy, so there are no p-values to print.
        var compare = Cli.Run("compare", output, output);
        Assert.Equal(3, compare.Exit);
        Assert.Contains("nothing to compare", compare.Err);
        Assert.Contains("--diverged V", compare.Err);
        Assert.Empty(Directory.GetFiles(output, "*.png"));
        Assert.True(compare.HasNoTrace, compare.Err);
    }
}
