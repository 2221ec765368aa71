using RuleDsl.Bench;
using RuleDsl.Runtime.Engine.Recurrent;
using RuleDsl.Runtime.Kernels;
using RuleDsl.Runtime.Meta;

namespace RuleDsl.Runtime.Tests.Engine;

/// The factored trace (E + Σ rank-one terms applied 16 steps at once) computes the same numbers, bit for
/// bit, as the per-step update: the weights after learning, every trial's reward, J and its gradient.
public class FactoredTracesTests
{
    internal sealed record Run(EpisodeOutcome Outcome, double[] W, List<double> Rewards, string? NotFactored);

    /// <summary>One learning run of <paramref name="rule"/> (tangents: every unit direction, θ off the origin),
    /// with what it learned; the precision tests use it too.</summary>
    internal static Run Learn(string rule, int units, int horizon, RecurrentSpeedups speedups, bool tangents, IKernelBackend? backend = null)
    {
        var session = RecurrentRows.Session(units, horizon, rule);
        var theta = session.Theta.Initial;
        // Off the origin (where neo_hebbian's trace is zero), so that every term and tangent moves.
        var rng = new Random(3);
        if (tangents) for (int i = 0; i < theta.Length; i++) theta[i] += 0.5 * (rng.NextDouble() - 0.5);
        double[][] dirs = tangents
            ? Enumerable.Range(0, theta.Length).Select(i => Enumerable.Range(0, theta.Length).Select(j => i == j ? 1.0 : 0).ToArray()).ToArray()
            : [];
        var learner = (RecurrentLearner)(backend is null ? session.LoopFactory() : session.LoopFactory(backend))(0);
        learner.Speedups = speedups;
        double[] w = [];
        var rewards = new List<double>();
        learner.OnTrained = (weights, _) => w = weights;
        learner.OnTrial = (_, r, _) => rewards.Add(r);
        var outcome = learner.Run(theta, dirs, 1, default);
        return new Run(outcome, w, rewards, learner.NotFactored);
    }

    static void AssertSame(Run plain, Run fast)
    {
        Assert.Null(plain.Outcome.Failure);
        Assert.Null(fast.Outcome.Failure);
        Assert.Equal(plain.Rewards, fast.Rewards);
        Assert.Equal(plain.W, fast.W);
        Assert.Equal(plain.Outcome.Objective, fast.Outcome.Objective);
        Assert.Equal(plain.Outcome.Directional, fast.Outcome.Directional);
    }

    [Fact]
    public void Miconis_trace_factored_learns_bit_for_bit_as_per_step()
    {
        var plain = Learn("miconi.rule miconi", 40, 6, RecurrentSpeedups.None, tangents: false);
        var fast = Learn("miconi.rule miconi", 40, 6, RecurrentSpeedups.Default, tangents: false);
        Assert.Null(fast.NotFactored);
        // The weights moved: a learner that never updated W would agree trivially.
        Assert.NotEqual(Learn("miconi.rule miconi", 40, 1, RecurrentSpeedups.None, tangents: false).W, plain.W);
        AssertSame(plain, fast);
    }

    [Theory]
    [InlineData(37, false)]
    [InlineData(37, true)]
    [InlineData(40, true)]
    public void Packed_weights_learn_bit_for_bit_as_the_weights_themselves(int units, bool tangents)
    {
        // 37: leftover rows and columns after the last whole tile and chunk come from W itself.
        var rule = tangents ? "neo_hebbian.rule miconi_family" : "miconi.rule miconi";
        var plain = Learn(rule, units, 4, RecurrentSpeedups.Default with { PackedWeights = false }, tangents);
        var tiled = Learn(rule, units, 4, RecurrentSpeedups.Default, tangents);
        AssertSame(plain, tiled);
        Assert.Null(RuleDsl.Runtime.Kernels.Compiler.PackedMatrices<double>.Current); // released after the trials
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Neo_hebbian_family_factored_gives_the_same_J_and_gradient_bit_for_bit(bool factoredTangents)
    {
        var plain = Learn("neo_hebbian.rule neo_hebbian", 30, 5, RecurrentSpeedups.None, tangents: true);
        // Its rows combine three vectors per step: factored only when asked (the general rank-k path).
        var fast = Learn("neo_hebbian.rule neo_hebbian", 30, 5,
            new RecurrentSpeedups(FactoredTraces: true, FactoredTangents: factoredTangents, FactorSeveralTerms: true), tangents: true);
        Assert.Null(fast.NotFactored);
        Assert.Contains(plain.Outcome.Directional, g => g != 0);
        AssertSame(plain, fast);
    }

    [Fact]
    public void Miconi_family_with_its_clip_and_16_tangents_factored_bit_for_bit()
    {
        var plain = Learn("neo_hebbian.rule miconi_family", 30, 4, RecurrentSpeedups.None, tangents: true);
        var fast = Learn("neo_hebbian.rule miconi_family", 30, 4,
            new RecurrentSpeedups(FactoredTraces: true, FactoredTangents: true, FactorSeveralTerms: true), tangents: true);
        AssertSame(plain, fast);
    }

    [Theory]
    // Elementwise with W: not rank one, the deferred kernel does not compile.
    [InlineData("trace E' = theta * outer(x - xbar, r) * W", "rank-one")]
    // A decaying trace reads itself in its rate: E is stale while deferred.
    [InlineData("trace E' = theta * outer(x - xbar, r) - E", "reads a trace")]
    public void A_trace_that_is_not_old_plus_rank_one_falls_back_to_the_per_step_update(string trace, string why)
    {
        var dir = Directory.CreateTempSubdirectory().FullName;
        var file = Path.Combine(dir, "other.rule");
        File.WriteAllText(file, $"rule other : recurrent\n  param theta = 0.5\n  {trace}\n  dW = 1e-3 * E * (R - Rbar)\n");
        var plain = Learn($"{file} other", 20, 3, RecurrentSpeedups.None, tangents: true);
        var fast = Learn($"{file} other", 20, 3, RecurrentSpeedups.Default, tangents: true);
        Assert.NotNull(fast.NotFactored);
        Assert.Contains(why, fast.NotFactored);
        AssertSame(plain, fast);
    }
}
