using Complex = System.Numerics.Complex;
using MathNet.Numerics.LinearAlgebra;

namespace RuleDsl.Runtime.Analysis.Dynamics;

/// <summary>How the eigenvalues μ of the step map's Jacobian decide stability.</summary>
public enum StabilityConvention
{
    /// <summary>
    /// F is one Euler step x + h·f(x) of a flow: a mode is unstable when Re μ &gt; 1, i.e. the flow's
    /// eigenvalue λ = (μ − 1)/h has Re λ &gt; 0. The right reading for a network simulated with dt ≪ τ.
    /// </summary>
    EulerFlow,

    /// <summary>F is a map in its own right: a mode is unstable when |μ| &gt; 1.</summary>
    DiscreteMap,
}

/// <summary>Whether a point is a true fixed point or only a slow point (a local minimum of q &gt; 0).</summary>
public enum PointKind { Fixed, Slow }

/// <summary>Stability class from the number of unstable modes.</summary>
public enum StabilityClass { Stable, Saddle, Unstable }

/// <summary>Options of the fixed/slow-point search (Sussillo and Barak 2013, minimising q).</summary>
/// <param name="MaxIterations">Levenberg–Marquardt iterations per start.</param>
/// <param name="GradientTolerance">Stop when ‖∇q‖∞ falls below this.</param>
/// <param name="FixedTolerance">A minimum with q below this is a fixed point (q = ½‖F(x) − x‖²).</param>
/// <param name="SlowTolerance">A minimum with q below this (but above FixedTolerance) is a slow point;
/// starts ending above it are discarded.</param>
/// <param name="DuplicateDistance">Points closer than this (Euclidean) are reported once.</param>
/// <param name="Stability">How eigenvalues decide stability.</param>
/// <param name="StepOverTau">h = dt/τ of the Euler step, to report flow eigenvalues λ = (μ − 1)/h; null: report μ only.</param>
/// <param name="MarginalTolerance">A mode counts as unstable only beyond this margin (Re μ &gt; 1 + tol or |μ| &gt; 1 + tol).</param>
public sealed record FixedPointOptions(
    int MaxIterations = 200,
    double GradientTolerance = 1e-13,
    double FixedTolerance = 1e-14,
    double SlowTolerance = 1e-6,
    double DuplicateDistance = 1e-4,
    StabilityConvention Stability = StabilityConvention.EulerFlow,
    double? StepOverTau = null,
    double MarginalTolerance = 1e-9)
{
    public static FixedPointOptions Default { get; } = new();
}

/// <summary>
/// A fixed or slow point x* with the spectrum of the step map's Jacobian there. Eigenvalues are sorted by
/// decreasing real part; <see cref="FlowEigenvalues"/> are λ = (μ − 1)/h when h is known.
/// </summary>
public sealed record CriticalPoint(
    double[] X,
    double Q,
    PointKind Kind,
    Complex[] Eigenvalues,
    Complex[]? FlowEigenvalues,
    int UnstableModes,
    StabilityClass Stability,
    int Hits)
{
    /// <summary>"stable", "saddle (2 unstable modes)", "unstable (all 3 modes)".</summary>
    public string Describe() => Stability switch
    {
        StabilityClass.Stable => "stable",
        StabilityClass.Saddle => $"saddle ({UnstableModes} unstable mode{(UnstableModes == 1 ? "" : "s")})",
        _ => $"unstable (all {UnstableModes} modes)",
    };
}

/// <summary>Everything a search found, and how the starts ended.</summary>
public sealed record FixedPointSearch(IReadOnlyList<CriticalPoint> Points, int Starts, int Discarded);

/// <summary>
/// Finds fixed points and slow points of a step map F by minimising q(x) = ½‖F(x) − x‖² from many starts.
/// F and its Jacobian are delegates so any dynamics can be analysed — the RNN step compiled from the IR
/// with its IR-derived Jacobian, or <see cref="NumericalJacobian"/> as a stand-in.
///
/// Minimisation: Levenberg–Marquardt on the residual g(x) = F(x) − x with Jacobian A = J_F(x) − I, so that
/// ∇q = Aᵀg and AᵀA is the Gauss–Newton Hessian; it converges quadratically onto fixed points (q = 0) and
/// remains a descent method onto slow points (local minima with q &gt; 0).
/// </summary>
public static class FixedPointFinder
{
    public static FixedPointSearch Find(Func<double[], double[]> step, Func<double[], double[,]> jacobian,
                                        IEnumerable<double[]> starts, FixedPointOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(step);
        ArgumentNullException.ThrowIfNull(jacobian);
        var o = options ?? FixedPointOptions.Default;
        var found = new List<(double[] X, double Q, int Hits)>();
        int count = 0, discarded = 0;
        foreach (var start in starts)
        {
            count++;
            var (x, q) = Minimise(step, jacobian, start, o);
            if (!(q <= o.SlowTolerance)) { discarded++; continue; }
            int same = found.FindIndex(p => Distance(p.X, x) < o.DuplicateDistance);
            if (same < 0) found.Add((x, q, 1));
            else
            {
                var p = found[same];
                found[same] = q < p.Q ? (x, q, p.Hits + 1) : (p.X, p.Q, p.Hits + 1);
            }
        }
        var points = found.Select(p => Classify(p.X, p.Q, p.Hits, jacobian, o))
                          .OrderBy(p => p.Kind).ThenBy(p => p.Q).ToList();
        return new FixedPointSearch(points, count, discarded);
    }

    /// <summary>q(x) = ½‖F(x) − x‖².</summary>
    public static double Q(Func<double[], double[]> step, double[] x)
    {
        var y = step(x);
        double q = 0;
        for (int i = 0; i < x.Length; i++) { double d = y[i] - x[i]; q += d * d; }
        return 0.5 * q;
    }

    /// <summary>Minimises q from one start; returns the end point and its q.</summary>
    public static (double[] X, double Q) Minimise(Func<double[], double[]> step, Func<double[], double[,]> jacobian,
                                                  double[] start, FixedPointOptions? options = null)
    {
        var o = options ?? FixedPointOptions.Default;
        int n = start.Length;
        var mb = Matrix<double>.Build;
        var x = Vector<double>.Build.DenseOfArray((double[])start.Clone());
        var g = Residual(step, x);
        double q = 0.5 * g.DotProduct(g);
        double mu = -1;
        for (int iter = 0; iter < o.MaxIterations && q > 0; iter++)
        {
            var a = mb.DenseOfArray(CheckedJacobian(jacobian, x, n));
            for (int i = 0; i < n; i++) a[i, i] -= 1.0;
            var grad = a.TransposeThisAndMultiply(g);
            if (grad.InfinityNorm() < o.GradientTolerance) break;
            var h = a.TransposeThisAndMultiply(a);
            if (mu < 0) mu = 1e-3 * Math.Max(h.Diagonal().Maximum(), 1e-300);

            bool accepted = false;
            while (!accepted && mu < 1e20)
            {
                var damped = h.Clone();
                for (int i = 0; i < n; i++) damped[i, i] += mu;
                var delta = damped.Cholesky().Solve(-grad);
                var xn = x + delta;
                var gn = Residual(step, xn);
                double qn = 0.5 * gn.DotProduct(gn);
                if (qn < q)
                {
                    bool stalled = q - qn <= 1e-15 * q && delta.InfinityNorm() <= 1e-15 * (1 + x.InfinityNorm());
                    x = xn; g = gn; q = qn; mu = Math.Max(mu / 3.0, 1e-300);
                    accepted = true;
                    if (stalled) return (x.ToArray(), q);
                }
                else mu *= 4.0;
            }
            if (!accepted) break;   // no descent direction left at machine precision
        }
        return (x.ToArray(), q);
    }

    /// <summary>Counts unstable modes of J_F(x) under the convention and classifies the point.</summary>
    public static CriticalPoint Classify(double[] x, double q, int hits, Func<double[], double[,]> jacobian, FixedPointOptions? options = null)
    {
        var o = options ?? FixedPointOptions.Default;
        var jf = Matrix<double>.Build.DenseOfArray(CheckedJacobian(jacobian, Vector<double>.Build.DenseOfArray(x), x.Length));
        var mus = jf.Evd().EigenValues.ToArray().OrderByDescending(z => z.Real).ThenByDescending(z => z.Imaginary).ToArray();
        int unstable = mus.Count(z => o.Stability == StabilityConvention.EulerFlow
            ? z.Real > 1.0 + o.MarginalTolerance
            : z.Magnitude > 1.0 + o.MarginalTolerance);
        var flow = o.StepOverTau is double hstep ? mus.Select(z => (z - 1.0) / hstep).ToArray() : null;
        var cls = unstable == 0 ? StabilityClass.Stable : unstable == mus.Length ? StabilityClass.Unstable : StabilityClass.Saddle;
        var kind = q <= o.FixedTolerance ? PointKind.Fixed : PointKind.Slow;
        return new CriticalPoint(x, q, kind, mus, flow, unstable, cls, hits);
    }

    /// <summary>
    /// Starting points for a search: states drawn at random from recorded trajectories (rows of T×N arrays),
    /// each perturbed by Gaussian noise of standard deviation <paramref name="noiseStd"/>.
    /// </summary>
    public static List<double[]> StartsFromTrajectories(IReadOnlyList<double[,]> trajectories, int count, double noiseStd,
                                                        Data.Rng rng)
    {
        if (trajectories.Count == 0) throw new ArgumentException("need at least one trajectory.");
        int n = trajectories[0].GetLength(1);
        var starts = new List<double[]>(count);
        for (int s = 0; s < count; s++)
        {
            var tr = trajectories[rng.NextInt(trajectories.Count)];
            if (tr.GetLength(1) != n) throw new ArgumentException("all trajectories must have the same number of units.");
            int t = rng.NextInt(tr.GetLength(0));
            var x = new double[n];
            for (int i = 0; i < n; i++) x[i] = tr[t, i] + noiseStd * rng.NormalFresh();
            starts.Add(x);
        }
        return starts;
    }

    private static Vector<double> Residual(Func<double[], double[]> step, Vector<double> x)
    {
        var xa = x.ToArray();
        var y = step(xa);
        if (y.Length != xa.Length) throw new ArgumentException($"the step map returned {y.Length} values for a state of {xa.Length}.");
        var g = Vector<double>.Build.Dense(xa.Length);
        for (int i = 0; i < xa.Length; i++) g[i] = y[i] - xa[i];
        return g;
    }

    private static double[,] CheckedJacobian(Func<double[], double[,]> jacobian, Vector<double> x, int n)
    {
        var j = jacobian(x.ToArray());
        if (j.GetLength(0) != n || j.GetLength(1) != n)
            throw new ArgumentException($"the Jacobian is {j.GetLength(0)}×{j.GetLength(1)}, expected {n}×{n}.");
        return j;
    }

    private static double Distance(double[] a, double[] b)
    {
        double s = 0;
        for (int i = 0; i < a.Length; i++) { double d = a[i] - b[i]; s += d * d; }
        return Math.Sqrt(s);
    }
}
