using RuleDsl.Syntax;

namespace RuleDsl.Runtime.Meta;

/// <summary>The regulariser added to the meta-loss (Eq. 6 and S.3 of Shervani-Tabar &amp; Rosenbaum), of weight λ.</summary>
public sealed record Penalty(PenaltyKind Kind, double Lambda)
{
    public static Penalty None => new(PenaltyKind.None, 0);

    public double Value(ReadOnlySpan<double> theta)
    {
        double s = 0;
        if (Kind.IsL1) { foreach (var t in theta) s += Math.Abs(t); return Lambda * s; }
        // The paper's Eq. S.3 writes λ‖θ‖₂; we use the norm itself, not its square.
        if (Kind.IsL2) { foreach (var t in theta) s += t * t; return Lambda * Math.Sqrt(s); }
        return 0;
    }

    /// <summary>Adds ∂penalty/∂θ to <paramref name="gradient"/>. The derivative of |θ| at 0 is taken
    /// as 0, as PyTorch does (section 4.3 of the paper).</summary>
    public void AddGradient(ReadOnlySpan<double> theta, Span<double> gradient)
    {
        if (Kind.IsL1)
            for (int i = 0; i < theta.Length; i++) gradient[i] += Lambda * Math.Sign(theta[i]);
        if (Kind.IsL2)
        {
            double n = 0;
            foreach (var t in theta) n += t * t;
            n = Math.Sqrt(n);
            if (n > 0) for (int i = 0; i < theta.Length; i++) gradient[i] += Lambda * theta[i] / n;
        }
    }
}
