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
}
