using MathNet.Numerics.LinearAlgebra;
using MathNet.Numerics.Statistics;

namespace RuleDsl.Runtime.Analysis.Geometry;

/// <summary>
/// Linear centred kernel alignment (Kornblith, Norouzi, Lee and Hinton 2019) between two representations
/// of the same samples: X (n × p₁) and Y (n × p₂), rows matched (e.g. condition × step of two networks'
/// condition averages, see <see cref="ConditionAverages.Stack"/>). With columns centred,
/// CKA = ‖YᵀX‖²_F / (‖XᵀX‖_F ‖YᵀY‖_F) ∈ [0, 1]; invariant to orthogonal transforms and isotropic scaling
/// of either side, not to arbitrary linear maps.
/// </summary>
public static class Cka
{
    public static double Linear(double[,] x, double[,] y)
    {
        int n = x.GetLength(0);
        if (y.GetLength(0) != n) throw new ArgumentException($"CKA needs the same samples on both sides: {n} rows vs {y.GetLength(0)}.");
        if (n < 2) throw new ArgumentException("CKA needs at least two samples.");
        var xc = Centre(x);
        var yc = Centre(y);
        double cross = yc.TransposeThisAndMultiply(xc).FrobeniusNorm();
        double xx = xc.TransposeThisAndMultiply(xc).FrobeniusNorm();
        double yy = yc.TransposeThisAndMultiply(yc).FrobeniusNorm();
        if (xx == 0 || yy == 0) throw new ArgumentException("CKA is undefined for a representation with no variance.");
        return cross * cross / (xx * yy);
    }

    internal static Matrix<double> Centre(double[,] a)
    {
        var m = Matrix<double>.Build.DenseOfArray(a);
        var mean = m.ColumnSums() / m.RowCount;
        for (int i = 0; i < m.RowCount; i++) m.SetRow(i, m.Row(i) - mean);
        return m;
    }
}

/// <summary>Dissimilarity between two items' activity patterns.</summary>
public enum RdmMetric
{
    /// <summary>1 − Pearson correlation of the two patterns (the usual RSA choice).</summary>
    Correlation,

    /// <summary>Euclidean distance.</summary>
    Euclidean,
}

/// <summary>
/// Representational similarity analysis (Kriegeskorte, Mur and Bandettini 2008): build each
/// representation's dissimilarity matrix over the same items (rows), then compare the two by the
/// Spearman rank correlation of their upper triangles. Only the order of dissimilarities matters, so
/// RSA is invariant to any transform that preserves it.
/// </summary>
public static class Rsa
{
    /// <summary>The upper triangle (i &lt; j, row by row) of the items × items dissimilarity matrix.</summary>
    public static double[] Rdm(double[,] items, RdmMetric metric = RdmMetric.Correlation)
    {
        int n = items.GetLength(0), p = items.GetLength(1);
        if (n < 3) throw new ArgumentException("RSA needs at least three items.");
        var rows = new double[n][];
        for (int i = 0; i < n; i++)
        {
            rows[i] = new double[p];
            for (int k = 0; k < p; k++) rows[i][k] = items[i, k];
            if (metric == RdmMetric.Correlation)
            {
                double mean = rows[i].Average(), norm = 0;
                for (int k = 0; k < p; k++) { rows[i][k] -= mean; norm += rows[i][k] * rows[i][k]; }
                norm = Math.Sqrt(norm);
                if (norm == 0) throw new ArgumentException($"item {i} has a constant pattern; its correlation distance is undefined.");
                for (int k = 0; k < p; k++) rows[i][k] /= norm;
            }
        }
        var d = new double[n * (n - 1) / 2];
        int idx = 0;
        for (int i = 0; i < n; i++)
            for (int j = i + 1; j < n; j++)
            {
                double acc = 0;
                if (metric == RdmMetric.Correlation)
                {
                    for (int k = 0; k < p; k++) acc += rows[i][k] * rows[j][k];
                    d[idx++] = 1.0 - acc;
                }
                else
                {
                    for (int k = 0; k < p; k++) { double diff = rows[i][k] - rows[j][k]; acc += diff * diff; }
                    d[idx++] = Math.Sqrt(acc);
                }
            }
        return d;
    }

    /// <summary>Spearman correlation of the two representations' RDMs over the same items.</summary>
    public static double Compare(double[,] x, double[,] y, RdmMetric metric = RdmMetric.Correlation)
    {
        if (x.GetLength(0) != y.GetLength(0))
            throw new ArgumentException($"RSA needs the same items on both sides: {x.GetLength(0)} rows vs {y.GetLength(0)}.");
        return Correlation.Spearman(Rdm(x, metric), Rdm(y, metric));
    }
}
