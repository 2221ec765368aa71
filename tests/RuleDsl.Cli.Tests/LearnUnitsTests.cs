namespace RuleDsl.Cli.Tests;

/// `learn` split over its seeds into units (what each array task of `learn --submit` runs): joined, the
/// comparison a local `learn` makes, with the same networks, tables and p-values.
public class LearnUnitsTests
{
    /// The lines after the per-network ones: the table, the tests (folder names aside).
    static string[] Report(string output, string folder) =>
        output.Split('\n').Where(l => !l.StartsWith("  ", StringComparison.Ordinal) && !l.StartsWith("resuming", StringComparison.Ordinal))
            .Select(l => l.Replace(folder, "OUT")).ToArray();

    [Fact]
    public void Seed_units_learned_apart_and_collected_equal_a_local_learn_and_unfinished_units_are_refused()
    {
        var dir = Directory.CreateTempSubdirectory().FullName;
        string[] common = [Path.Combine(Cli.RepoRoot(), "examples", "miconi_dnms.experiment"), Path.Combine(Cli.RepoRoot(), "examples", "miconi_pruned_dnms.experiment"),
            "--seeds", "1-5", "--trials", "120", "--initial-theta"];
        string local = Path.Combine(dir, "local"), split = Path.Combine(dir, "split");
        var whole = Cli.Run(["learn", .. common, "--out", local]);
        Assert.True(whole.Exit == 0, whole.Err);

        var one = Cli.Run(["learn", .. common, "--out", split, "--units", "2", "--unit", "1"]);
        Assert.True(one.Exit == 0, one.Err);
        Assert.Contains("unit 1 of 2: seeds 4 5 into", one.Out);
        var early = Cli.Run(["learn", .. common, "--out", split, "--units", "2", "--collect"]);
        Assert.Equal(2, early.Exit);
        Assert.Contains("1 of 2 units have not finished: unit 0 (seeds 1–3): not started", early.Err);
        var dry = Cli.Run(["learn", .. common, "--out", split, "--units", "2", "--submit", "--dry-run", "--resume", "--tool", "/opt/ruledsl"]);
        Assert.True(dry.Exit == 0, dry.Err);
        Assert.Contains("#SBATCH --array=0\n", dry.Out);
        Assert.Contains($"--out '{split}' --units 2 --unit \"$SLURM_ARRAY_TASK_ID\" --resume\n", dry.Out);
        // A unit learned with another trial count is another comparison: refused when joined.
        var other = Cli.Run(["learn", .. common[..^3], "--trials", "60", "--initial-theta", "--out", split, "--units", "2", "--unit", "0"]);
        Assert.True(other.Exit == 0, other.Err);
        var mixed = Cli.Run(["learn", .. common, "--out", split, "--units", "2", "--collect"]);
        Assert.Equal(2, mixed.Exit);
        Assert.Contains("holds a comparison with other rules, θ, task, trial count", mixed.Err);
        Directory.Delete(Path.Combine(split, "units", "unit0"), recursive: true);

        var zero = Cli.Run(["learn", .. common, "--out", split, "--units", "2", "--unit", "0"]);
        Assert.True(zero.Exit == 0, zero.Err);
        var joined = Cli.Run(["learn", .. common, "--out", split, "--units", "2", "--collect"]);
        Assert.True(joined.Exit == 0, joined.Err);
        Assert.Equal(Report(whole.Out, local), Report(joined.Out, split));
        Assert.Contains("Wilcoxon signed-rank (paired by seed)", joined.Out);
        Assert.Equal(File.ReadAllLines(Path.Combine(local, "learning_trials.csv")).Order(), File.ReadAllLines(Path.Combine(split, "learning_trials.csv")).Order());

        var bad = Cli.Run(["learn", .. common, "--out", split, "--units", "6", "--unit", "0"]);
        Assert.Equal(2, bad.Exit);
        Assert.Contains("--units 6: between 1 and the number of seeds (5)", bad.Err);
        var alone = Cli.Run(["learn", .. common, "--out", split, "--collect"]);
        Assert.Equal(2, alone.Exit);
        Assert.Contains("give their number with --units N", alone.Err);
    }
}
