using RuleDsl.Runtime.Data;

namespace RuleDsl.Runtime.Analysis;

/// <summary>A confidence interval for a mean: point estimate, bounds, and the level (e.g. 0.98).</summary>
public readonly record struct ConfidenceInterval(double Mean, double Lower, double Upper, double Level);

/// <summary>Median and quartiles (type-7 quantiles, as R's default and NumPy's "linear").</summary>
public readonly record struct QuartileSummary(double Q1, double Median, double Q3)
{
    public double Iqr => Q3 - Q1;
}

/// <summary>Per-point mean and bootstrap band of a set of curves (one curve per trial).</summary>
public sealed record Band(double[] Mean, double[] Lower, double[] Upper, int[] Count, double Level);

/// <summary>Descriptive statistics and the percentile bootstrap used for the papers' shaded 98 % bands.</summary>
public static class Statistics
{
    public static double Mean(ReadOnlySpan<double> xs)
    {
        if (xs.IsEmpty) throw new ArgumentException("mean of an empty sample");
        double s = 0;
        foreach (var x in xs) s += x;
        return s / xs.Length;
    }

    /// <summary>Sample standard deviation (n − 1 in the denominator).</summary>
    public static double StandardDeviation(ReadOnlySpan<double> xs)
    {
        if (xs.Length < 2) throw new ArgumentException("standard deviation needs at least two values");
        double m = Mean(xs), s = 0;
        foreach (var x in xs) s += (x - m) * (x - m);
        return Math.Sqrt(s / (xs.Length - 1));
    }

    /// <summary>The type-7 quantile: linear interpolation between order statistics at position p·(n−1).</summary>
    public static double Quantile(ReadOnlySpan<double> xs, double p)
    {
        if (xs.IsEmpty) throw new ArgumentException("quantile of an empty sample");
        if (!(p >= 0 && p <= 1)) throw new ArgumentOutOfRangeException(nameof(p), $"quantile level {p} outside [0, 1]");
        var sorted = xs.ToArray();
        Array.Sort(sorted);
        return QuantileSorted(sorted, p);
    }

    /// <summary>Type-7 quantile of an already sorted sample.</summary>
    public static double QuantileSorted(ReadOnlySpan<double> sorted, double p)
    {
        double h = (sorted.Length - 1) * p;
        int lo = (int)Math.Floor(h);
        int hi = Math.Min(lo + 1, sorted.Length - 1);
        return sorted[lo] + (h - lo) * (sorted[hi] - sorted[lo]);
    }

    public static double Median(ReadOnlySpan<double> xs) => Quantile(xs, 0.5);

    public static QuartileSummary Quartiles(ReadOnlySpan<double> xs)
    {
        if (xs.IsEmpty) throw new ArgumentException("quartiles of an empty sample");
        var sorted = xs.ToArray();
        Array.Sort(sorted);
        return new QuartileSummary(QuantileSorted(sorted, 0.25), QuantileSorted(sorted, 0.5), QuantileSorted(sorted, 0.75));
    }

    /// <summary>
    /// Percentile bootstrap confidence interval of the mean: <paramref name="resamples"/> resamples with
    /// replacement, the interval between the (1−level)/2 and (1+level)/2 type-7 quantiles of their means.
    /// Defaults as in Shervani-Tabar &amp; Rosenbaum (98 %, 500 resamples). Fully determined by <paramref name="seed"/>.
    /// </summary>
    public static ConfidenceInterval BootstrapMean(ReadOnlySpan<double> xs, double level = 0.98, int resamples = 500, ulong seed = 0)
        => BootstrapMean(xs, level, resamples, new Rng(seed));

    /// <summary>As above, drawing from <paramref name="rng"/>.</summary>
    public static ConfidenceInterval BootstrapMean(ReadOnlySpan<double> xs, double level, int resamples, Rng rng)
    {
        if (xs.IsEmpty) throw new ArgumentException("bootstrap of an empty sample");
        if (!(level > 0 && level < 1)) throw new ArgumentOutOfRangeException(nameof(level), $"confidence level {level} outside (0, 1)");
        if (resamples < 2) throw new ArgumentOutOfRangeException(nameof(resamples), $"need at least 2 resamples, was {resamples}");
        foreach (var x in xs)
            if (!double.IsFinite(x)) throw new ArgumentException($"bootstrap sample holds a non-finite value {x}");
        int n = xs.Length;
        var means = new double[resamples];
        for (int b = 0; b < resamples; b++)
        {
            double s = 0;
            for (int i = 0; i < n; i++) s += xs[rng.NextInt(n)];
            means[b] = s / n;
        }
        Array.Sort(means);
        double a = (1 - level) / 2;
        return new ConfidenceInterval(Mean(xs), QuantileSorted(means, a), QuantileSorted(means, 1 - a), level);
    }

    /// <summary>
    /// Mean and bootstrap band at each point of a set of curves: <paramref name="curves"/>[trial][point].
    /// Curves may differ in length and hold NaN for missing points; each point uses the finite values it has
    /// (Count says how many). Point j draws from the stream <c>Rng.Stream(StreamKind.Bootstrap, seed, j)</c>, so a band does not change
    /// when more points are appended. Points with no value give NaN; with one value, a zero-width band.
    /// </summary>
    public static Band BootstrapBand(IReadOnlyList<IReadOnlyList<double>> curves, double level = 0.98, int resamples = 500, ulong seed = 0)
    {
        int len = curves.Count == 0 ? 0 : curves.Max(c => c.Count);
        var mean = new double[len];
        var lo = new double[len];
        var hi = new double[len];
        var count = new int[len];
        var buf = new List<double>(curves.Count);
        for (int j = 0; j < len; j++)
        {
            buf.Clear();
            foreach (var c in curves)
                if (j < c.Count && double.IsFinite(c[j])) buf.Add(c[j]);
            count[j] = buf.Count;
            if (buf.Count == 0)
            {
                mean[j] = lo[j] = hi[j] = double.NaN;
                continue;
            }
            var ci = BootstrapMean(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(buf), level, resamples, Rng.Stream(StreamKind.Bootstrap, seed, j));
            mean[j] = ci.Mean;
            lo[j] = ci.Lower;
            hi[j] = ci.Upper;
        }
        return new Band(mean, lo, hi, count, level);
    }
}
