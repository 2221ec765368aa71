using RuleDsl.Runtime.Analysis.Dynamics;
using RuleDsl.Runtime.Data;
using RuleDsl.Runtime.Reference;
using RuleDsl.Runtime.Tasks.Cognitive;

namespace RuleDsl.Runtime.Tests.Dynamics;

public class FixedPointFinderTests
{
    private const double H = 0.1;   // dt/τ of the Euler steps below

    // ---- A linear system: one fixed point, known exactly, with a known spectrum ----
    // A = P diag(1.5, 0.5, −0.3) P⁻¹, F(x) = x + h(−x + A x + b): x* = (I − A)⁻¹ b,
    // J_F = I + h(A − I) with μ = 1 + h(d − 1): one mode with μ > 1 → a saddle with 1 unstable mode.
    private static readonly double[,] P = { { 1, 0.5, 0 }, { 0.2, 1, 0.3 }, { 0, -0.4, 1 } };
    private static readonly double[] D = [1.5, 0.5, -0.3];
    private static readonly double[] B = [0.3, -1.0, 2.0];

    private static double[,] LinearA()
    {
        var p = MathNet.Numerics.LinearAlgebra.Matrix<double>.Build.DenseOfArray(P);
        var d = MathNet.Numerics.LinearAlgebra.Matrix<double>.Build.DenseOfDiagonalArray(D);
        return (p * d * p.Inverse()).ToArray();
    }

    [Fact]
    public void Linear_system_fixed_point_and_saddle_classification()
    {
        var a = LinearA();
        double[] F(double[] x)
        {
            var y = new double[3];
            for (int i = 0; i < 3; i++)
            {
                double ax = 0;
                for (int j = 0; j < 3; j++) ax += a[i, j] * x[j];
                y[i] = x[i] + H * (-x[i] + ax + B[i]);
            }
            return y;
        }
        double[,] J(double[] x)   // explicit Jacobian, written here in the test only
        {
            var jac = new double[3, 3];
            for (int i = 0; i < 3; i++)
                for (int j = 0; j < 3; j++) jac[i, j] = (i == j ? 1 - H : 0) + H * a[i, j];
            return jac;
        }
        var m = MathNet.Numerics.LinearAlgebra.Matrix<double>.Build;
        var expected = (m.DenseIdentity(3) - m.DenseOfArray(a)).Solve(MathNet.Numerics.LinearAlgebra.Vector<double>.Build.DenseOfArray(B)).ToArray();

        var rng = Rng.Numbered(1, 0);
        var starts = Enumerable.Range(0, 10).Select(_ => new[] { rng.Uniform(-5, 5), rng.Uniform(-5, 5), rng.Uniform(-5, 5) });
        var search = FixedPointFinder.Find(F, J, starts, FixedPointOptions.Default with { StepOverTau = H });

        Assert.Equal(10, search.Starts);
        var p = Assert.Single(search.Points);
        Assert.Equal(10, p.Hits);
        Assert.Equal(PointKind.Fixed, p.Kind);
        for (int i = 0; i < 3; i++) Assert.Equal(expected[i], p.X[i], 10);
        Assert.Equal(1, p.UnstableModes);
        Assert.Equal(StabilityClass.Saddle, p.Stability);
        Assert.Equal("saddle (1 unstable mode)", p.Describe());
        // Flow eigenvalues λ = (μ − 1)/h are A's eigenvalues minus one.
        Assert.NotNull(p.FlowEigenvalues);
        var lambdas = p.FlowEigenvalues!.Select(z => z.Real).ToArray();
        Assert.Equal(D.Select(d => d - 1).OrderDescending().ToArray(), lambdas, (u, v) => Math.Abs(u - v) < 1e-9);
        Assert.All(p.FlowEigenvalues!, z => Assert.Equal(0, z.Imaginary, 9));
    }

    // ---- A bistable tanh network: x' = −x + 2 tanh(x) per unit, two uncoupled units ----
    // Per unit: fixed points 0 (unstable, slope −1 + 2 = 1) and ±x* with x* = 2 tanh x* (stable).
    // Product: 9 fixed points — 4 stable, 4 saddles with 1 unstable mode, and (0, 0) with 2 (a source).
    private static double[] BistableF(double[] x) => x.Select(v => v + H * (-v + 2 * Math.Tanh(v))).ToArray();

    private static double[,] BistableJ(double[] x)
    {
        var j = new double[x.Length, x.Length];
        for (int i = 0; i < x.Length; i++)
        {
            double t = Math.Tanh(x[i]);
            j[i, i] = 1 + H * (-1 + 2 * (1 - t * t));
        }
        return j;
    }

    [Fact]
    public void Bistable_network_has_nine_fixed_points_of_three_kinds()
    {
        var starts = new List<double[]>();
        for (double a = -3; a <= 3.001; a += 0.5)
            for (double b = -3; b <= 3.001; b += 0.5) starts.Add([a, b]);
        // A slightly non-symmetric start set keeps starts off the stable manifolds of the saddles.
        starts.AddRange(starts.Select(s => new[] { s[0] + 0.013, s[1] - 0.007 }).ToList());
        var search = FixedPointFinder.Find(BistableF, BistableJ, starts);

        Assert.Equal(9, search.Points.Count);
        Assert.All(search.Points, p => Assert.Equal(PointKind.Fixed, p.Kind));
        double xs = 1.9150080481545;   // root of x = 2 tanh x
        foreach (var p in search.Points)
        {
            int nonzero = p.X.Count(v => Math.Abs(v) > 1e-6);
            Assert.All(p.X, v => Assert.True(Math.Abs(v) < 1e-8 || Math.Abs(Math.Abs(v) - xs) < 1e-9, $"unexpected coordinate {v}"));
            Assert.Equal(2 - nonzero, p.UnstableModes);
            Assert.Equal(nonzero == 2 ? StabilityClass.Stable : nonzero == 1 ? StabilityClass.Saddle : StabilityClass.Unstable, p.Stability);
        }
        Assert.Equal(4, search.Points.Count(p => p.Stability == StabilityClass.Stable));
        Assert.Equal(4, search.Points.Count(p => p.Stability == StabilityClass.Saddle));
        Assert.Equal("unstable (all 2 modes)", search.Points.Single(p => p.Stability == StabilityClass.Unstable).Describe());
    }

    [Fact]
    public void Discrete_map_convention_uses_the_modulus()
    {
        // F(x) = −1.5 x + (x₂ ↦ 0.5 x₂): μ = −1.5 is unstable for a map (|μ| > 1) but not for an Euler flow (Re μ < 1).
        static double[] F(double[] x) => [-1.5 * x[0], 0.5 * x[1]];
        static double[,] J(double[] x) => new double[,] { { -1.5, 0 }, { 0, 0.5 } };
        var map = FixedPointFinder.Find(F, J, [[1.0, 1.0]], FixedPointOptions.Default with { Stability = StabilityConvention.DiscreteMap });
        var flow = FixedPointFinder.Find(F, J, [[1.0, 1.0]], FixedPointOptions.Default with { Stability = StabilityConvention.EulerFlow });
        Assert.Equal(StabilityClass.Saddle, Assert.Single(map.Points).Stability);
        Assert.Equal(StabilityClass.Stable, Assert.Single(flow.Points).Stability);
    }

    [Fact]
    public void A_ghost_of_a_saddle_node_is_a_slow_point_not_a_fixed_point()
    {
        // x' = x² + ε has no fixed point; q = ½h²(x² + ε)² has its minimum ½h²ε² at x = 0.
        const double eps = 1e-3;
        static double[] F(double[] x) => [x[0] + H * (x[0] * x[0] + eps)];
        static double[,] J(double[] x) => new double[,] { { 1 + H * 2 * x[0] } };
        var search = FixedPointFinder.Find(F, J, [[0.7], [-0.4], [0.05]], FixedPointOptions.Default with { SlowTolerance = 1e-6, DuplicateDistance = 1e-3 });
        var p = Assert.Single(search.Points);
        Assert.Equal(PointKind.Slow, p.Kind);
        Assert.Equal(0.0, p.X[0], 4);
        Assert.Equal(0.5 * H * H * eps * eps, p.Q, 12);
    }

    [Fact]
    public void Starts_that_end_far_from_any_slow_point_are_discarded()
    {
        // x' = 1: q = ½h² everywhere, above the slow-point tolerance.
        static double[] F(double[] x) => [x[0] + H];
        static double[,] J(double[] x) => new double[,] { { 1 } };
        var search = FixedPointFinder.Find(F, J, [[0.0], [1.0]]);
        Assert.Empty(search.Points);
        Assert.Equal(2, search.Discarded);
    }

    [Fact]
    public void Numerical_jacobian_matches_the_explicit_one()
    {
        var jn = NumericalJacobian.Central(BistableF);
        double[] x = [0.3, -1.7];
        var a = jn(x);
        var e = BistableJ(x);
        for (int i = 0; i < 2; i++)
            for (int j = 0; j < 2; j++) Assert.Equal(e[i, j], a[i, j], 9);
    }

    [Fact]
    public void A_jacobian_of_the_wrong_shape_is_a_clear_error()
    {
        var ex = Assert.Throws<ArgumentException>(() =>
            FixedPointFinder.Find(BistableF, _ => new double[3, 3], [[0.1, 0.1]]));
        Assert.Contains("3×3", ex.Message);
    }

    [Fact]
    public void A_contracting_reference_network_has_one_stable_fixed_point()
    {
        // G = 0.5 makes the recurrent map a contraction: exactly one fixed point, stable; the finder must
        // find it through the network's own step map (bias neurons clamped) and a numerical Jacobian.
        var task = new DnmsTask();
        var learner = new MiconiLearner(task, MiconiSettings.Default with { N = 20, G = 0.5, Seed = 2 });
        var f = learner.StepMap([0.0, 1.0, 0.0]);
        var rng = Rng.Numbered(3, 0);
        var starts = Enumerable.Range(0, 5).Select(_ => Enumerable.Range(0, 20).Select(_ => rng.Uniform(-2, 2)).ToArray());
        var search = FixedPointFinder.Find(f, NumericalJacobian.Central(f), starts,
            FixedPointOptions.Default with { StepOverTau = 1.0 / 30, FixedTolerance = 1e-16 });
        var p = Assert.Single(search.Points);
        Assert.Equal(5, p.Hits);
        Assert.Equal(PointKind.Fixed, p.Kind);
        Assert.Equal(StabilityClass.Stable, p.Stability);
        var fx = f(p.X);
        for (int i = 0; i < 20; i++) Assert.Equal(p.X[i], fx[i], 9);
        Assert.Equal(1.0, p.X[1], 12);   // bias neurons stay at their clamps
        Assert.Equal(1.0, p.X[10], 12);
        Assert.Equal(-1.0, p.X[11], 12);
    }
}
