using RuleDsl.Runtime.Analysis.Dynamics;
using RuleDsl.Runtime.Analysis.Networks;
using RuleDsl.Runtime.Engine.Recurrent;
using RuleDsl.Runtime.Tests.Engine;
using RuleDsl.Semantics;

namespace RuleDsl.Runtime.Tests.Networks;

/// The analysed network runs the model's equations: its Jacobian (from the IR's forward differential)
/// equals central differences of its step, and the fixed-point search finds points where F(x) = x.
public class TrainedNetworkTests
{
    static TrainedNetwork Network(string backend, int n = 7, int inputs = 2, int seed = 3)
    {
        var config = new RecurrentConfig(Units: n, Dt: 0.005, Clamped: [(n - 1, 1.0)]);
        var model = ModelFile.Recurrent(0.005, 0.03, 0.05, 0.75);
        var rng = new Random(seed);
        var w = Enumerable.Range(0, n * n).Select(_ => 1.5 / Math.Sqrt(n) * (2 * rng.NextDouble() - 1)).ToArray();
        var win = Enumerable.Range(0, n * inputs).Select(_ => 2 * rng.NextDouble() - 1).ToArray();
        return new TrainedNetwork(model, config, w, win, inputs, FeedforwardGradientTests.BackendNamed(backend));
    }

    [Theory]
    [InlineData("interpreter")]
    [InlineData("simd")]
    public void Jacobian_from_the_IR_equals_central_differences_of_the_step(string backend)
    {
        var net = Network(backend);
        var rng = new Random(5);
        var x = Enumerable.Range(0, net.Units).Select(_ => 2 * rng.NextDouble() - 1).ToArray();
        var u = new[] { 0.3, -0.7 };
        var j = net.Jacobian(x, u);
        const double h = 1e-5;
        for (int c = 0; c < net.Units; c++)
        {
            var xp = (double[])x.Clone(); xp[c] += h;
            var xm = (double[])x.Clone(); xm[c] -= h;
            var fp = net.Step(xp, u); var fm = net.Step(xm, u);
            for (int r = 0; r < net.Units; r++)
            {
                double fd = (fp[r] - fm[r]) / (2 * h);
                Assert.True(Math.Abs(j[r, c] - fd) <= 1e-8 * Math.Max(1, Math.Abs(fd)), $"∂F_{r}/∂x_{c}: IR {j[r, c]:G10} vs central difference {fd:G10}");
            }
        }
        // Not trivially the identity: the recurrent weights show up in the off-diagonal entries.
        Assert.Contains(Enumerable.Range(0, net.Units - 1), r => Math.Abs(j[r, (r + 1) % (net.Units - 1)]) > 1e-4);
    }

    [Fact]
    public void The_search_finds_true_fixed_points_of_the_step()
    {
        var net = Network("simd", n: 8);
        var u = new double[2];
        var rng = new Random(9);
        var starts = Enumerable.Range(0, 12).Select(_ => Enumerable.Range(0, net.Units).Select(_ => 2 * rng.NextDouble() - 1).ToArray()).ToList();
        var search = FixedPointFinder.Find(x => net.Step(x, u), x => net.Jacobian(x, u), starts, new FixedPointOptions(StepOverTau: 0.005 / 0.03));
        Assert.NotEmpty(search.Points);
        foreach (var p in search.Points.Where(p => p.Kind == PointKind.Fixed))
        {
            var f = net.Step(p.X, u);
            double residual = Math.Sqrt(f.Zip(p.X).Sum(t => (t.First - t.Second) * (t.First - t.Second)));
            Assert.True(residual < 1e-6, $"‖F(x*) − x*‖ = {residual:G3}");
        }
    }
}
