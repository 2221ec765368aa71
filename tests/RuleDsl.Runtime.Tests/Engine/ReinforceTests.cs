using RuleDsl.Syntax;
using RuleDsl.Runtime.Data;
using RuleDsl.Runtime.Engine.Recurrent;
using RuleDsl.Runtime.Meta;
using RuleDsl.Semantics;

namespace RuleDsl.Runtime.Tests.Engine;

/// The REINFORCE estimator (antithetic Gaussian perturbations of θ, no tangents) averaged over many
/// draws equals the exact gradient by tangent propagation, within its own standard error, on a small
/// RNN learning over five trials with the 3×3 neo-Hebbian family.
public class ReinforceTests
{
    static readonly RecurrentConfig Config = new(Units: 6, Horizon: 5, Gamma: 0.9, PerturbationProbability: 0.2, PerturbationAmplitude: 2, Dt: 0.01,
        Clamped: [(5, 1.0)]);
    static readonly RecurrentModel Model = ModelFile.Recurrent(0.01, 0.03, 0.5, 0.75);

    [Fact]
    public void Reinforce_averages_to_the_exact_meta_gradient_within_its_standard_error()
    {
        var rule = RecurrentRules.NeoHebbian(3, eta: 5.0);
        var loop = new RecurrentLearner(Config, Model, rule, new CueTask(steps: 10), FeedforwardGradientTests.BackendNamed("simd"), seed: 5);
        var rng = new Random(11);
        var theta = Enumerable.Range(0, 9).Select(_ => rng.NextDouble() - 0.5).ToArray();
        int p = theta.Length;

        var unit = Directions.Draw(GradientEstimator.Exact, p, 0, new Rng(0));
        var exact = Directions.Combine(GradientEstimator.Exact, unit, loop.Run(theta, unit, 1, default).Directional).Gradient;

        // 2,000 antithetic pairs: the standard error shrinks as 1/√k, so the comparison is sharp.
        var u = Directions.Draw(GradientEstimator.Reinforce, p, 2000, new Rng(3));
        var outcome = Reinforce.Run(loop, theta, u, sigma: 1e-3, episode: 1, default);
        Assert.Null(outcome.Failure);
        var (g, se) = Directions.Combine(GradientEstimator.Reinforce, u, outcome.Directional);

        double norm = Math.Sqrt(exact.Sum(x => x * x));
        Assert.True(norm > 1e-6, "the exact gradient is not trivially zero");
        for (int i = 0; i < p; i++)
        {
            Assert.True(Math.Abs(g[i] - exact[i]) <= 4 * se[i] + 1e-9,
                $"{rule.Params[i].Symbol.Name}: REINFORCE {g[i]:G6} ± {se[i]:G3} vs exact {exact[i]:G6}");
            // The test could fail: the standard error is small against the gradient's size.
            Assert.True(se[i] < 0.2 * norm, $"{rule.Params[i].Symbol.Name}: standard error {se[i]:G3} too large to test anything (|g| = {norm:G3})");
        }
        // A wrong sign or scale would not pass: the estimate points where the exact gradient points.
        double cos = g.Zip(exact).Sum(t => t.First * t.Second) / (Math.Sqrt(g.Sum(x => x * x)) * norm);
        Assert.True(cos > 0.9, $"cosine between REINFORCE and exact gradients {cos:F3}");

        // Sharper, and deterministic: each pair's (J(θ+σu) − J(θ−σu)) / 2σ is the directional
        // derivative along u, which tangent propagation gives exactly; they agree to O(σ²) (here ~1e-5).
        var first = u.Take(12).ToArray();
        var tangent = loop.Run(theta, first, 1, default).Directional;
        for (int d = 0; d < first.Length; d++)
            Assert.True(Math.Abs(outcome.Directional[d] - tangent[d]) <= 1e-4 * Math.Max(1, Math.Abs(tangent[d])),
                $"pair {d}: (J+ − J−)/2σ = {outcome.Directional[d]:G10} vs tangent {tangent[d]:G10}");
    }

    [Fact]
    public void A_meta_trainer_with_the_reinforce_estimator_lowers_the_objective()
    {
        var rule = RecurrentRules.NeoHebbian(3, eta: 5.0);
        var loop = new RecurrentLearner(Config, Model, rule, new CueTask(steps: 10), FeedforwardGradientTests.BackendNamed("simd"), seed: 5);
        var settings = new MetaSettings(Episodes: 1, LearningRate: 0.05, Projections: 8, Sigma: 1e-3, Seed: 2) { Estimator = GradientEstimator.Reinforce };
        var theta0 = Enumerable.Repeat(0.1, 9).ToArray();
        var step = new MetaTrainer(loop, settings, Theta.Unbounded(theta0)).Run().Single();
        Assert.Null(step.Failure);
        Assert.All(step.StandardError, s => Assert.True(double.IsFinite(s)));
        Assert.Contains(step.Gradient, g => Math.Abs(g) > 0);
        Assert.NotEqual(theta0, step.ThetaAfter);
    }
}
