using RuleDsl.Syntax;

namespace RuleDsl.Runtime.Meta;

/// <summary>The directions v in θ-space along which a meta-step carries tangents through learning,
/// as its <see cref="GradientEstimator"/> chooses them (REINFORCE: see <see cref="Reinforce"/>).</summary>
public static class Directions
{
    /// <summary>The directions for one meta-step: rows are directions, columns are θ components.
    /// Exact: one unit vector per θ; random projections and REINFORCE: Gaussian directions.</summary>
    public static double[][] Draw(GradientEstimator estimator, int parameters, int projections, Data.Rng rng)
    {
        if (estimator.IsExact)
            return Enumerable.Range(0, parameters)
                .Select(r => { var v = new double[parameters]; v[r] = 1; return v; }).ToArray();
        if (projections < 1) throw new ArgumentOutOfRangeException(nameof(projections), "at least one random projection is needed");
        return Enumerable.Range(0, projections)
            .Select(_ => Enumerable.Range(0, parameters).Select(_ => rng.Normal()).ToArray()).ToArray();
    }

    /// <summary>Turns directional derivatives g·v_d back into a gradient estimate in θ-space, and
    /// (for random projections) the standard error of each component.</summary>
    public static (double[] Gradient, double[] StandardError) Combine(
        GradientEstimator estimator, double[][] directions, ReadOnlySpan<double> directional)
    {
        int p = directions.Length == 0 ? 0 : directions[0].Length;
        var g = new double[p];
        var se = new double[p];
        if (estimator.IsExact)
        {
            for (int d = 0; d < directions.Length; d++)
                for (int i = 0; i < p; i++) g[i] += directional[d] * directions[d][i];
            return (g, se);
        }
        int k = directions.Length;
        var samples = new double[k];
        for (int i = 0; i < p; i++)
        {
            double mean = 0;
            for (int d = 0; d < k; d++) { samples[d] = directional[d] * directions[d][i]; mean += samples[d]; }
            mean /= k;
            double ss = 0;
            for (int d = 0; d < k; d++) ss += (samples[d] - mean) * (samples[d] - mean);
            g[i] = mean;
            se[i] = k > 1 ? Math.Sqrt(ss / (k - 1) / k) : double.NaN;
        }
        return (g, se);
    }
}
