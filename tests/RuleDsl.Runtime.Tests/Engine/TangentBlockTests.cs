using RuleDsl.Bench;
using RuleDsl.Runtime.Engine.Recurrent;
using RuleDsl.Runtime.Kernels;
using RuleDsl.Runtime.Kernels.Compiler;
using RuleDsl.Runtime.Meta;
using RuleDsl.Symbolic;
using static RuleDsl.Runtime.Kernels.Ir;

namespace RuleDsl.Runtime.Tests.Engine;

/// The D state tangents as one block: each per-step tangent kernel run once for all directions, its
/// products on W as 4 × 4 tiles of W·[δr_0 … δr_D−1]. Same numbers as one kernel per direction, bit for bit.
public class TangentBlockTests
{
    [Theory]
    [InlineData(5)]
    [InlineData(37)]
    [InlineData(100)]
    [InlineData(131)]
    public void MatVecs4_equals_MatVec_bit_for_bit(int n)
    {
        var rng = new Random(n);
        double[] V(int len) => Enumerable.Range(0, len).Select(_ => rng.NextDouble() - 0.5).ToArray();
        var m = V(8 * n);
        var x = Enumerable.Range(0, 4).Select(_ => V(n)).ToArray();
        var want = x.Select(xk => { var y = new double[8]; RowOps<double>.MatVec(m, 8, n, xk, y); return y; }).ToArray();
        for (int count = 1; count <= 4; count++)
        {
            var y = Enumerable.Range(0, 4).Select(_ => new double[8]).ToArray();
            for (int i = 0; i < 8; i += 4) RowOps<double>.MatVecs4(m, i, n, x[0], x[1], x[2], x[3], count, y[0], y[1], y[2], y[3]);
            for (int k = 0; k < 4; k++) Assert.Equal(k < count ? want[k] : new double[8], y[k]); // exact, not close
        }
        var mf = m.Select(v => (float)v).ToArray();
        var xf = x.Select(xk => xk.Select(v => (float)v).ToArray()).ToArray();
        var yf = Enumerable.Range(0, 4).Select(_ => new float[8]).ToArray();
        RowOps<float>.MatVecs4(mf, 4, n, xf[0], xf[1], xf[2], xf[3], 3, yf[0], yf[1], yf[2], yf[3]);
        var wf = new float[8];
        RowOps<float>.MatVec(mf, 8, n, xf[1], wf);
        Assert.Equal(wf[4..], yf[1][4..]);
    }

    [Fact]
    public void The_block_of_a_state_step_is_one_pass_over_W_for_all_directions()
    {
        Symbol V(string name) => new(name, Vec("post"));
        Expr S(Symbol s) => Expr.NewSym(s);
        var w = new Symbol("W", Mat("post", "post"));
        var dw = new Symbol("δW", w.Shape);
        var (x, dx, r, dr, dt) = (V("x"), V("δx"), V("r"), V("δr"), new Symbol("dt", Shape.Scalar));
        // δx ← δx + dt (−δx + W δr + δW r): the tangent of an Euler step of dx/dt = −x + W r.
        var step = new KernelOutput(dx, S(dx) + S(dt) * (Expr.NewNum(-1) * S(dx) + MatMul(S(w), S(dr)) + MatMul(S(dw), S(r))), false);
        var outputs = TangentBlock.Expand([step], 0, 9);
        Assert.Equal(Enumerable.Range(0, 9).Select(d => $"δx#{d}"), outputs.Select(o => o.Target.Name));
        var kernel = (SimdBackend.Compiled<double>)new SimdBackend().Compile("δstep ×9", outputs);
        var plan = kernel.Kernel.Plan;
        // W·δr_d for all nine in one pass over W (each δW_d is its own matrix, a pass each).
        var pass = plan[plan.IndexOf("one pass over the rows of W:", StringComparison.Ordinal)..];
        for (int d = 0; d < 9; d++) Assert.Contains($"δr#{d}", pass);
        Assert.Equal((4, "δW_in"), (TangentBlock.Split("δW_in#4")!.Value.Direction, TangentBlock.Split("δW_in#4")!.Value.Name));
        Assert.Null(TangentBlock.Split("x#1"));
    }

    static (EpisodeOutcome Outcome, double[] W) Learn(string rule, int units, int horizon, bool block)
    {
        var session = RecurrentRows.Session(units, horizon, rule);
        var theta = session.Theta.Initial;
        var rng = new Random(11);
        for (int i = 0; i < theta.Length; i++) theta[i] += 0.5 * (rng.NextDouble() - 0.5);
        // Random directions, not unit ones: every tangent reads every component.
        var dirs = Enumerable.Range(0, theta.Length).Select(_ => theta.Select(_ => rng.NextDouble() - 0.5).ToArray()).ToArray();
        var learner = (RecurrentLearner)session.LoopFactory()(0);
        learner.Speedups = RecurrentSpeedups.Default with { BlockTangents = block };
        double[] w = [];
        learner.OnTrained = (weights, _) => w = weights;
        return (learner.Run(theta, dirs, 1, default), w);
    }

    [Theory]
    [InlineData("neo_hebbian.rule neo_hebbian", 9)]
    [InlineData("neo_hebbian.rule miconi_family", 16)]
    public void Block_and_one_kernel_per_direction_give_the_same_gradient_bit_for_bit(string rule, int directions)
    {
        var apart = Learn(rule, 30, 8, block: false);
        var block = Learn(rule, 30, 8, block: true);
        Assert.Null(apart.Outcome.Failure);
        Assert.Null(block.Outcome.Failure);
        Assert.Equal(directions, block.Outcome.Directional.Length);
        Assert.Contains(apart.Outcome.Directional, g => g != 0);
        Assert.Equal(apart.Outcome.Objective, block.Outcome.Objective);
        Assert.Equal(apart.Outcome.Directional, block.Outcome.Directional);
        Assert.Equal(apart.W, block.W);
    }
}
