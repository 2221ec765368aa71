namespace RuleDsl.Runtime.Meta;

/// <summary>The regulariser added to the meta-loss (Eq. 6 and S.3 of Shervani-Tabar &amp; Rosenbaum).</summary>
public enum PenaltyKind { None, L1, L2 }

public readonly record struct Penalty(PenaltyKind Kind, double Lambda)
{
    public static Penalty None => new(PenaltyKind.None, 0);

    public double Value(ReadOnlySpan<double> theta)
    {
        double s = 0;
        switch (Kind)
        {
            case PenaltyKind.L1: foreach (var t in theta) s += Math.Abs(t); return Lambda * s;
            // The paper's Eq. S.3 writes λ‖θ‖₂; we use the norm itself, not its square.
            case PenaltyKind.L2: foreach (var t in theta) s += t * t; return Lambda * Math.Sqrt(s);
            default: return 0;
        }
    }

    /// <summary>Adds ∂penalty/∂θ to <paramref name="gradient"/>. The derivative of |θ| at 0 is taken
    /// as 0, as PyTorch does (section 4.3 of the paper).</summary>
    public void AddGradient(ReadOnlySpan<double> theta, Span<double> gradient)
    {
        switch (Kind)
        {
            case PenaltyKind.L1:
                for (int i = 0; i < theta.Length; i++) gradient[i] += Lambda * Math.Sign(theta[i]);
                break;
            case PenaltyKind.L2:
                double n = 0;
                foreach (var t in theta) n += t * t;
                n = Math.Sqrt(n);
                if (n > 0) for (int i = 0; i < theta.Length; i++) gradient[i] += Lambda * theta[i] / n;
                break;
        }
    }
}
