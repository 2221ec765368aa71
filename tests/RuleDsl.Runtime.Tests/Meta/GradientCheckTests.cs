using RuleDsl.Runtime.Meta;

namespace RuleDsl.Runtime.Tests.Meta;

/// A loop whose objective curves on a scale of 1e-5 in θ (like the Oja coefficient of the paper's
/// network): J(θ) = exp(θ / 1e-5). Its tangent is J'(θ) = J / 1e-5, optionally wrong by a factor.
sealed class SteepLoop(double tangentFactor = 1.0) : IInnerLoop
{
    public int ParameterCount => 1;
    public EpisodeOutcome Run(double[] theta, double[][] directions, int episode, CancellationToken cancel)
    {
        double j = Math.Exp(theta[0] / 1e-5);
        return new EpisodeOutcome(j, directions.Select(d => tangentFactor * d[0] * j / 1e-5).ToArray(), new Dictionary<string, double>());
    }
}

public class GradientCheckTests
{
    [Fact]
    public void A_fixed_step_too_large_for_the_curvature_fails_a_correct_tangent()
    {
        var row = GradientCheck.Run(new SteepLoop(), [0.0], ["theta"], step: 1e-4).Single();
        Assert.False(row.Pass);
    }

    [Fact]
    public void The_best_converged_step_confirms_a_correct_tangent()
    {
        var row = GradientCheck.Run(new SteepLoop(), [0.0], ["theta"]).Single();
        Assert.True(row.Pass, $"rel. error {row.RelativeError:G3} at step {row.Step:G1}");
        Assert.True(row.Step <= 1e-6);
    }

    [Fact]
    public void The_best_converged_step_still_rejects_a_tangent_wrong_by_a_tenth_of_a_percent()
    {
        var row = GradientCheck.Run(new SteepLoop(tangentFactor: 1.001), [0.0], ["theta"]).Single();
        Assert.False(row.Pass, $"rel. error {row.RelativeError:G3}");
    }
}
