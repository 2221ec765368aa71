using RuleDsl.Bench;
using RuleDsl.Runtime.Engine.Feedforward;
using RuleDsl.Runtime.Engine.Recurrent;
using RuleDsl.Runtime.Kernels;
using RuleDsl.Runtime.Meta;
using RuleDsl.Semantics;
using Precision = RuleDsl.Syntax.Precision;

namespace RuleDsl.Runtime.Tests.Engine;

/// `precision = float32` runs in single precision (its numbers differ from float64's) and agrees with
/// float64 over a short run to the tolerances below, chosen from measurement (docs/experiments.md,
/// "Precision"): every difference is stated relative to the largest magnitude of its quantity.
public class PrecisionTests(Xunit.Abstractions.ITestOutputHelper output)
{
    sealed record Run(EpisodeOutcome Outcome, double[] W, List<double> Rewards);

    /// <summary>The largest difference relative to the largest magnitude of <paramref name="a"/>.</summary>
    static double Rel(IReadOnlyList<double> a, IReadOnlyList<double> b) =>
        a.Zip(b, (x, y) => Math.Abs(x - y)).Max() / Math.Max(1e-300, a.Max(Math.Abs));

    static Run Learn(string rule, int units, int horizon, Precision precision, bool tangents)
    {
        var run = FactoredTracesTests.Learn(rule, units, horizon, RecurrentSpeedups.Default, tangents, new SimdBackend(precision));
        Assert.Null(run.Outcome.Failure);
        return new Run(run.Outcome, run.W, run.Rewards);
    }

    /// <summary>float32 differs from float64 (it is single precision), by less than each tolerance.</summary>
    void AssertClose(Run f64, Run f32, double j, double w, double? gradient = null)
    {
        double dJ = Math.Abs(f64.Outcome.Objective - f32.Outcome.Objective) / Math.Abs(f64.Outcome.Objective);
        double dW = Rel(f64.W, f32.W), dR = Rel(f64.Rewards, f32.Rewards);
        double dG = f64.Outcome.Directional.Length == 0 ? 0 : Rel(f64.Outcome.Directional, f32.Outcome.Directional);
        output.WriteLine($"float32 vs float64: J {dJ:G3}, rewards {dR:G3}, W {dW:G3}, gradient {dG:G3} (relative to the largest magnitude)");
        Assert.True(dJ > 0 && dW > 0, "float32 gave float64's numbers exactly: it did not run in single precision");
        Assert.True(dJ < j, $"J differs by {dJ:G3} relative");
        Assert.True(dR < j, $"the rewards differ by {dR:G3} relative");
        Assert.True(dW < w, $"W differs by {dW:G3} relative");
        if (gradient is double g) Assert.True(dG < g, $"the gradient differs by {dG:G3} relative");
    }

    [Fact]
    public void Miconis_learner_in_float32_agrees_with_float64_over_a_short_run()
    {
        // Measured: J 3e-8, rewards 1.2e-7, W 2e-7 (N = 40, DNMS, 12 trials; the trace factored on DeferredRows<float>).
        var f64 = Learn("miconi.rule miconi", 40, 12, Precision.Float64, tangents: false);
        var f32 = Learn("miconi.rule miconi", 40, 12, Precision.Float32, tangents: false);
        AssertClose(f64, f32, j: 1e-5, w: 1e-5);
    }

    [Fact]
    public void Neo_hebbian_family_with_tangents_in_float32_agrees_with_float64_over_a_short_run()
    {
        // Measured: J 6e-8, rewards 1.8e-7, W 1.4e-7, gradient 1.2e-6 (N = 30, 8 trials, 9 tangents).
        var f64 = Learn("neo_hebbian.rule neo_hebbian", 30, 8, Precision.Float64, tangents: true);
        var f32 = Learn("neo_hebbian.rule neo_hebbian", 30, 8, Precision.Float32, tangents: true);
        AssertClose(f64, f32, j: 1e-5, w: 1e-5, gradient: 1e-4);
    }

    [Theory]
    [InlineData("bio")]
    [InlineData("bcm")]
    public void A_feedforward_episode_in_float32_agrees_with_float64(string rule)
    {
        // Measured on 20-12-8-3, 30 online samples: bio J 5e-8, W 2.5e-7, gradient 1.5e-7; bcm (a trace)
        // J 9.5e-7, W 9.3e-7, gradient 1.7e-6.
        Run Episode(Precision precision)
        {
            var r = rule == "bio" ? TestRules.Bio() : FeedforwardTracesTests.Bcm();
            var learner = new FeedforwardLearner(new FeedforwardConfig([20, 12, 8, 3], "fa"), ModelFile.Feedforward(10.0), r,
                new RandomTask(20, 3, train: 30, query: 9), new SimdBackend(precision), seed: 3);
            var theta = r.Params.Select((p, i) => p.Init + 0.01 * (i + 1)).ToArray();
            var dirs = Enumerable.Range(0, theta.Length).Select(i => Enumerable.Range(0, theta.Length).Select(j => i == j ? 1.0 : 0).ToArray()).ToArray();
            double[] w = [];
            learner.OnTrained = layers => w = [.. layers.SelectMany(x => x)];
            var outcome = learner.Run(theta, dirs, 2, default);
            Assert.Null(outcome.Failure);
            return new Run(outcome, w, [outcome.Objective]);
        }
        AssertClose(Episode(Precision.Float64), Episode(Precision.Float32), j: 1e-5, w: 1e-5, gradient: 1e-4);
    }
}
