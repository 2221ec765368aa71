using RuleDsl.Bench;
using RuleDsl.Runtime.Meta;

namespace RuleDsl.Runtime.Tests.Engine;

/// The benchmark's recurrent rows time real learning: a run that diverges is refused, not timed
/// (neo_hebbian4 under five-fold kicks used to explode in learning trial 4 and report a speed).
public class BenchRecurrentRowsTests
{
    static EpisodeOutcome TimedRun(int units, int directions, int horizon, string rule)
    {
        var (loop, theta, dirs) = RecurrentRows.Row(units, directions, horizon, rule);
        return loop.Run(theta, dirs, 1, default);
    }

    [Fact]
    public void A_row_whose_run_diverges_is_refused()
    {
        var dir = Directory.CreateTempSubdirectory().FullName;
        var file = Path.Combine(dir, "blow.rule");
        // A trace 10⁴ times too strong: the recurrent weights explode within two learning trials.
        File.WriteAllText(file, "rule blow : recurrent\n  param theta = 1e4\n  trace E' = theta * outer(x - xbar, r)\n  dW = E\n");
        var why = RecurrentRows.Judge(TimedRun(20, 1, 10, $"{file} blow"));
        Assert.NotNull(why);
        Assert.Contains("exploded", why);
        Assert.NotNull(RecurrentRows.Judge(new EpisodeOutcome(double.NaN, [0.1], new Dictionary<string, double>())));
        Assert.NotNull(RecurrentRows.Judge(new EpisodeOutcome(0.5, [double.PositiveInfinity], new Dictionary<string, double>())));
        Assert.Null(RecurrentRows.Judge(new EpisodeOutcome(0.5, [0.1], new Dictionary<string, double>())));
    }

    [Theory]
    [InlineData(100)]
    [InlineData(400)]
    public void The_rows_rule_with_tangents_runs_without_diverging_at_the_smallest_and_largest_N(int units)
    {
        // A few trials only: the full-length rows are judged by the benchmark itself, which fails on a diverged row.
        Assert.Null(RecurrentRows.Judge(TimedRun(units, 1, 3, RecurrentRows.RuleOf(1))));
    }
}
