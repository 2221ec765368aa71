namespace RuleDsl.Cli.Tests;

/// A sweep from the shell: checked with located errors, its points run locally or as units of one array.
public class SweepCommandTests
{
    [Fact]
    public void The_shipped_sweep_expands_to_valid_experiments_and_its_array_covers_their_trials()
    {
        // The shipped file with its base by absolute path and a scratch output (a user's results/ stays out of it).
        var dir = Directory.CreateTempSubdirectory().FullName;
        var file = Path.Combine(dir, "quickstart_lr.sweep");
        var text = File.ReadAllText(Path.Combine(Cli.RepoRoot(), "examples", "quickstart_lr.sweep"));
        File.WriteAllText(file, text.Replace("= quickstart.experiment", "= " + Path.Combine(Cli.RepoRoot(), "examples", "quickstart.experiment"))
            + $"  output = {Path.Combine(dir, "out")}\n");
        Assert.NotEqual(text, File.ReadAllText(file));
        var check = Cli.Run("check", file);
        Assert.True(check.Exit == 0, check.Err);
        Assert.Contains("sweep quickstart_lr: 3 points", check.Out);
        var dry = Cli.Run("submit", file, "--dry-run", "--tool", "/opt/ruledsl");
        Assert.True(dry.Exit == 0, dry.Err);
        Assert.Contains("#SBATCH --array=0-5\n", dry.Out);
        Assert.False(Directory.Exists(Path.Combine(dir, "out")));
    }

    [Fact]
    public void A_sweep_is_checked_run_by_point_and_by_array_task_and_refuses_a_changed_grid()
    {
        var dir = Directory.CreateTempSubdirectory().FullName;
        File.WriteAllText(Path.Combine(dir, "base.experiment"), RunUnitsTests.Experiment("sweep_base", Path.Combine(dir, "ignored"), episodes: 2, trials: 2));
        var sweep = Path.Combine(dir, "grid.sweep");
        var output = Path.Combine(dir, "grid");
        File.WriteAllText(sweep, $"sweep grid\n  experiment = base.experiment\n  lr = 0.001 0.01\n  seed = 1 | 2\n  output = {output}\n");

        var check = Cli.Run("check", sweep);
        Assert.True(check.Exit == 0, check.Err);
        Assert.Contains("sweep grid: 4 points of", check.Out);
        Assert.False(Directory.Exists(output));

        // Task 5 of the array is point 2 (lr = 0.01, seed = 1), trial 1: the units of all points in order.
        var task = Cli.Run("run", sweep, "--task", "5");
        Assert.True(task.Exit == 0, task.Err);
        Assert.Contains("trial 1 done: 2 episodes", task.Out);
        var p2 = Path.Combine(output, "p2-lr_0.01-seed_1");
        Assert.True(File.Exists(Path.Combine(p2, "episodes.trial1.csv")));
        Assert.Contains("  lr = 0.01\n  seed = 1\n", File.ReadAllText(p2 + ".experiment"));
        var point = Cli.Run("run", sweep, "--point", "p2-lr_0.01-seed_1", "--trial", "0");
        Assert.True(point.Exit == 0, point.Err);
        Assert.Contains("final accuracy", point.Out);   // the last unit of the point merged it
        var dry = Cli.Run("submit", sweep, "--dry-run", "--resume", "--tool", "/opt/ruledsl");
        Assert.True(dry.Exit == 0, dry.Err);
        Assert.Contains("#SBATCH --array=0-3,6-7\n", dry.Out);
        Assert.EndsWith($"exec '/opt/ruledsl' run '{sweep}' --task \"$SLURM_ARRAY_TASK_ID\" --resume\n", dry.Out);
        var noTask = Cli.Run("run", sweep, "--task", "8");
        Assert.Equal(2, noTask.Exit);
        Assert.Contains("no array task 8; the sweep has 8 units (tasks 0 to 7)", noTask.Err);

        // A value the experiment refuses, at its place in the sweep file.
        File.WriteAllText(sweep, $"sweep grid\n  experiment = base.experiment\n  lr = 0.001 fast\n  seed = 1 | 2\n  output = {output}\n");
        var bad = Cli.Run("run", sweep, "--check");
        Assert.Equal(2, bad.Exit);
        Assert.Contains($"{sweep}:3:14: error RD0702: `lr` must be a number, not `fast`", bad.Err);
        Assert.True(bad.HasNoTrace, bad.Err);
        // A changed base experiment would mix two versions of a point in its folder.
        File.WriteAllText(sweep, $"sweep grid\n  experiment = base.experiment\n  lr = 0.001 0.01\n  seed = 1 | 2\n  output = {output}\n");
        File.WriteAllText(Path.Combine(dir, "base.experiment"), RunUnitsTests.Experiment("sweep_base", Path.Combine(dir, "ignored"), episodes: 3, trials: 2));
        var changed = Cli.Run("run", sweep, "--point", "0");
        Assert.Equal(2, changed.Exit);
        Assert.Contains("was written with other settings", changed.Err);
    }
}
