using RuleDsl.Runtime.Kernels;
using RuleDsl.Runtime.Engine.Feedforward;
using RuleDsl.Runtime.Meta;
using RuleDsl.Semantics;
using Setting = RuleDsl.Syntax.Setting;

namespace RuleDsl.Runtime.Tests.Engine;

/// A small random task: enough to exercise every equation, small enough for the interpreter.
sealed class RandomTask(int inputs, int classes, int train, int query) : IEpisodeSource
{
    public EpisodeData Get(int episode)
    {
        var rng = new Random(1000 + episode);
        double[] X() => Enumerable.Range(0, inputs).Select(_ => rng.NextDouble()).ToArray();
        return new EpisodeData(
            Enumerable.Range(0, train).Select(_ => X()).ToArray(), Enumerable.Range(0, train).Select(i => i % classes).ToArray(),
            Enumerable.Range(0, query).Select(_ => X()).ToArray(), Enumerable.Range(0, query).Select(i => i % classes).ToArray());
    }
}

/// The meta-gradient by tangent propagation through a whole inner loop equals central differences of
/// the meta-loss, in double precision, for every feedback pathway and for the rules of the paper.
public class FeedforwardGradientTests
{
    static readonly int[] Layers = [6, 5, 4, 3];
    static readonly FeedforwardModel Model = ModelFile.Feedforward(10.0);

    public static IKernelBackend BackendNamed(string name) => name switch
    {
        "interpreter" => new InterpretedBackend(),
        "simd" => new RuleDsl.Runtime.Kernels.SimdBackend(),
        _ => throw new ArgumentException(name),
    };

    static IReadOnlyList<GradientCheckRow> Check(Rule rule, string feedback, double[] theta, string backend = "interpreter")
    {
        var learner = new FeedforwardLearner(new FeedforwardConfig(Layers, feedback), Model, rule,
            new RandomTask(6, 3, train: 9, query: 6), BackendNamed(backend), seed: 3);
        return GradientCheck.Run(learner, theta, rule.Params.Select(p => p.Symbol.Name).ToArray(), episode: 2);
    }

    static void AssertAllPass(IReadOnlyList<GradientCheckRow> rows)
    {
        foreach (var r in rows)
            Assert.True(r.Pass, $"{r.Name}: tangent {r.Tangent:G10} vs finite difference {r.FiniteDifference:G10} (relative error {r.RelativeError:G3})");
        Assert.Contains(rows, r => Math.Abs(r.Tangent) > 1e-6); // not a vacuous check
    }

    [Theory]
    [InlineData("fa")]
    [InlineData("bp")]
    [InlineData("dfa")]
    public void F0_meta_gradient_matches_finite_differences(string feedback) =>
        AssertAllPass(Check(TestRules.F0(), feedback, [0.5]));

    [Fact]
    public void Bio_meta_gradient_matches_finite_differences() =>
        AssertAllPass(Check(TestRules.Bio(), "fa", [0.5, 0.2, 0.1]));

    [Theory]
    [InlineData("interpreter")]
    [InlineData("simd")]
    public void Pool_meta_gradient_matches_finite_differences_for_all_ten_terms(string backend)
    {
        double[] theta = [0.5, 0.05, 0.1, 0.05, 0.02, 0.03, 0.04, 0.05, 0.06, 0.1];
        AssertAllPass(Check(TestRules.PoolRule(), "fa", theta, backend));
    }

    [Theory]
    [InlineData("simd", "bp")]
    [InlineData("simd", "dfa")]
    public void The_simd_backend_gives_the_exact_meta_gradient(string backend, string feedback) =>
        AssertAllPass(Check(TestRules.Bio(), feedback, [0.5, 0.2, 0.1], backend));

    /// Table 1: each layer with its own rule, θ the union by name (theta0 shared by all three layers).
    [Theory]
    [InlineData("interpreter")]
    [InlineData("simd")]
    public void Per_layer_rules_meta_gradient_matches_finite_differences(string backend)
    {
        Rule[] rules = [TestRules.F0(), TestRules.EHebb(), TestRules.Oja()];
        var learner = new FeedforwardLearner(new FeedforwardConfig(Layers, "fa"), Model, rules,
            new RandomTask(6, 3, train: 9, query: 6), BackendNamed(backend), seed: 3);
        Assert.Equal(["theta0", "theta2", "theta9"], learner.Params.Select(p => p.Symbol.Name));
        var rows = GradientCheck.Run(learner, [0.5, 0.2, 0.1], ["theta0", "theta2", "theta9"], episode: 2);
        AssertAllPass(rows);
        Assert.All(rows, r => Assert.True(Math.Abs(r.Tangent) > 1e-8, $"{r.Name} should reach the meta-loss")); // every θ is used by some layer
    }

    [Fact]
    public void Per_layer_rules_differ_from_one_rule_everywhere_and_agree_when_all_are_the_same()
    {
        var task = new RandomTask(6, 3, train: 9, query: 6);
        FeedforwardLearner Learner(params Rule[] rules) => new(new FeedforwardConfig(Layers, "fa"), Model, rules, task, BackendNamed("simd"), seed: 3);
        var single = new FeedforwardLearner(new FeedforwardConfig(Layers, "fa"), Model, TestRules.EHebb(), task, BackendNamed("simd"), seed: 3);
        double[] theta = [0.5, 0.3];
        double[][] dirs = [[1, 0], [0, 1]];
        var a = single.Run(theta, dirs, 1, default);
        var b = Learner(TestRules.EHebb(), TestRules.EHebb(), TestRules.EHebb()).Run(theta, dirs, 1, default);
        Assert.Equal(a.Objective, b.Objective);
        Assert.Equal(a.Directional, b.Directional);
        // eHebb only in the last layer: a different network, and θ2 acts through that layer alone.
        var c = Learner(TestRules.F0(), TestRules.F0(), TestRules.EHebb()).Run(theta, dirs, 1, default);
        Assert.NotEqual(a.Objective, c.Objective);
        Assert.NotEqual(0, c.Directional[1]);
    }

    /// The next sample's forward pass inside the update (row products) computes the same numbers as a
    /// separate forward pass: every product is one Dot per row either way.
    [Theory]
    [InlineData("simd", "fa")]
    [InlineData("simd", "bp")]
    [InlineData("interpreter", "dfa")]
    public void Fusing_the_forward_pass_into_the_update_changes_no_number(string backend, string feedback)
    {
        double[] theta = [0.5, 0.05, 0.1, 0.05, 0.02, 0.03, 0.04, 0.05, 0.06, 0.1];
        var dirs = Enumerable.Range(0, 10).Select(r => Enumerable.Range(0, 10).Select(c => r == c ? 1.0 : 0.0).ToArray()).ToArray();
        EpisodeOutcome Run(bool fuse) => new FeedforwardLearner(new FeedforwardConfig(Layers, feedback), Model, TestRules.PoolRule(),
            new RandomTask(6, 3, train: 9, query: 6), BackendNamed(backend), seed: 3)
        { FuseForward = fuse }.Run(theta, dirs, 2, default);
        var (a, b) = (Run(true), Run(false));
        Assert.Null(a.Failure);
        Assert.Equal(b.Objective, a.Objective);
        Assert.Equal(b.Directional, a.Directional);
        Assert.Equal(b.Metrics.OrderBy(m => m.Key), a.Metrics.OrderBy(m => m.Key));
    }

    [Fact]
    public void Per_layer_rules_must_match_the_layers_and_agree_on_shared_starting_values()
    {
        var task = new RandomTask(6, 3, train: 9, query: 6);
        var two = Assert.Throws<ArgumentException>(() => new FeedforwardLearner(new FeedforwardConfig(Layers, "fa"), Model,
            [TestRules.F0(), TestRules.EHebb()], task, new InterpretedBackend(), seed: 3));
        Assert.Contains("3 layers of weights but 2 rules", two.Message);
        var other = RuleOf.Create("f0b", Setting.Feedforward,
            Microsoft.FSharp.Collections.ListModule.OfSeq([Tuple.Create("theta0", 0.5)]), TestRules.F0().Update);
        var clash = Assert.Throws<ArgumentException>(() => Theta.UnionOfParams([TestRules.F0(), other]));
        Assert.Contains("theta0 starts at 0.5", clash.Message);
    }

    [Fact]
    public void Learning_with_F0_lowers_the_query_loss_of_a_fresh_network()
    {
        var learner = new FeedforwardLearner(new FeedforwardConfig(Layers, "bp"), Model, TestRules.F0(),
            new RandomTask(6, 3, train: 30, query: 6), new InterpretedBackend(), seed: 3);
        double untrained = learner.Run([0.0], [], 0, default).Objective;
        double trained = learner.Run([0.5], [], 0, default).Objective;
        Assert.True(trained < untrained, $"loss after learning {trained} should be below {untrained}");
    }

    [Fact]
    public void A_diverging_episode_is_reported_not_returned()
    {
        var learner = new FeedforwardLearner(new FeedforwardConfig(Layers, "fa"), Model, TestRules.PoolRule(),
            new RandomTask(6, 3, train: 30, query: 6), new InterpretedBackend(), seed: 3)
        { ExplosionThreshold = 50 };
        var outcome = learner.Run([0, 0, 0, -5, 0, 0, 0, 0, 0, 0], [], 0, default); // θ3·(−W) with θ3 = −5: W grows ×6 per step
        Assert.NotNull(outcome.Failure);
        Assert.Contains("exploded", outcome.Failure);
    }
}
