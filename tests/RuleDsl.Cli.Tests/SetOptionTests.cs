namespace RuleDsl.Cli.Tests;

/// `--set KEY=VALUE` on run, gradcheck and learn: the run uses it, run.json records it, --resume compares
/// it like an edited file, and a bad one is an error at its --set.
public class SetOptionTests
{
    static string Experiment(string dir) =>
        $"experiment set_smoke\n  rule = {Path.Combine(Cli.RepoRoot(), "rules", "bio.rule")} bio\n  layers = 784 12 5\n" +
        $"  data = fashion-mnist:subset\n  train = 3\n  query = 2\n  episodes = 3\n  trials = 1\n  output = {Path.Combine(dir, "out")}\n";

    [Fact]
    public void A_run_uses_the_override_records_it_and_resume_refuses_a_different_one()
    {
        var dir = Directory.CreateTempSubdirectory().FullName;
        var file = Path.Combine(dir, "set.experiment");
        File.WriteAllText(file, Experiment(dir));
        var run = Cli.Run("run", file, "--set", "episodes=2", "--set", "seed=7");
        Assert.True(run.Exit == 0, run.Err);
        Assert.Contains("1 trials × 2 episodes", run.Out);
        var output = Path.Combine(dir, "out");
        Assert.Equal(3, File.ReadAllLines(Path.Combine(output, "episodes.csv")).Length);   // header + 2 episodes, not 3
        var recorded = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(output, "run.json"))).RootElement.GetProperty("experiment").GetString()!;
        Assert.Contains("  episodes = 2  # --set episodes=2\n", recorded);    // on the file's own line
        Assert.Contains("  seed = 7  # --set seed=7\n", recorded);            // the file leaves it to its default: added
        Assert.Equal(Experiment(dir), File.ReadAllText(file));                 // the file itself is untouched

        var same = Cli.Run("run", file, "--set", "episodes=2", "--set", "seed=7", "--resume");
        Assert.True(same.Exit == 0, same.Err);

        var other = Cli.Run("run", file, "--set", "episodes=2", "--set", "seed=8", "--resume");
        Assert.Equal(2, other.Exit);
        Assert.Contains("different experiment", other.Err);
        Assert.Contains("seed: 7 (line 10) then, 8 (line 10) now", other.Err);
        Assert.True(other.HasNoTrace, other.Err);

        var none = Cli.Run("run", file, "--resume");
        Assert.Equal(2, none.Exit);
        Assert.Contains("different experiment", none.Err);
    }

    [Fact]
    public void A_bad_override_is_an_error_at_its_set_on_every_command()
    {
        var dir = Directory.CreateTempSubdirectory().FullName;
        var file = Path.Combine(dir, "set.experiment");
        File.WriteAllText(file, Experiment(dir));

        var value = Cli.Run("run", file, "--set", "trials=1", "--set", "episodes=abc");
        Assert.Equal(2, value.Exit);
        Assert.Contains("--set:2:10: error RD0702: `episodes` must be a whole number, not `abc`\n    2 | episodes=abc\n      |          ^", value.Err);
        Assert.True(value.HasNoTrace, value.Err);
        Assert.False(Directory.Exists(Path.Combine(dir, "out")));

        var key = Cli.Run("gradcheck", file, "--set", "epsiodes=2");
        Assert.Equal(2, key.Exit);
        Assert.Contains("--set:1:1: error RD0701: unknown setting `epsiodes`", key.Err);
        Assert.Contains("hint: did you mean `episodes`?", key.Err);

        var shape = Cli.Run("run", file, "--check", "--set", "episodes");
        Assert.Equal(2, shape.Exit);
        Assert.Contains("--set:1:1: error RD0703: expected --set KEY=VALUE, not `episodes`", shape.Err);

        var twice = Cli.Run("learn", file, "--set", "units=8", "--set", "units=9");
        Assert.Equal(2, twice.Exit);
        Assert.Contains("--set:2:1: error RD0703: `units` is set twice (first by --set 1)", twice.Err);

        var word = Cli.Run("gradcheck", file, "--set", "estimator=exactt");
        Assert.Equal(2, word.Exit);
        Assert.Contains("--set:1:11: error RD0702: `estimator` must be one of", word.Err);

        var check = Cli.Run("run", file, "--check", "--set", "episodes=1");
        Assert.True(check.Exit == 0, check.Err);
        Assert.Contains("1 episodes × 1 trials", check.Out);
    }
}
