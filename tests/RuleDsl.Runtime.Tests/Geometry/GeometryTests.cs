using MathNet.Numerics.LinearAlgebra;
using RuleDsl.Runtime.Analysis.Geometry;
using RuleDsl.Runtime.Data;
using RuleDsl.Runtime.Tasks.Cognitive;

namespace RuleDsl.Runtime.Tests.Geometry;

public class GeometryTests
{
    private static double[,] Random(int n, int p, ulong seed)
    {
        var rng = Rng.Numbered(seed, 0);
        var m = new double[n, p];
        for (int i = 0; i < n; i++)
            for (int j = 0; j < p; j++) m[i, j] = rng.NormalFresh();
        return m;
    }

    private static Matrix<double> RandomOrthogonal(int p, ulong seed) =>
        Matrix<double>.Build.DenseOfArray(Random(p, p, seed)).QR().Q;

    [Fact]
    public void Cka_is_one_under_rotation_and_scaling()
    {
        var x = Random(300, 8, 1);
        var q = RandomOrthogonal(8, 2);
        var y = (Matrix<double>.Build.DenseOfArray(x) * q * 3.0 + 5.0).ToArray();   // rotate, scale, shift
        Assert.Equal(1.0, Cka.Linear(x, y), 12);
        Assert.Equal(1.0, Cka.Linear(x, x), 12);
    }

    [Fact]
    public void Cka_of_independent_noise_is_near_zero()
    {
        // For independent n × p Gaussians, linear CKA ≈ p/n (here 0.0025).
        var x = Random(2000, 5, 3);
        var y = Random(2000, 5, 4);
        Assert.InRange(Cka.Linear(x, y), 0, 0.02);
        Assert.Equal(Cka.Linear(x, y), Cka.Linear(y, x), 12);
    }

    [Fact]
    public void Cka_is_not_invariant_to_arbitrary_linear_maps()
    {
        var x = Random(500, 4, 5);
        var stretch = Matrix<double>.Build.DenseOfDiagonalArray([10.0, 1, 1, 0.1]);
        double c = Cka.Linear(x, (Matrix<double>.Build.DenseOfArray(x) * stretch).ToArray());
        Assert.InRange(c, 0.1, 0.9);
    }

    [Fact]
    public void Cka_rejects_mismatched_samples() =>
        Assert.Throws<ArgumentException>(() => Cka.Linear(Random(10, 2, 1), Random(11, 2, 1)));

    [Fact]
    public void Rdm_by_hand()
    {
        var items = new double[,] { { 0, 0 }, { 3, 4 }, { 0, 1 } };
        Assert.Equal([5.0, 1.0, Math.Sqrt(18)], Rsa.Rdm(items, RdmMetric.Euclidean));
        var patterns = new double[,] { { 1, 2, 3 }, { 2, 4, 6 }, { 3, 2, 1 } };
        var d = Rsa.Rdm(patterns, RdmMetric.Correlation);
        Assert.Equal(0.0, d[0], 12);   // perfectly correlated
        Assert.Equal(2.0, d[1], 12);   // anti-correlated
        Assert.Equal(2.0, d[2], 12);
    }

    [Fact]
    public void Rsa_is_one_for_the_same_geometry_and_near_zero_for_unrelated_ones()
    {
        var x = Random(60, 10, 6);
        var rotated = (Matrix<double>.Build.DenseOfArray(x) * RandomOrthogonal(10, 7) * 0.5).ToArray();
        Assert.Equal(1.0, Rsa.Compare(x, rotated, RdmMetric.Euclidean), 12);
        var affine = (Matrix<double>.Build.DenseOfArray(x) * 2.0 + 1.0).ToArray();   // per-item scale and offset
        Assert.Equal(1.0, Rsa.Compare(x, affine, RdmMetric.Correlation), 12);
        Assert.InRange(Rsa.Compare(x, Random(60, 10, 8)), -0.15, 0.15);
    }

    [Fact]
    public void Pca_recovers_a_plane_and_its_variances()
    {
        // Samples a·u + b·v + c with a ∈ {±2}, b ∈ {±1} balanced and uncorrelated: variances 4:1 → ratios 0.8, 0.2.
        var u = new[] { 1.0, 1, 0, 0, 0 }.Select(v => v / Math.Sqrt(2)).ToArray();
        var v = new[] { 0.0, 0, 1, 1, 1 }.Select(z => z / Math.Sqrt(3)).ToArray();
        var c = new[] { 1.0, 2, 3, 4, 5 };
        var rows = new List<double[]>();
        for (int rep = 0; rep < 10; rep++)
            foreach (var a in new[] { -2.0, 2.0 })
                foreach (var b in new[] { -1.0, 1.0 })
                    rows.Add(Enumerable.Range(0, 5).Select(i => a * u[i] + b * v[i] + c[i]).ToArray());
        var samples = new double[rows.Count, 5];
        for (int i = 0; i < rows.Count; i++)
            for (int j = 0; j < 5; j++) samples[i, j] = rows[i][j];

        var pca = Pca.Fit(samples, 3);
        Assert.Equal(0.8, pca.ExplainedRatio[0], 12);
        Assert.Equal(0.2, pca.ExplainedRatio[1], 12);
        Assert.Equal(0.0, pca.ExplainedRatio[2], 12);
        Assert.Equal(4.0 * 40 / 39, pca.Variance[0], 10);   // sample variance, n − 1
        for (int i = 0; i < 5; i++)
        {
            Assert.Equal(u[i], pca.Components[0, i], 10);   // sign fixed: largest entry positive
            Assert.Equal(v[i], pca.Components[1, i], 10);
            Assert.Equal(c[i], pca.Mean[i], 12);
        }
        Assert.Equal(2.0, Math.Abs(pca.Projections[0][0, 0]), 10);
    }

    [Fact]
    public void Condition_averages_and_stacking()
    {
        var a1 = new double[,] { { 1, 2 }, { 3, 4 } };
        var a2 = new double[,] { { 3, 2 }, { 5, 0 } };
        var b1 = new double[,] { { 0, 0 }, { 1, 1 } };
        var avg = ConditionAverages.Compute([(0, a1), (1, b1), (0, a2)], 2);
        Assert.Equal(new double[,] { { 2, 2 }, { 4, 2 } }, avg[0]);
        Assert.Equal(b1, avg[1]);
        var stacked = ConditionAverages.Stack(avg);
        Assert.Equal(new double[,] { { 2, 2 }, { 4, 2 }, { 0, 0 }, { 1, 1 } }, stacked);
        Assert.Equal(new double[,] { { 4, 2 }, { 1, 1 } }, ConditionAverages.Stack(avg, stride: 5, from: 1));
        var ex = Assert.Throws<ArgumentException>(() => ConditionAverages.Compute([(0, a1)], 2));
        Assert.Contains("condition 1", ex.Message);
    }

    [Fact]
    public void Pca_of_condition_averages_projects_each_condition()
    {
        var rng = Rng.Numbered(10, 0);
        var averages = Enumerable.Range(0, 4).Select(c =>
        {
            var m = new double[50, 6];
            for (int t = 0; t < 50; t++)
                for (int i = 0; i < 6; i++) m[t, i] = (c + 1) * Math.Sin(0.1 * t * (i + 1)) + 0.01 * rng.NormalFresh();
            return m;
        }).ToArray();
        var pca = Pca.OfConditionAverages(averages, 3);
        Assert.Equal(4, pca.Projections.Length);
        Assert.Equal((50, 3), (pca.Projections[2].GetLength(0), pca.Projections[2].GetLength(1)));
        Assert.True(pca.ExplainedRatio[0] >= pca.ExplainedRatio[1] && pca.ExplainedRatio[1] >= pca.ExplainedRatio[2]);
        Assert.InRange(pca.ExplainedRatio.Sum(), 0.0, 1.0 + 1e-12);
        // Projections are coordinates: reconstructing from all components returns the data.
        var full = Pca.OfConditionAverages(averages, 6);
        for (int t = 0; t < 50; t += 7)
            for (int i = 0; i < 6; i++)
            {
                double rec = full.Mean[i];
                for (int k = 0; k < 6; k++) rec += full.Projections[1][t, k] * full.Components[k, i];
                Assert.Equal(averages[1][t, i], rec, 10);
            }
    }
}
