using Microsoft.FSharp.Collections;
using RuleDsl.Runtime.Kernels;
using RuleDsl.Runtime.Engine.Recurrent;
using RuleDsl.Runtime.Meta;
using RuleDsl.Semantics;
using Setting = RuleDsl.Syntax.Setting;
using RuleDsl.Symbolic;
using static RuleDsl.Runtime.Kernels.Ir;

namespace RuleDsl.Runtime.Tests.Engine;

/// A tiny delayed-response task: a cue on one of two channels, a respond window at the end where the
/// target is ±0.98 by cue. Enough to make reward depend on the weights in a non-trivial way.
sealed class CueTask(int steps) : ITrialSource
{
    public int InputCount => 2;
    public int Conditions => 2;
    public TrialData Get(int episode, int trial)
    {
        int c = (trial + episode) % 2;
        var u = Enumerable.Range(0, steps).Select(t => t < 3 ? (c == 0 ? new[] { 1.0, 0 } : [0, 1.0]) : [0.0, 0]).ToArray();
        var target = Enumerable.Range(0, steps).Select(_ => c == 0 ? 0.98 : -0.98).ToArray();
        var mask = Enumerable.Range(0, steps).Select(t => t >= steps - 4 ? 1.0 : 0).ToArray();
        return new TrialData(u, target, mask, c);
    }
    public bool IsCorrect(TrialData trial, double reward, double[] output) => reward > -1;
}

public static class RecurrentRules
{
    static readonly Expr X = Sym("x", Vec("post")), XBar = Sym("xbar", Vec("post")), R = Sym("r", Vec("pre"));
    static readonly Expr E = Sym("E", Mat("post", "pre"));
    static Expr S(string n) => Sym(n, Shape.Scalar);

    static Rule Make(string name, (string, double)[] ps, (string, Shape, Expr, bool)[] traces, Expr update) =>
        RuleOf.WithTraces(ListModule.OfSeq(traces.Select(t => Tuple.Create(t.Item1, t.Item2, t.Item3, t.Item4))),
            RuleOf.Create(name, Setting.Recurrent, ListModule.OfSeq(ps.Select(p => Tuple.Create(p.Item1, p.Item2))), update));

    /// The poster's family: dE/dt = Σ_kl θ_kl outer((x̄ − x)^l, r^k), ΔW = η E (R − R̄).
    public static Rule NeoHebbian(int grid, double eta)
    {
        var names = new List<(string, double)>();
        Expr? rate = null;
        for (int k = 0; k < grid; k++)
            for (int l = 0; l < grid; l++)
            {
                string n = $"theta[{k},{l}]";
                names.Add((n, 0));
                var term = S(n) * Call(Fn.Outer, Expr.NewPow(XBar - X, Expr.NewNum(l)), Expr.NewPow(R, Expr.NewNum(k)));
                rate = rate is null ? term : rate + term;
            }
        return Make("neo_hebbian", names.ToArray(), [("E", Mat("post", "pre"), rate!, true)],
            Expr.NewNum(eta) * E * (S("R") - S("Rbar")));
    }

    /// Miconi's rule: E += (outer(x − x̄, r))³, ΔW = clip(η · θ · E · (R − R̄), ±3e-4).
    public static Rule Miconi(double eta) =>
        Make("miconi", [("theta", 1)], [("E", Mat("post", "pre"), Expr.NewPow(Call(Fn.Outer, X - XBar, R), Expr.NewNum(3)), false)],
            Call(Fn.Clip, Expr.NewNum(eta) * S("theta") * E * (S("R") - S("Rbar")), Expr.NewNum(-3e-4), Expr.NewNum(3e-4)));
}

/// Tangent propagation through learning trials equals central differences of J over the same
/// trials with the same exploration noise.
public class RecurrentGradientTests
{
    static readonly RecurrentConfig Config = new(Units: 6, Horizon: 5, Gamma: 0.9, PerturbationProbability: 0.2, PerturbationAmplitude: 2, Dt: 0.01,
        Clamped: [(5, 1.0)]);
    static readonly RecurrentModel Model = ModelFile.Recurrent(0.01, 0.03, 0.5, 0.75);

    static RecurrentLearner Learner(Rule rule, string backend = "interpreter", RecurrentConfig? config = null) =>
        new(config ?? Config, Model, rule, new CueTask(steps: 10), FeedforwardGradientTests.BackendNamed(backend), seed: 5);

    [Theory]
    [InlineData("interpreter")]
    [InlineData("simd")]
    public void Neo_hebbian_3x3_meta_gradient_matches_finite_differences(string backend)
    {
        var rule = RecurrentRules.NeoHebbian(3, eta: 5.0);
        var rng = new Random(11);
        var theta = Enumerable.Range(0, 9).Select(_ => rng.NextDouble() - 0.5).ToArray();
        var rows = GradientCheck.Run(Learner(rule, backend), theta, rule.Params.Select(p => p.Symbol.Name).ToArray(), episode: 1);
        foreach (var r in rows)
            Assert.True(r.Pass, $"{r.Name}: tangent {r.Tangent:G10} vs finite difference {r.FiniteDifference:G10} (relative error {r.RelativeError:G3})");
        Assert.Contains(rows, r => Math.Abs(r.Tangent) > 1e-6);
    }

    [Theory]
    [InlineData("interpreter")]
    [InlineData("simd")]
    public void With_Miconis_conventions_the_meta_gradient_matches_finite_differences(string backend)
    {
        // x̄ carried from trial to trial (its tangent too) and the output read after the Euler step.
        var rule = RecurrentRules.NeoHebbian(3, eta: 5.0);
        var rng = new Random(12);
        var theta = Enumerable.Range(0, 9).Select(_ => rng.NextDouble() - 0.5).ToArray();
        var config = Config with { CarryAverage = true, ReadoutAfterStep = true };
        var rows = GradientCheck.Run(Learner(rule, backend, config), theta, rule.Params.Select(p => p.Symbol.Name).ToArray(), episode: 1);
        foreach (var r in rows)
            Assert.True(r.Pass, $"{r.Name}: tangent {r.Tangent:G10} vs finite difference {r.FiniteDifference:G10} (relative error {r.RelativeError:G3})");
        Assert.Contains(rows, r => Math.Abs(r.Tangent) > 1e-6);
    }

    [Fact]
    public void Miconi_meta_gradient_matches_finite_differences()
    {
        var rule = RecurrentRules.Miconi(eta: 2.0);
        // The derivative is small (1e-5), so a larger step keeps round-off below the tolerance.
        var rows = GradientCheck.Run(Learner(rule), [0.8], ["theta"], episode: 0, step: 1e-3);
        Assert.True(rows[0].Pass, $"tangent {rows[0].Tangent:G10} vs finite difference {rows[0].FiniteDifference:G10} (relative error {rows[0].RelativeError:G3})");
        Assert.True(Math.Abs(rows[0].Tangent) > 1e-9);
    }
    [Theory]
    [InlineData("interpreter")]
    [InlineData("simd")]
    public void Vector_traces_meta_gradient_matches_finite_differences(string backend)
    {
        // A post vector that follows x and a pre vector that follows r (each reading itself), their
        // outer product the eligibility: θ reaches the reward only through the traces' tangents.
        var checkedRule = Check.CheckText("t.rule", """
            rule vectors : recurrent
              param a = 0.5
              param b = 0.4
              trace xt' = a * (x - xt)
              trace rt' = b * (r - rt)
              dW = 20 * outer(xt, rt) * (R - Rbar)
            """);
        Assert.False(checkedRule.HasErrors, Check.Render(checkedRule));
        var rule = checkedRule.Rules.Single();
        var rows = GradientCheck.Run(Learner(rule, backend), [0.5, 0.4], ["a", "b"], episode: 1);
        foreach (var r in rows)
        {
            Assert.True(r.Pass, $"{r.Name}: tangent {r.Tangent:G10} vs finite difference {r.FiniteDifference:G10} (relative error {r.RelativeError:G3})");
            Assert.True(Math.Abs(r.Tangent) > 1e-9, $"{r.Name} does not reach the reward");
        }
    }
}
