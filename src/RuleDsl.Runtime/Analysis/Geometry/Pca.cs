using MathNet.Numerics.LinearAlgebra;

namespace RuleDsl.Runtime.Analysis.Geometry;

/// <summary>
/// Principal components of condition-averaged trajectories.
/// <see cref="Components"/> is k × N (unit rows, sign fixed so each row's largest-magnitude entry is
/// positive), <see cref="Variance"/> the variance along each, <see cref="ExplainedRatio"/> its fraction of
/// the total, <see cref="Projections"/>[c] the T × k coordinates of condition c's trajectory.
/// </summary>
public sealed record PcaResult(
    double[] Mean,
    double[,] Components,
    double[] Variance,
    double[] ExplainedRatio,
    double TotalVariance,
    double[][,] Projections);

public static class Pca
{
    /// <summary>
    /// PCA of the condition averages (each T × N) pooled over conditions and steps: centre on the grand
    /// mean, eigendecompose the N × N covariance, keep the top <paramref name="components"/>.
    /// </summary>
    public static PcaResult OfConditionAverages(IReadOnlyList<double[,]> averages, int components = 3)
    {
        var samples = ConditionAverages.Stack(averages);
        var fit = Fit(samples, components);
        int steps = averages[0].GetLength(0), k = fit.Components.GetLength(0);
        var projections = new double[averages.Count][,];
        for (int c = 0; c < averages.Count; c++)
            projections[c] = Project(averages[c], fit.Mean, fit.Components);
        return fit with { Projections = projections };
    }

    /// <summary>PCA of a samples × N matrix; <see cref="PcaResult.Projections"/> holds the one projection of all samples.</summary>
    public static PcaResult Fit(double[,] samples, int components = 3)
    {
        int m = samples.GetLength(0), n = samples.GetLength(1);
        if (m < 2) throw new ArgumentException("PCA needs at least two samples.");
        if (components < 1 || components > n) throw new ArgumentOutOfRangeException(nameof(components), $"components must be in 1..{n}.");
        var x = Matrix<double>.Build.DenseOfArray(samples);
        var mean = x.ColumnSums() / m;
        for (int i = 0; i < m; i++) x.SetRow(i, x.Row(i) - mean);
        var cov = x.TransposeThisAndMultiply(x) / (m - 1);
        var evd = cov.Evd(Symmetricity.Symmetric);
        // Symmetric EVD returns ascending eigenvalues; take them from the top.
        var values = evd.EigenValues.Select(z => Math.Max(z.Real, 0.0)).ToArray();
        double total = values.Sum();
        var comps = new double[components, n];
        var variance = new double[components];
        var ratio = new double[components];
        for (int c = 0; c < components; c++)
        {
            int idx = n - 1 - c;
            var v = evd.EigenVectors.Column(idx);
            int big = v.AbsoluteMaximumIndex();
            if (v[big] < 0) v = -v;
            for (int i = 0; i < n; i++) comps[c, i] = v[i];
            variance[c] = values[idx];
            ratio[c] = total > 0 ? values[idx] / total : 0;
        }
        var meanArr = mean.ToArray();
        return new PcaResult(meanArr, comps, variance, ratio, total, [Project(samples, meanArr, comps)]);
    }

    /// <summary>Coordinates of the rows of <paramref name="states"/> (T × N) on the components (k × N).</summary>
    public static double[,] Project(double[,] states, double[] mean, double[,] components)
    {
        int t = states.GetLength(0), n = states.GetLength(1), k = components.GetLength(0);
        if (n != mean.Length || n != components.GetLength(1)) throw new ArgumentException("states, mean and components disagree on N.");
        var p = new double[t, k];
        for (int s = 0; s < t; s++)
            for (int c = 0; c < k; c++)
            {
                double acc = 0;
                for (int i = 0; i < n; i++) acc += (states[s, i] - mean[i]) * components[c, i];
                p[s, c] = acc;
            }
        return p;
    }
}
