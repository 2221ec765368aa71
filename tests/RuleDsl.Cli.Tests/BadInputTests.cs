namespace RuleDsl.Cli.Tests;

/// Bad input gets a clear error naming what is wrong and a non-zero exit, never a stack trace.
public class BadInputTests
{
    [Theory]
    [InlineData("run", "no_such.experiment")]
    [InlineData("samples", "no_such.experiment")]
    [InlineData("gradcheck", "no_such.experiment")]
    [InlineData("analyse", "no_such.experiment")]
    [InlineData("learn", "no_such.experiment")]
    [InlineData("check", "no_such.rule")]
    [InlineData("derive", "no_such.rule")]
    [InlineData("plot", "no_such_run")]
    [InlineData("compare", "no_such_run", "no_such_run_either")]
    public void A_missing_file_or_folder_is_named_with_exit_2(params string[] args)
    {
        var r = Cli.Run(args);
        Assert.Equal(2, r.Exit);
        Assert.Contains(args[1], r.Err);
        Assert.True(r.HasNoTrace, r.Err);
    }

    [Fact]
    public void An_invalid_experiment_points_at_each_bad_line_and_column()
    {
        var r = Cli.Run("run", "tests/bad/experiment_meta_step.experiment");
        Assert.Equal(2, r.Exit);
        Assert.Contains("tests/bad/experiment_meta_step.experiment:4:18: error RD0702: `lr` must be positive", r.Err);
        Assert.Contains("penalty_step = proximal", r.Err);
        Assert.True(r.HasNoTrace, r.Err);
    }

    [Theory]
    [InlineData("5-1", "the range is empty")]
    [InlineData("a-b", "'a' is not a whole number")]
    [InlineData("1,x", "'x' is not a whole number")]
    public void Bad_seed_ranges_are_errors(string seeds, string message)
    {
        var r = Cli.Run("learn", "examples/miconi_dnms.experiment", "--seeds", seeds);
        Assert.Equal(2, r.Exit);
        Assert.Contains(message, r.Err);
        Assert.True(r.HasNoTrace, r.Err);
    }

    [Fact]
    public void An_unknown_option_is_an_error_that_points_to_help()
    {
        var r = Cli.Run("run", "examples/quickstart.experiment", "--no-such-option");
        Assert.Equal(2, r.Exit);
        Assert.Contains("--no-such-option", r.Err);
        Assert.Contains("--help", r.Err);
    }

    /// An experiment that meta-trains on several tasks learns or is analysed on one, which the user names.
    [Theory]
    [InlineData("learn", "--seeds", "1")]
    [InlineData("analyse", "--trials", "5")]
    public void Learning_with_a_several_task_experiment_asks_which_task(params string[] args)
    {
        var dir = Directory.CreateTempSubdirectory().FullName;
        var r = Cli.Run([args[0], "examples/miconi_anneal_mixed.experiment", .. args[1..], "--out", dir]);
        Assert.Equal(2, r.Exit);
        Assert.Contains("--task", r.Err);
        Assert.True(r.HasNoTrace, r.Err);
    }

    /// Task names are the runtime's, so `run --check` asks the runtime too, and says nothing is fine when it is not.
    [Fact]
    public void Run_check_names_an_unknown_task_and_the_one_meant()
    {
        var file = Path.Combine(Directory.CreateTempSubdirectory().FullName, "typo.experiment");
        File.WriteAllText(file, $"experiment typo\n  setting = recurrent\n  rule = {Path.Combine(Cli.RepoRoot(), "rules", "miconi.rule")} miconi\n  task = go-nogo dnmz\n  batch = 2\n");
        var r = Cli.Run("run", file, "--check");
        Assert.Equal(2, r.Exit);
        Assert.Contains("unknown task 'dnmz'", r.Err);
        Assert.Contains("did you mean dnms?", r.Err);
        Assert.DoesNotContain("experiment typo", r.Out);
        Assert.True(r.HasNoTrace, r.Err);
        File.WriteAllText(file, File.ReadAllText(file).Replace("dnmz", "dnms"));
        Assert.Equal(0, Cli.Run("run", file, "--check").Exit);
    }

    /// It failed inside the parallel learners, as an internal error (exit 70).
    [Fact]
    public void Learn_names_an_unknown_task_at_the_experiments_task_line()
    {
        var dir = Directory.CreateTempSubdirectory().FullName;
        var file = Path.Combine(dir, "typo.experiment");
        File.WriteAllText(file, $"experiment typo\n  setting = recurrent\n  rule = {Path.Combine(Cli.RepoRoot(), "rules", "miconi.rule")} miconi\n  task = dnmz\n  units = 8\n");
        var r = Cli.Run("learn", file, "--seeds", "1", "--trials", "3", "--out", Path.Combine(dir, "learn"));
        Assert.Equal(2, r.Exit);
        Assert.Contains($"{file}:4:10: error RD0702: unknown task 'dnmz'", r.Err);
        Assert.True(r.HasNoTrace, r.Err);
    }

    [Fact]
    public void Learn_resume_on_a_folder_without_its_record_says_so_and_learns_nothing()
    {
        var dir = Directory.CreateTempSubdirectory().FullName;
        File.WriteAllText(Path.Combine(dir, "learning.csv"), "rule,task,seed,trials_to_criterion,final_accuracy,failure\n");
        var r = Cli.Run("learn", "examples/miconi_dnms.experiment", "--seeds", "1", "--resume", "--out", dir);
        Assert.Equal(2, r.Exit);
        Assert.Contains("learn.json is missing", r.Err);
        Assert.False(File.Exists(Path.Combine(dir, "learn.json")));
        Assert.True(r.HasNoTrace, r.Err);
    }

    [Fact]
    public void A_mistyped_command_gets_did_you_mean()
    {
        var r = Cli.Run("chek", "rules/bio.rule");
        Assert.Equal(2, r.Exit);
        Assert.Contains("ruledsl: error: unknown command 'chek'; did you mean check?", r.Err);
        Assert.DoesNotContain("Unrecognized command or argument 'rules/bio.rule'", r.Err);
        Assert.True(r.HasNoTrace, r.Err);
    }

    /// What only the runtime refuses (a time step with no steps in a trial) still points at its setting.
    [Fact]
    public void Run_check_points_at_a_time_step_the_runtime_refuses()
    {
        var file = Path.Combine(Directory.CreateTempSubdirectory().FullName, "dt.experiment");
        File.WriteAllText(file, $"experiment dt\n  setting = recurrent\n  rule = {Path.Combine(Cli.RepoRoot(), "rules", "miconi.rule")} miconi\n  dt = 0\n");
        var r = Cli.Run("run", file, "--check");
        Assert.Equal(2, r.Exit);
        Assert.Contains($"{file}:4:8: error RD0702: dt must be a positive number of ms, got 0", r.Err);
        Assert.DoesNotContain("(Parameter", r.Err);
        Assert.True(r.HasNoTrace, r.Err);
    }
}
