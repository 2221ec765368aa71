using RuleDsl.Runtime.Analysis;
using RuleDsl.Runtime.Data;

namespace RuleDsl.Runtime.Tests.Analysis;

public class MannWhitneyTests
{
    // Conover's example, as worked in SciPy's mannwhitneyu documentation: ages of male and female subjects.
    private static readonly double[] Males = [19, 22, 16, 29, 24];
    private static readonly double[] Females = [20, 11, 17, 12];

    // Reference p-values below were computed with SciPy 1.10.1, scipy.stats.mannwhitneyu (Debian python3-scipy),
    // method="exact" / "asymptotic" (use_continuity=True, tie-corrected variance).
    [Theory]
    [InlineData(Alternative.TwoSided, MannWhitneyMethod.Exact, 0.1111111111111111)]
    [InlineData(Alternative.Greater, MannWhitneyMethod.Exact, 0.05555555555555555)]
    [InlineData(Alternative.Less, MannWhitneyMethod.Exact, 0.9682539682539684)]
    [InlineData(Alternative.TwoSided, MannWhitneyMethod.Normal, 0.11134688653314041)]
    [InlineData(Alternative.Greater, MannWhitneyMethod.Normal, 0.055673443266570206)]
    [InlineData(Alternative.Less, MannWhitneyMethod.Normal, 0.9669037101389033)]
    public void Conover_example_matches_reference(Alternative alt, MannWhitneyMethod method, double p)
    {
        var r = MannWhitney.Test(Males, Females, alt, method);
        Assert.Equal(17, r.U);
        Assert.Equal(p, r.P, 1e-12);
        Assert.Equal(method, r.Method);
    }

    [Theory]
    [InlineData(Alternative.TwoSided, 0.03175895714806371)]
    [InlineData(Alternative.Greater, 0.9876172774448116)]
    [InlineData(Alternative.Less, 0.015879478574031856)]
    public void Ties_use_the_tie_corrected_normal_approximation(Alternative alt, double p)
    {
        double[] x = [1, 2, 2, 3, 3, 3, 4, 5];
        double[] y = [2, 3, 4, 4, 5, 5, 6, 7, 7];
        var r = MannWhitney.Test(x, y, alt);
        Assert.Equal(13.5, r.U);
        Assert.True(r.HasTies);
        Assert.Equal(MannWhitneyMethod.Normal, r.Method);
        Assert.Equal(p, r.P, 1e-12);
        Assert.Throws<ArgumentException>(() => MannWhitney.Test(x, y, alt, MannWhitneyMethod.Exact));
    }

    // Twenty trials per group, as in the paper's Fig. S7 (values: NumPy default_rng(1) normals, rounded).
    private static readonly double[] X20 = [0.617279, 0.641081, 0.616522, 0.534842, 0.645268, 0.622319, 0.573152, 0.629056, 0.618229, 0.614707,
                                            0.601421, 0.627336, 0.563177, 0.591855, 0.575894, 0.629942, 0.601986, 0.585377, 0.560905, 0.58714];
    private static readonly double[] Y20 = [0.550407, 0.53622, 0.614703, 0.600336, 0.414442, 0.455549, 0.541261, 0.52889, 0.560682, 0.560866,
                                            0.655892, 0.494399, 0.53112, 0.652139, 0.582335, 0.583153, 0.5243, 0.467596, 0.558373, 0.555451];

    [Theory]
    [InlineData(Alternative.TwoSided, MannWhitneyMethod.Exact, 0.00047203196596242)]
    [InlineData(Alternative.Greater, MannWhitneyMethod.Exact, 0.00023601598298121)]
    [InlineData(Alternative.Less, MannWhitneyMethod.Exact, 0.9997902809142343)]
    [InlineData(Alternative.TwoSided, MannWhitneyMethod.Normal, 0.0007578810699193657)]
    [InlineData(Alternative.Greater, MannWhitneyMethod.Normal, 0.00037894053495968286)]
    [InlineData(Alternative.Less, MannWhitneyMethod.Normal, 0.9996565889058983)]
    public void Twenty_versus_twenty_matches_reference(Alternative alt, MannWhitneyMethod method, double p)
    {
        var r = MannWhitney.Test(X20, Y20, alt, method);
        Assert.Equal(325, r.U);
        Assert.Equal(p, r.P, p * 1e-9);
    }

    [Fact]
    public void Auto_uses_exact_for_small_samples_without_ties()
    {
        Assert.Equal(MannWhitneyMethod.Exact, MannWhitney.Test(X20, Y20).Method);
        var big = Enumerable.Range(0, 60).Select(i => (double)i).ToArray();
        Assert.Equal(MannWhitneyMethod.Normal, MannWhitney.Test(big, big.Select(v => v + 0.5).ToArray()).Method);
    }

    [Fact]
    public void Exact_distribution_equals_brute_force_enumeration()
    {
        // Under H0 every assignment of ranks 1..m+n to x is equally likely: enumerate all C(m+n, m) subsets.
        foreach (var (m, n) in new[] { (1, 1), (2, 3), (3, 3), (4, 5), (6, 4), (5, 7) })
        {
            var counts = new double[m * n + 1];
            int total = 0;
            foreach (var subset in Subsets(m + n, m))
            {
                // U = number of (x, y) pairs with x above y = Σ over x ranks of (y values below it).
                int u = 0;
                var inX = new bool[m + n];
                foreach (var s in subset) inX[s] = true;
                int ysBelow = 0;
                for (int r = 0; r < m + n; r++)
                {
                    if (inX[r]) u += ysBelow;
                    else ysBelow++;
                }
                counts[u]++;
                total++;
            }
            var exact = MannWhitney.ExactDistribution(m, n);
            Assert.Equal(m * n + 1, exact.Length);
            for (int u = 0; u <= m * n; u++) Assert.Equal(counts[u] / total, exact[u], 1e-14);
        }
    }

    [Fact]
    public void Exact_and_normal_agree_for_moderate_samples()
    {
        var rng = new Rng(9);
        for (int t = 0; t < 30; t++)
        {
            var x = Enumerable.Range(0, 15).Select(_ => rng.Normal(0.3, 1)).ToArray();
            var y = Enumerable.Range(0, 18).Select(_ => rng.Normal()).ToArray();
            var e = MannWhitney.Test(x, y, Alternative.Greater, MannWhitneyMethod.Exact);
            var a = MannWhitney.Test(x, y, Alternative.Greater, MannWhitneyMethod.Normal);
            Assert.Equal(e.U, a.U);
            Assert.True(Math.Abs(e.P - a.P) < 0.01, $"exact {e.P} vs normal {a.P}");
        }
    }

    [Fact]
    public void One_sided_p_values_are_complementary()
    {
        var rng = new Rng(10);
        for (int t = 0; t < 50; t++)
        {
            var x = Enumerable.Range(0, 8).Select(_ => Math.Round(rng.Normal(), 1)).ToArray(); // rounding makes ties
            var y = Enumerable.Range(0, 9).Select(_ => Math.Round(rng.Normal(), 1)).ToArray();
            foreach (var method in new[] { MannWhitneyMethod.Auto, MannWhitneyMethod.Normal })
            {
                var g = MannWhitney.Test(x, y, Alternative.Greater, method);
                var l = MannWhitney.Test(x, y, Alternative.Less, method);
                // Exact: P(U ≥ u) + P(U ≤ u) = 1 + P(U = u); normal with continuity correction: 1 + a small overlap.
                Assert.InRange(g.P + l.P, 1 - 1e-12, 1.25);
                // Swapping the samples swaps the alternatives.
                Assert.Equal(g.P, MannWhitney.Test(y, x, Alternative.Less, method).P, 1e-12);
                Assert.Equal(8 * 9 - g.U, MannWhitney.Test(y, x).U);
            }
        }
    }

    [Fact]
    public void Degenerate_inputs()
    {
        var r = MannWhitney.Test([1.0, 1, 1], [1.0, 1]);
        Assert.Equal(1, r.P);
        Assert.Equal(0, r.Z);
        Assert.Throws<ArgumentException>(() => MannWhitney.Test([], [1.0]));
        Assert.Throws<ArgumentException>(() => MannWhitney.Test([double.NaN], [1.0]));
    }

    [Fact]
    public void P_value_series_compares_groups_per_episode()
    {
        IReadOnlyList<double>[] a = [.. X20.Select(v => (IReadOnlyList<double>)new[] { v, v, double.NaN })];
        IReadOnlyList<double>[] b = [.. Y20.Select(v => (IReadOnlyList<double>)new[] { v, v + 1, 0.0 })];
        var p = MannWhitney.PValueSeries(a, b, Alternative.Greater);
        Assert.Equal(0.00023601598298121, p[0], 1e-12);
        Assert.True(p[1] > 0.999);
        Assert.True(double.IsNaN(p[2]));
    }

    private static IEnumerable<int[]> Subsets(int n, int k)
    {
        if (k == 0) { yield return []; yield break; }
        for (int first = 0; first <= n - k; first++)
            foreach (var rest in Subsets(n - first - 1, k - 1))
                yield return [first, .. rest.Select(r => r + first + 1)];
    }
}

public class DescriptiveAndBootstrapTests
{
    [Fact]
    public void Quartiles_match_type_7_definition()
    {
        double[] xs = [7, 1, 10, 3, 5, 2, 9, 4, 8, 6];
        var q = Statistics.Quartiles(xs);
        // NumPy: np.percentile(range(1, 11), [25, 50, 75]) = 3.25, 5.5, 7.75.
        Assert.Equal(3.25, q.Q1, 1e-12);
        Assert.Equal(5.5, q.Median, 1e-12);
        Assert.Equal(7.75, q.Q3, 1e-12);
        Assert.Equal(4.5, q.Iqr, 1e-12);
        Assert.Equal(3, Statistics.Median([5.0, 1, 3]));
        Assert.Equal(Math.Sqrt(55.0 / 6.0), Statistics.StandardDeviation(xs), 1e-12);
    }

    [Fact]
    public void Bootstrap_interval_is_seeded_and_contains_the_mean()
    {
        var rng = new Rng(3);
        var xs = Enumerable.Range(0, 20).Select(_ => rng.Normal(0.7, 0.1)).ToArray();
        var a = Statistics.BootstrapMean(xs, seed: 1);
        var b = Statistics.BootstrapMean(xs, seed: 1);
        Assert.Equal(a, b);
        Assert.NotEqual(a, Statistics.BootstrapMean(xs, seed: 2));
        Assert.Equal(xs.Average(), a.Mean, 1e-12);
        Assert.True(a.Lower < a.Mean && a.Mean < a.Upper);
        Assert.Equal(0.98, a.Level);
    }

    [Fact]
    public void Bootstrap_width_matches_normal_theory_for_a_large_sample()
    {
        var rng = new Rng(4);
        var xs = Enumerable.Range(0, 400).Select(_ => rng.Normal(2, 3)).ToArray();
        var ci = Statistics.BootstrapMean(xs, level: 0.98, resamples: 4000, seed: 5);
        // Half-width ≈ z_0.99 · s/√n with z_0.99 = 2.3263.
        double expected = 2.3263 * Statistics.StandardDeviation(xs) / Math.Sqrt(xs.Length);
        Assert.Equal(expected, (ci.Upper - ci.Lower) / 2, expected * 0.08);
    }

    [Fact]
    public void Bootstrap_covers_the_true_mean_at_about_the_nominal_rate()
    {
        var rng = new Rng(6);
        int covered = 0;
        const int reps = 300;
        for (int t = 0; t < reps; t++)
        {
            var xs = Enumerable.Range(0, 20).Select(_ => rng.Normal(1, 1)).ToArray();
            var ci = Statistics.BootstrapMean(xs, seed: (ulong)t);
            if (ci.Lower <= 1 && 1 <= ci.Upper) covered++;
        }
        // Nominal 98 %; the percentile bootstrap undercovers a little at n = 20 (≈ 96 %).
        Assert.InRange(covered / (double)reps, 0.92, 1.0);
    }

    [Fact]
    public void Band_handles_ragged_and_missing_points()
    {
        IReadOnlyList<double>[] curves = [new[] { 1.0, 2, 3 }, new[] { 3.0, double.NaN }, new[] { 2.0, 4 }];
        var band = Statistics.BootstrapBand(curves);
        Assert.Equal([3, 2, 1], band.Count);
        Assert.Equal(2, band.Mean[0], 1e-12);
        Assert.Equal(3, band.Mean[1], 1e-12);
        Assert.Equal((3.0, 3.0, 3.0), (band.Mean[2], band.Lower[2], band.Upper[2]));
        Assert.InRange(band.Lower[0], 1, 2);
        Assert.InRange(band.Upper[0], 2, 3);
        // Appending a point does not change earlier bands (per-point streams).
        IReadOnlyList<double>[] longer = [new[] { 1.0, 2, 3, 9 }, new[] { 3.0, double.NaN }, new[] { 2.0, 4 }];
        Assert.Equal(band.Lower[0], Statistics.BootstrapBand(longer).Lower[0]);
    }
}
