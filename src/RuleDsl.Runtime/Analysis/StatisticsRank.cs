using MathNet.Numerics;

namespace RuleDsl.Runtime.Analysis;

/// <summary>What the rank tests (Mann–Whitney, Wilcoxon signed-rank) share once their statistic,
/// its null mean and standard deviation, and (for the exact method) its null distribution are known.</summary>
internal static class RankTest
{
    /// <summary>The normal-approximation statistic, continuity-corrected toward the null (0 when every value ties).</summary>
    public static double Z(double stat, double mu, double sigma, Alternative alternative)
    {
        if (sigma == 0) return 0;
        return alternative switch
        {
            Alternative.Greater => (stat - mu - 0.5) / sigma,
            Alternative.Less => (stat - mu + 0.5) / sigma,
            _ => Math.Sign(stat - mu) * Math.Max(Math.Abs(stat - mu) - 0.5, 0) / sigma,
        };
    }

    /// <summary>The p-value: from <paramref name="exact"/> (element k = P(statistic = k)) when given,
    /// else from the normal approximation <paramref name="z"/>.</summary>
    public static double P(Alternative alternative, double stat, double z, double sigma, double[]? exact)
    {
        double p;
        if (exact is not null)
        {
            int observed = (int)Math.Round(stat);
            double upper = 0, lower = 0;
            for (int k = observed; k < exact.Length; k++) upper += exact[k];
            for (int k = 0; k <= observed; k++) lower += exact[k];
            p = alternative switch
            {
                Alternative.Greater => upper,
                Alternative.Less => lower,
                _ => 2 * Math.Min(upper, lower),
            };
        }
        else if (sigma == 0) p = 1;
        else
        {
            p = alternative switch
            {
                Alternative.Greater => UpperTail(z),
                Alternative.Less => UpperTail(-z),
                _ => 2 * UpperTail(Math.Abs(z)),
            };
        }
        return Math.Clamp(p, 0, 1);
    }

    /// <summary>P(Z ≥ z) for a standard normal Z, accurate far into the tail.</summary>
    public static double UpperTail(double z) => 0.5 * SpecialFunctions.Erfc(z / Math.Sqrt(2));
}
