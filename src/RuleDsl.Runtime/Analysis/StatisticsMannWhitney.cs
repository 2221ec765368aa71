namespace RuleDsl.Runtime.Analysis;

/// <summary>The alternative hypothesis of a Mann–Whitney test of samples x and y.</summary>
public enum Alternative
{
    /// <summary>x and y differ in location (two-sided).</summary>
    TwoSided,
    /// <summary>x tends to be larger than y (P(X &gt; Y) &gt; ½).</summary>
    Greater,
    /// <summary>x tends to be smaller than y.</summary>
    Less,
}

/// <summary>How the p-value was computed.</summary>
public enum MannWhitneyMethod
{
    /// <summary>Exact when there are no ties and m·n ≤ <see cref="MannWhitney.ExactLimit"/>, else normal.</summary>
    Auto,
    /// <summary>Exact null distribution of U (no ties allowed).</summary>
    Exact,
    /// <summary>Normal approximation with tie correction of the variance and continuity correction.</summary>
    Normal,
}

/// <summary>
/// Result of a Mann–Whitney U test. U is the statistic of the first sample x: the number of pairs (xᵢ, yⱼ) with
/// xᵢ &gt; yⱼ, ties counting ½ (= rank sum of x − m(m+1)/2). Z is the normal-approximation statistic with
/// continuity correction toward the null, as used for the alternative (reported for either method).
/// </summary>
public readonly record struct MannWhitneyResult(double U, double Z, double P, Alternative Alternative, MannWhitneyMethod Method, int M, int N, bool HasTies);

/// <summary>
/// The Mann–Whitney U test (Wilcoxon rank-sum), as used in Shervani-Tabar &amp; Rosenbaum (2023), Fig. S7, to
/// compare the accuracies of two groups of trials at each episode.
/// </summary>
public static class MannWhitney
{
    /// <summary>Largest m·n for which <see cref="MannWhitneyMethod.Auto"/> uses the exact distribution (e.g. 50 vs 50).</summary>
    public const int ExactLimit = 2500;

    public static MannWhitneyResult Test(ReadOnlySpan<double> x, ReadOnlySpan<double> y,
                                         Alternative alternative = Alternative.TwoSided, MannWhitneyMethod method = MannWhitneyMethod.Auto)
    {
        int m = x.Length, n = y.Length;
        if (m == 0 || n == 0) throw new ArgumentException($"Mann–Whitney needs two non-empty samples, got {m} and {n} values");
        foreach (var v in x) if (double.IsNaN(v)) throw new ArgumentException("Mann–Whitney: the first sample holds NaN");
        foreach (var v in y) if (double.IsNaN(v)) throw new ArgumentException("Mann–Whitney: the second sample holds NaN");

        // Midranks of the pooled sample, and the tie term Σ(t³ − t).
        int total = m + n;
        var pooled = new (double Value, bool FromX)[total];
        for (int i = 0; i < m; i++) pooled[i] = (x[i], true);
        for (int j = 0; j < n; j++) pooled[m + j] = (y[j], false);
        Array.Sort(pooled, (a, b) => a.Value.CompareTo(b.Value));
        double rankSumX = 0, tieTerm = 0;
        for (int i = 0; i < total;)
        {
            int k = i;
            while (k + 1 < total && pooled[k + 1].Value == pooled[i].Value) k++;
            double midrank = (i + k + 2) / 2.0; // ranks are 1-based: i+1 .. k+1
            double t = k - i + 1;
            if (t > 1) tieTerm += t * t * t - t;
            for (int r = i; r <= k; r++) if (pooled[r].FromX) rankSumX += midrank;
            i = k + 1;
        }
        double u = rankSumX - m * (m + 1) / 2.0;
        bool ties = tieTerm > 0;

        double mu = m * (double)n / 2.0;
        double variance = m * (double)n / 12.0 * ((total + 1) - tieTerm / (total * (double)(total - 1)));
        double sigma = Math.Sqrt(Math.Max(variance, 0));
        double z = RankTest.Z(u, mu, sigma, alternative);

        var used = method;
        if (used == MannWhitneyMethod.Auto)
            used = !ties && (long)m * n <= ExactLimit ? MannWhitneyMethod.Exact : MannWhitneyMethod.Normal;
        if (used == MannWhitneyMethod.Exact && ties)
            throw new ArgumentException("Mann–Whitney: the exact distribution assumes no ties, and the samples have ties; use the normal approximation");

        // U is an integer when there are no ties (the exact method).
        double p = RankTest.P(alternative, u, z, sigma, used == MannWhitneyMethod.Exact ? ExactDistribution(m, n) : null);
        return new MannWhitneyResult(u, z, p, alternative, used, m, n, ties);
    }

    /// <summary>
    /// The exact null distribution of U for sample sizes m, n without ties: element u is P(U = u), u = 0..m·n.
    /// Built from the recurrence on the largest pooled value, which comes from x with probability m/(m+n)
    /// (then it exceeds all n values of y): p(m, n, u) = m/(m+n)·p(m−1, n, u−n) + n/(m+n)·p(m, n−1, u).
    /// </summary>
    public static double[] ExactDistribution(int m, int n)
    {
        if (m < 0 || n < 0) throw new ArgumentOutOfRangeException(nameof(m));
        // prev[j] = distribution for (i−1, j), cur[j] = for (i, j).
        var prev = new double[n + 1][];
        for (int j = 0; j <= n; j++) prev[j] = [1.0]; // i = 0: U = 0 surely
        for (int i = 1; i <= m; i++)
        {
            var cur = new double[n + 1][];
            cur[0] = [1.0];
            for (int j = 1; j <= n; j++)
            {
                var d = new double[i * j + 1];
                double a = i / (double)(i + j), b = j / (double)(i + j);
                var fromX = prev[j];     // (i−1, j), shifted by j
                var fromY = cur[j - 1];  // (i, j−1)
                for (int k = 0; k < fromX.Length; k++) d[k + j] += a * fromX[k];
                for (int k = 0; k < fromY.Length; k++) d[k] += b * fromY[k];
                cur[j] = d;
            }
            prev = cur;
        }
        return prev[n];
    }

    /// <summary>
    /// Tests group a against group b at each point (e.g. episode) of two sets of curves, a[trial][point] and
    /// b[trial][point], using the finite values each point has; NaN where either group has none.
    /// </summary>
    public static double[] PValueSeries(IReadOnlyList<IReadOnlyList<double>> a, IReadOnlyList<IReadOnlyList<double>> b,
                                        Alternative alternative = Alternative.TwoSided, MannWhitneyMethod method = MannWhitneyMethod.Auto)
    {
        int len = Math.Max(a.Count == 0 ? 0 : a.Max(c => c.Count), b.Count == 0 ? 0 : b.Max(c => c.Count));
        var p = new double[len];
        for (int j = 0; j < len; j++)
        {
            var xa = a.Where(c => j < c.Count && double.IsFinite(c[j])).Select(c => c[j]).ToArray();
            var xb = b.Where(c => j < c.Count && double.IsFinite(c[j])).Select(c => c[j]).ToArray();
            p[j] = xa.Length == 0 || xb.Length == 0 ? double.NaN : Test(xa, xb, alternative, method).P;
        }
        return p;
    }
}
