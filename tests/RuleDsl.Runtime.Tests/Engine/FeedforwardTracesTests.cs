using RuleDsl.Runtime.Engine.Feedforward;
using RuleDsl.Runtime.Meta;
using RuleDsl.Semantics;

namespace RuleDsl.Runtime.Tests.Engine;

/// Traces in the feedforward setting: each layer keeps its rule's traces (post vectors, pre vectors,
/// post×pre matrices) from zero each episode, steps them every training sample, and carries their
/// tangents, so the meta-gradient through them is exact.
public class FeedforwardTracesTests
{
    // Layer sizes all different, so a trace sized by the wrong layer or dimension cannot go unnoticed.
    static readonly int[] Layers = [6, 5, 4, 3];
    static readonly FeedforwardModel Model = ModelFile.Feedforward(10.0);

    static Rule Parse(string path, string text, string name)
    {
        var r = Check.CheckText(path, text);
        Assert.False(r.HasErrors, Check.Render(r));
        return r.Files.SelectMany(f => f.Rules).Single(x => x.Name == name);
    }

    internal static Rule Bcm() => Parse("rules/bcm.rule", File.ReadAllText(Path.Combine(Repo.Root, "rules", "bcm.rule")), "bcm");

    /// A rule with a trace of every shape: a pre vector p, a post×pre matrix E and a post vector m that
    /// reads itself, each scaled by its own θ so that every θ reaches the meta-loss through a trace.
    static Rule AllShapes() => Parse("t.rule", """
        rule shapes : feedforward
          param theta0 = 0.5
          param a = 0.3
          param b = 0.2
          param c = 0.4
          trace p' = a * (y_pre - p)
          trace E += b * outer(e_post, y_pre) - 0.1 * E
          trace m' = c * (y_post^2 - m)
          dW = -theta0 * E + 0.1 * outer(y_post - m, p)
        """, "shapes");

    static FeedforwardLearner Learner(Rule rule, string backend) =>
        new(new FeedforwardConfig(Layers, "fa"), Model, rule, new RandomTask(6, 3, train: 9, query: 6),
            FeedforwardGradientTests.BackendNamed(backend), seed: 3);

    static void AssertExact(Rule rule, double[] theta, string backend)
    {
        var rows = GradientCheck.Run(Learner(rule, backend), theta, rule.Params.Select(p => p.Symbol.Name).ToArray(), episode: 2);
        foreach (var r in rows)
        {
            Assert.True(r.Pass, $"{r.Name}: tangent {r.Tangent:G10} vs finite difference {r.FiniteDifference:G10} (relative error {r.RelativeError:G3})");
            // Every θ here acts through a trace (tau only through BCM's threshold): a tangent of 0 would
            // mean the trace's tangent was not carried.
            Assert.True(Math.Abs(r.Tangent) > 1e-8, $"{r.Name} does not reach the meta-loss");
        }
    }

    [Theory]
    [InlineData("interpreter")]
    [InlineData("simd")]
    public void Bcm_meta_gradient_through_its_sliding_threshold_matches_finite_differences(string backend) =>
        AssertExact(Bcm(), [0.05, 5], backend);

    [Theory]
    [InlineData("interpreter")]
    [InlineData("simd")]
    public void Pre_post_and_matrix_traces_meta_gradient_matches_finite_differences(string backend) =>
        AssertExact(AllShapes(), [0.5, 0.3, 0.2, 0.4], backend);

    [Fact]
    public void Traces_start_from_zero_every_episode()
    {
        // The second run reuses the first's buffers: a trace left over would change its numbers.
        var learner = Learner(AllShapes(), "simd");
        double[] theta = [0.5, 0.3, 0.2, 0.4];
        double[][] v = [[1, 0, 0, 0], [0, 0, 0, 1]];
        var first = learner.Run(theta, v, 2, CancellationToken.None);
        learner.Run(theta, v, 1, CancellationToken.None);
        var again = learner.Run(theta, v, 2, CancellationToken.None);
        Assert.Equal(first.Objective, again.Objective);
        Assert.Equal(first.Directional, again.Directional);
    }

    [Fact]
    public void The_threshold_changes_what_is_learned()
    {
        // BCM with its threshold held at 0 (tau huge) learns something else than with a fast threshold.
        var learner = Learner(Bcm(), "simd");
        var slow = learner.Run([0.05, 1e12], [], 2, CancellationToken.None).Objective;
        var fast = learner.Run([0.05, 2], [], 2, CancellationToken.None).Objective;
        Assert.NotEqual(slow, fast);
    }
}
