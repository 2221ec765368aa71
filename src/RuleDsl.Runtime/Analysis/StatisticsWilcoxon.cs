namespace RuleDsl.Runtime.Analysis;

/// <summary>
/// Result of a Wilcoxon signed-rank test of paired samples x, y. W is the rank sum of the positive
/// differences xᵢ − yᵢ (zero differences dropped, tied |differences| given midranks); N the number of
/// non-zero differences, Zeros how many were dropped. Z is the normal-approximation statistic with
/// continuity correction toward the null (reported for either method).
/// </summary>
public readonly record struct WilcoxonResult(double W, double Z, double P, Alternative Alternative, MannWhitneyMethod Method, int N, int Zeros, bool HasTies);

/// <summary>
/// The Wilcoxon signed-rank test for paired samples: used where two rules learn from the same fresh
/// network, trial sequence and noise on each seed, so that the spread between seeds — most of it —
/// cancels in the per-seed differences, which an unpaired Mann–Whitney test would ignore.
/// </summary>
public static class Wilcoxon
{
    /// <summary>Largest N for which <see cref="MannWhitneyMethod.Auto"/> uses the exact distribution.</summary>
    public const int ExactLimit = 50;

    public static WilcoxonResult Test(ReadOnlySpan<double> x, ReadOnlySpan<double> y,
                                      Alternative alternative = Alternative.TwoSided, MannWhitneyMethod method = MannWhitneyMethod.Auto)
    {
        if (x.Length != y.Length) throw new ArgumentException($"Wilcoxon signed-rank needs paired samples of one length, got {x.Length} and {y.Length} values");
        var d = new List<double>(x.Length);
        int zeros = 0;
        for (int i = 0; i < x.Length; i++)
        {
            if (double.IsNaN(x[i]) || double.IsNaN(y[i])) throw new ArgumentException($"Wilcoxon signed-rank: pair {i + 1} holds NaN");
            double di = x[i] - y[i];
            if (di == 0) zeros++; else d.Add(di);
        }
        int n = d.Count;
        if (n == 0) return new WilcoxonResult(0, 0, 1, alternative, MannWhitneyMethod.Normal, 0, zeros, false);

        // Midranks of |d| and the tie term Σ(t³ − t).
        var order = d.OrderBy(Math.Abs).ToArray();
        double w = 0, tieTerm = 0;
        for (int i = 0; i < n;)
        {
            int k = i;
            while (k + 1 < n && Math.Abs(order[k + 1]) == Math.Abs(order[i])) k++;
            double midrank = (i + k + 2) / 2.0;
            double t = k - i + 1;
            if (t > 1) tieTerm += t * t * t - t;
            for (int r = i; r <= k; r++) if (order[r] > 0) w += midrank;
            i = k + 1;
        }
        bool ties = tieTerm > 0;

        double mu = n * (n + 1) / 4.0;
        double sigma = Math.Sqrt(n * (n + 1) * (2.0 * n + 1) / 24.0 - tieTerm / 48.0);
        double z = RankTest.Z(w, mu, sigma, alternative);

        var used = method;
        if (used == MannWhitneyMethod.Auto)
            used = !ties && n <= ExactLimit ? MannWhitneyMethod.Exact : MannWhitneyMethod.Normal;
        if (used == MannWhitneyMethod.Exact && ties)
            throw new ArgumentException("Wilcoxon signed-rank: the exact distribution assumes no tied |differences|, and these have ties; use the normal approximation");

        double p = RankTest.P(alternative, w, z, sigma, used == MannWhitneyMethod.Exact ? ExactDistribution(n) : null);
        return new WilcoxonResult(w, z, p, alternative, used, n, zeros, ties);
    }

    /// <summary>
    /// The exact null distribution of W for n non-zero, untied differences: element w is P(W = w),
    /// w = 0..n(n+1)/2. Under the null each rank 1..n is positive with probability ½ independently, so
    /// the distribution is the convolution of the n two-point laws {0, k}, built one rank at a time.
    /// </summary>
    public static double[] ExactDistribution(int n)
    {
        if (n < 0) throw new ArgumentOutOfRangeException(nameof(n));
        var dist = new double[n * (n + 1) / 2 + 1];
        dist[0] = 1;
        int top = 0;
        for (int k = 1; k <= n; k++)
        {
            top += k;
            for (int s = top; s >= 0; s--)
                dist[s] = 0.5 * dist[s] + (s >= k ? 0.5 * dist[s - k] : 0);
        }
        return dist;
    }
}
