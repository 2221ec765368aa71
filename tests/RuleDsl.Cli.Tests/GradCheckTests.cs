namespace RuleDsl.Cli.Tests;

/// `ruledsl gradcheck` as issue 17 reported it: a correct tangent whose small components drowned in
/// round-off at the one default step printed FAIL.
public class GradCheckTests
{
    [Fact]
    public void The_shipped_neo_hebbian_meta_experiment_passes_with_the_default_steps_and_shows_the_estimates_error()
    {
        var r = Cli.Run("gradcheck", "examples/neo_hebbian_meta.experiment");
        Assert.True(r.Exit == 0, r.Out + r.Err);
        Assert.Contains("fd error", r.Out);
        Assert.Equal(9, r.Out.Split('\n').Count(l => l.TrimEnd().EndsWith("pass")));
    }

    [Fact]
    public void An_explicit_step_is_used_for_every_theta_and_judged_by_the_tolerance_alone()
    {
        // At 1e-5 the smallest meta-gradients of this experiment are round-off: the user asked for it.
        var r = Cli.Run("gradcheck", "examples/neo_hebbian_meta.experiment", "--step", "1e-5");
        Assert.Equal(1, r.Exit);
        Assert.Contains("FAIL", r.Out);
        var rows = r.Out.Split('\n').Where(l => l.StartsWith("theta")).ToArray();
        Assert.Equal(9, rows.Length);
        Assert.All(rows, l => Assert.Contains(" 1E-05 ", l));
    }

    [Fact]
    public void In_float32_the_tangents_are_checked_against_differences_of_the_float64_episode_at_float32s_tolerance()
    {
        var r = Cli.Run("gradcheck", "examples/neo_hebbian_meta.experiment", "--set", "precision=float32");
        Assert.True(r.Exit == 0, r.Out + r.Err);
        Assert.Contains("precision float32: float32 tangents vs differences of the float64 episode", r.Out);
        Assert.Contains("≤ 0.001", r.Out);
        Assert.Equal(9, r.Out.Split('\n').Count(l => l.TrimEnd().EndsWith("pass")));
    }
}
