namespace RuleDsl.Cli.Tests;

/// A run whose trials run as separate units (`run --trial K`, what each Slurm array task runs), without
/// Slurm: merged, it is the run a local `ruledsl run` makes; it refuses what would mix two runs.
public class RunUnitsTests
{
    internal static string Experiment(string name, string output, int episodes = 6, int trials = 3, int seed = 5, string layers = "784 16 5", int train = 4) =>
        $"experiment {name}\n  rule = {Path.Combine(Cli.RepoRoot(), "rules", "fa.rule")} fa\n  layers = {layers}\n" +
        $"  data = fashion-mnist:subset\n  train = {train}\n  query = 3\n  episodes = {episodes}\n  trials = {trials}\n  seed = {seed}\n  output = {output}\n";

    /// episodes.csv without its timing column (`seconds`): what must be identical between two runs.
    internal static string[] WithoutTiming(string path)
    {
        var lines = File.ReadAllLines(path);
        int seconds = Array.IndexOf(lines[0].Split(','), "seconds");
        Assert.True(seconds > 0, $"{path}: no seconds column");
        // The columns before `seconds` hold numbers only, so splitting at the first commas is exact.
        return lines.Select(l => { var f = l.Split(',', seconds + 2); return string.Join(",", f.Take(seconds).Concat(f.Skip(seconds + 1))); }).ToArray();
    }

    /// What a run prints after its results line: accuracy, θ, the rule, notes.
    internal static string[] Closing(string output) =>
        output.Split('\n').SkipWhile(l => !l.StartsWith("results: ", StringComparison.Ordinal)).Skip(1).Where(l => l.Length > 0).ToArray();

    [Fact]
    public void Units_run_alone_in_any_order_and_merged_equal_a_local_run_and_refuse_what_would_mix_runs()
    {
        var dir = Directory.CreateTempSubdirectory().FullName;
        var local = Path.Combine(dir, "local.experiment");
        var units = Path.Combine(dir, "units.experiment");
        File.WriteAllText(local, Experiment("units_local", Path.Combine(dir, "local")));
        File.WriteAllText(units, Experiment("units_split", Path.Combine(dir, "units")));
        var run = Cli.Run("run", local);
        Assert.True(run.Exit == 0, run.Err);

        var two = Cli.Run("run", units, "--trial", "2");
        Assert.True(two.Exit == 0, two.Err);
        Assert.Contains("trial 2 done: 6 episodes", two.Out);
        // Not all units are done: collect refuses and names them; a unit already started wants --resume.
        var early = Cli.Run("collect", units);
        Assert.Equal(2, early.Exit);
        Assert.Contains("2 of 3 units have not finished: trial 0 (0 of 6 episodes), trial 1 (0 of 6 episodes)", early.Err);
        Assert.True(early.HasNoTrace, early.Err);
        Assert.False(File.Exists(Path.Combine(dir, "units", "episodes.csv")));
        var status = Cli.Run("status", Path.Combine(dir, "units"));
        Assert.True(status.Exit == 0, status.Err);
        Assert.Matches(@"\n\s+2  done\s+6/6", status.Out);
        Assert.Contains("2 not started, 1 done", status.Out);
        // A unit of another experiment text (another seed) into the same folder is refused.
        var other = Path.Combine(dir, "other.experiment");
        File.WriteAllText(other, Experiment("units_split", Path.Combine(dir, "units"), seed: 6));
        var mixed = Cli.Run("run", other, "--trial", "0");
        Assert.Equal(2, mixed.Exit);
        Assert.Contains("different experiment text", mixed.Err);
        // `run` of all trials into a folder of units continues them only when told to (--resume).
        var whole = Cli.Run("run", units);
        Assert.Equal(2, whole.Exit);
        Assert.Contains("already holds units of this run; pass --resume", whole.Err);

        var zero = Cli.Run("run", units, "--trial", "0");
        Assert.True(zero.Exit == 0, zero.Err);
        Assert.Contains("other trials are not done yet", zero.Out);
        // The last unit to finish merges the run and prints what a local run prints.
        var last = Cli.Run("run", units, "--trial", "1", "--resume");
        Assert.True(last.Exit == 0, last.Err);
        Assert.Equal(WithoutTiming(Path.Combine(dir, "local", "episodes.csv")), WithoutTiming(Path.Combine(dir, "units", "episodes.csv")));
        Assert.Equal(Closing(run.Out), Closing(last.Out));
        var collect = Cli.Run("collect", units);
        Assert.True(collect.Exit == 0, collect.Err);
        Assert.Equal(Closing(run.Out), Closing(collect.Out));
        // A finished unit run again is a no-op.
        var again = Cli.Run("run", units, "--trial", "1", "--resume");
        Assert.Contains("trial 1 had finished already (6 episodes)", again.Out);

        var bad = Cli.Run("run", units, "--trial", "3");
        Assert.Equal(2, bad.Exit);
        Assert.Contains("units.experiment:", bad.Err);
        Assert.Contains("there is no trial 3: the experiment's trials are 0 to 2", bad.Err);
    }

    [Fact]
    public void A_unit_killed_mid_run_resumes_from_its_checkpoint_to_the_same_rows()
    {
        var dir = Directory.CreateTempSubdirectory().FullName;
        var file = Path.Combine(dir, "u.experiment");
        File.WriteAllText(file, Experiment("units_kill", Path.Combine(dir, "out"), episodes: 5, trials: 1));
        Assert.Equal(0, Cli.Run("run", file, "--trial", "0").Exit);
        var path = Path.Combine(dir, "out", "episodes.trial0.csv");
        var whole = WithoutTiming(path);
        // A kill mid-way through episode 3's row, before any checkpoint was kept (the trial starts over:
        // episodes 0–2 are replayed and skipped as recorded, episode 3's torn row is cut off and written again).
        var text = File.ReadAllText(path);
        var rows = RuleDsl.Runtime.Cluster.RunUnits.Records(text);
        File.WriteAllText(path, string.Concat(rows.Take(4)) + rows[4][..10]);
        var checkpoints = Path.Combine(dir, "out", "checkpoints", "trial0.json");
        var json = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(checkpoints))!;
        Assert.Equal(5, json["NextEpisode"]!.GetValue<int>());
        File.Delete(Path.Combine(dir, "out", "units", "trial0.json"));
        File.Delete(Path.Combine(dir, "out", "episodes.csv"));
        File.Delete(checkpoints);
        var resumed = Cli.Run("run", file, "--trial", "0", "--resume");
        Assert.True(resumed.Exit == 0, resumed.Err);
        Assert.Equal(whole, WithoutTiming(path));
        Assert.Equal(whole, WithoutTiming(Path.Combine(dir, "out", "episodes.csv")));
    }

    [Fact]
    public void Submit_dry_run_prints_the_array_script_and_bad_requests_are_located()
    {
        var dir = Directory.CreateTempSubdirectory().FullName;
        var file = Path.Combine(dir, "s.experiment");
        File.WriteAllText(file, Experiment("units_submit", Path.Combine(dir, "out"), trials: 4));
        var dry = Cli.Run("submit", file, "--dry-run", "--partition", "short", "--time", "1:30:00", "--cpus-per-task", "2", "--tool", "/opt/rd/ruledsl");
        Assert.True(dry.Exit == 0, dry.Err);
        Assert.Contains("#SBATCH --array=0-3\n", dry.Out);
        Assert.Contains("#SBATCH --requeue\n", dry.Out);
        Assert.Contains("#SBATCH --open-mode=append\n", dry.Out);
        Assert.Contains("#SBATCH --partition=short\n#SBATCH --time=1:30:00\n", dry.Out);
        Assert.Contains("#SBATCH --cpus-per-task=2\n", dry.Out);
        Assert.Contains($"#SBATCH --output={Path.Combine(dir, "out", "slurm")}/%A_%a.out\n", dry.Out);
        Assert.EndsWith($"exec '/opt/rd/ruledsl' run '{file}' --trial \"$SLURM_ARRAY_TASK_ID\" --resume\n", dry.Out);
        // A dry run writes nothing.
        Assert.False(Directory.Exists(Path.Combine(dir, "out")));

        var time = Cli.Run("submit", file, "--dry-run", "--time", "2 hours");
        Assert.Equal(2, time.Exit);
        Assert.Contains("--time '2 hours': a Slurm time limit is minutes, MM:SS, HH:MM:SS", time.Err);
        Assert.True(time.HasNoTrace, time.Err);
        var partition = Cli.Run("submit", file, "--dry-run", "--partition", "a b");
        Assert.Equal(2, partition.Exit);
        Assert.Contains("--partition 'a b'", partition.Err);

        // After units ran, --resume submits only the unfinished ones.
        Assert.Equal(0, Cli.Run("run", file, "--trial", "1").Exit);
        Assert.Equal(0, Cli.Run("run", file, "--trial", "2").Exit);
        var fresh = Cli.Run("submit", file, "--dry-run");
        Assert.Equal(2, fresh.Exit);
        Assert.Contains("pass --resume", fresh.Err);
        var resume = Cli.Run("submit", file, "--dry-run", "--resume");
        Assert.True(resume.Exit == 0, resume.Err);
        Assert.Contains("#SBATCH --array=0,3\n", resume.Out);
    }
}
