using RuleDsl.Runtime.Analysis;

namespace RuleDsl.Runtime.Tests.Analysis;

public class WilcoxonTests
{
    // Hollander & Wolfe's depression scores (first and second visit), the example of R's wilcox.test.
    private static readonly double[] First = [1.83, 0.50, 1.62, 2.48, 1.68, 1.88, 1.55, 3.06, 1.30];
    private static readonly double[] Second = [0.878, 0.647, 0.598, 2.05, 1.06, 1.29, 1.06, 3.14, 1.29];

    // Reference p-values from SciPy 1.10.1, scipy.stats.wilcoxon (Debian python3-scipy),
    // method="exact" / "approx", correction=True, zero_method="wilcox".
    [Theory]
    [InlineData(Alternative.TwoSided, MannWhitneyMethod.Exact, 0.0390625)]
    [InlineData(Alternative.Greater, MannWhitneyMethod.Exact, 0.01953125)]
    [InlineData(Alternative.Less, MannWhitneyMethod.Exact, 0.986328125)]
    [InlineData(Alternative.TwoSided, MannWhitneyMethod.Normal, 0.04401098401295143)]
    [InlineData(Alternative.Greater, MannWhitneyMethod.Normal, 0.022005492006475714)]
    [InlineData(Alternative.Less, MannWhitneyMethod.Normal, 0.98351530937789)]
    public void Hollander_Wolfe_example_matches_reference(Alternative alt, MannWhitneyMethod method, double p)
    {
        var r = Wilcoxon.Test(First, Second, alt, method);
        Assert.Equal(40, r.W);
        Assert.Equal(9, r.N);
        Assert.Equal(p, r.P, 1e-12);
        Assert.Equal(method, r.Method);
    }

    [Theory]
    [InlineData(Alternative.TwoSided, 0.05186541479146726)]
    [InlineData(Alternative.Greater, 0.02593270739573363)]
    [InlineData(Alternative.Less, 0.9796502336042514)]
    public void Zeros_are_dropped_and_ties_use_the_corrected_normal_approximation(Alternative alt, double p)
    {
        double[] a = [10, 12, 15, 15, 20, 22, 22, 30, 31, 40, 41, 41];
        double[] b = [11, 12, 13, 10, 25, 20, 19, 30, 28, 33, 35, 36];
        var r = Wilcoxon.Test(a, b, alt);
        Assert.Equal(47, r.W);
        Assert.Equal(10, r.N);
        Assert.Equal(2, r.Zeros);
        Assert.True(r.HasTies);
        Assert.Equal(MannWhitneyMethod.Normal, r.Method);
        Assert.Equal(p, r.P, 1e-12);
        Assert.Throws<ArgumentException>(() => Wilcoxon.Test(a, b, alt, MannWhitneyMethod.Exact));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(5)]
    [InlineData(12)]
    public void Exact_distribution_is_the_count_of_rank_subsets(int n)
    {
        // Brute force: every sign pattern of ranks 1..n is equally likely under the null.
        var counts = new double[n * (n + 1) / 2 + 1];
        for (int mask = 0; mask < 1 << n; mask++)
        {
            int w = 0;
            for (int k = 0; k < n; k++) if ((mask >> k & 1) == 1) w += k + 1;
            counts[w]++;
        }
        var dist = Wilcoxon.ExactDistribution(n);
        Assert.Equal(counts.Length, dist.Length);
        for (int w = 0; w < dist.Length; w++) Assert.Equal(counts[w] / (1 << n), dist[w], 1e-15);
    }

    [Fact]
    public void Exact_and_normal_agree_for_forty_pairs_and_the_alternatives_mirror()
    {
        var rng = new Random(7);
        var x = Enumerable.Range(0, 40).Select(_ => rng.NextDouble() + 0.15).ToArray();
        var y = Enumerable.Range(0, 40).Select(_ => rng.NextDouble()).ToArray();
        var exact = Wilcoxon.Test(x, y, Alternative.Greater, MannWhitneyMethod.Exact);
        var normal = Wilcoxon.Test(x, y, Alternative.Greater, MannWhitneyMethod.Normal);
        Assert.InRange(exact.P, 0, 0.2);
        Assert.Equal(exact.P, normal.P, 0.01);
        // x smaller than y is y larger than x: the same p.
        Assert.Equal(exact.P, Wilcoxon.Test(y, x, Alternative.Less, MannWhitneyMethod.Exact).P, 1e-12);
        Assert.Equal(1 - exact.P + Wilcoxon.ExactDistribution(40)[(int)exact.W], Wilcoxon.Test(x, y, Alternative.Less, MannWhitneyMethod.Exact).P, 1e-12);
    }

    [Fact]
    public void Bad_input_is_refused_and_all_zero_differences_give_no_evidence()
    {
        Assert.Throws<ArgumentException>(() => Wilcoxon.Test([1, 2], [1], Alternative.Less));
        Assert.Throws<ArgumentException>(() => Wilcoxon.Test([1, double.NaN], [1, 2], Alternative.Less));
        var r = Wilcoxon.Test([3, 4, 5], [3, 4, 5], Alternative.Less);
        Assert.Equal((0, 3, 1.0), (r.N, r.Zeros, r.P));
    }
}
