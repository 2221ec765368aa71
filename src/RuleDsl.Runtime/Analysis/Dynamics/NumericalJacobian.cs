namespace RuleDsl.Runtime.Analysis.Dynamics;

/// <summary>
/// Central-difference Jacobian of a map, J[i, j] ≈ (F(x + h e_j)_i − F(x − h e_j)_i) / 2h, with
/// h = step·max(1, |x_j|). A stand-in wherever the exact (IR-derived) Jacobian is not wired in yet, and a
/// check of one that is: its error is O(h²) (≈ 1e-10 for smooth maps at the default step).
/// Costs 2n evaluations of F.
/// </summary>
public static class NumericalJacobian
{
    public static Func<double[], double[,]> Central(Func<double[], double[]> map, double step = 1e-5)
    {
        ArgumentNullException.ThrowIfNull(map);
        if (!(step > 0)) throw new ArgumentOutOfRangeException(nameof(step), "step must be positive.");
        return x =>
        {
            int n = x.Length;
            var probe = (double[])x.Clone();
            double[,]? jac = null;
            for (int j = 0; j < n; j++)
            {
                double h = step * Math.Max(1.0, Math.Abs(x[j]));
                probe[j] = x[j] + h;
                var plus = map(probe);
                probe[j] = x[j] - h;
                var minus = map(probe);
                probe[j] = x[j];
                jac ??= new double[plus.Length, n];
                for (int i = 0; i < plus.Length; i++) jac[i, j] = (plus[i] - minus[i]) / (2 * h);
            }
            return jac ?? new double[0, 0];
        };
    }
}
