using RuleDsl.Runtime.Experiments;
using RuleDsl.Runtime.Results;
using RuleDsl.Runtime.Tests.Data;

namespace RuleDsl.Runtime.Tests.Experiments;

public class RunComparisonTests
{
    /// 4 trials × 10 episodes at a fixed accuracy; trial 0's episodes 5–9 diverged when asked.
    static RunFolder Run(string dir, double accuracy, bool diverging)
    {
        var run = RunFolder.CreateOrResume(dir, $"experiment cmp {accuracy}", new { accuracy });
        using var log = run.OpenEpisodes();
        for (int t = 0; t < 4; t++)
            for (int e = 0; e < 10; e++)
            {
                bool failed = diverging && t == 0 && e >= 5;
                log.Append(new CsvRow().Add("trial", t).Add("episode", e)
                    .Add("accuracy", failed ? double.NaN : accuracy).Add("failure", failed ? "the output became non-finite" : ""));
            }
        return run;
    }

    [Fact]
    public void Diverged_episodes_are_left_out_or_counted_at_the_value_given()
    {
        using var dir = new TempDir();
        var a = Run(dir.File("a"), 0.6, diverging: true);
        var b = Run(dir.File("b"), 0.4, diverging: false);

        var left = Assert.Single(RunComparison.Compare(a, b, "accuracy", 10));
        Assert.Equal(0.6, left.MeanA, 12);
        Assert.Equal(16, left.U);                                 // every A trial above every B trial
        Assert.Equal((5, 0), (left.DivergedA, left.DivergedB));
        Assert.True(left.PGreater < 0.01, $"p = {left.PGreater}");   // tied values: the normal approximation

        var chance = Assert.Single(RunComparison.Compare(a, b, "accuracy", 10, diverged: 0.0));
        Assert.Equal((0.3 + 3 * 0.6) / 4, chance.MeanA, 12);      // trial 0: half its episodes at 0
        Assert.Equal(12, chance.U);                               // trial 0 now below B's four trials
        Assert.True(chance.PGreater > left.PGreater);
    }

    /// A run of an experiment text with the given number of trials, each at a fixed accuracy.
    static RunFolder RunOf(string dir, string settings, int trials, double accuracy)
    {
        var run = RunFolder.CreateOrResume(dir, $"experiment cmp\n  rule = rules/bio.rule bio\n  trials = {trials}\n{settings}", new { trials });
        using var log = run.OpenEpisodes();
        for (int t = 0; t < trials; t++)
            for (int e = 0; e < 4; e++)
                log.Append(new CsvRow().Add("trial", t).Add("episode", e).Add("accuracy", accuracy + 0.01 * t));
        return run;
    }

    [Fact]
    public void Too_few_trials_to_reach_significance_are_said_with_the_smallest_p()
    {
        using var dir = new TempDir();
        var a = RunOf(dir.File("a"), "  feedback = fa\n", 1, 0.6);
        var b = RunOf(dir.File("b"), "  feedback = bp\n", 1, 0.4);
        var rows = RunComparison.Compare(a, b, "accuracy", 4);
        Assert.Equal(1.0, Assert.Single(rows).PTwoSided);
        var caveat = Assert.Single(RunComparison.Caveats(a, b, rows));   // fa vs bp is what is compared
        Assert.Contains("with 1 trial of A and 1 of B per window the smallest one-sided p the test can reach is 0.5", caveat);

        var a4 = RunOf(dir.File("a4"), "", 4, 0.6);
        var b4 = RunOf(dir.File("b4"), "", 4, 0.4);
        Assert.Empty(RunComparison.Caveats(a4, b4, RunComparison.Compare(a4, b4, "accuracy", 4)));  // smallest p 1/70
    }

    [Fact]
    public void Runs_that_differ_in_more_than_the_rule_name_the_settings()
    {
        using var dir = new TempDir();
        var a = RunOf(dir.File("a"), "  seed = 1\n", 4, 0.6);
        var b = RunOf(dir.File("b"), "  seed = 2\n  lr = 0.01\n  output = elsewhere\n", 4, 0.4);
        var caveat = Assert.Single(RunComparison.Caveats(a, b, RunComparison.Compare(a, b, "accuracy", 4)));
        Assert.Contains("the runs differ in more than the rule and the feedback: seed (1 vs 2), lr (0.001 vs 0.01);", caveat);
    }

    /// Settings are named from Experiment.values: it must hold every setting of the schema.
    [Fact]
    public void Every_setting_of_the_schema_has_a_value_to_compare()
    {
        var spec = RuleDsl.Syntax.Experiment.parse("x.experiment", "experiment x\n  rule = r.rule r\n").ResultValue;
        Assert.Equal(RuleDsl.Syntax.Experiment.schema.Select(s => s.Item1), RuleDsl.Syntax.Experiment.values(spec).Select(v => v.Item1));
    }
}
