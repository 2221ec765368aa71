using RuleDsl.Syntax;

namespace RuleDsl.Runtime.Meta;

/// <summary>One θ of a gradient check: the exact derivative by tangent propagation through learning
/// against central differences of the whole episode's objective, with the step they used and the
/// estimated error of the finite difference itself, relative like <see cref="RelativeError"/> (NaN
/// with a fixed step).</summary>
public sealed record GradientCheckRow(int Index, string Name, double Tangent, double FiniteDifference, double RelativeError, bool Pass,
    double Step = double.NaN, double ErrorEstimate = double.NaN);

public static class GradientCheck
{
    /// <summary>The steps (relative to max(1, |θ|)) tried when none is given: from where truncation
    /// dominates to where round-off does, a decade apart.</summary>
    public static readonly double[] Steps = [1e-1, 1e-2, 1e-3, 1e-4, 1e-5, 1e-6, 1e-7, 1e-8];

    /// <summary>The relative error that passes in each precision. float64: tangents and differences agree
    /// to 1e-6 and better. float32: the float32 tangents against differences of the float64 episode
    /// (see <see cref="Run"/>'s <c>reference</c>) agree to about 1e-5 on the shipped examples at
    /// reduced size (tests/…/PrecisionTests); 1e-3 leaves room for longer runs.</summary>
    public static double Tolerance(Precision precision) => precision.IsFloat32 ? 1e-3 : 1e-6;

    /// <summary>The estimate's error is this many times the disagreement of the two estimates that
    /// agreed best: their difference measures the error of either only to within about a factor of two
    /// (at the best step truncation and round-off are of one size and may add), so a correct tangent of
    /// a θ whose derivative is a thousand times below the objective (miconi_family's θ[0,1] on 12 units)
    /// is not failed by a hair.</summary>
    public const double ErrorFactor = 2;

    /// <summary>Compares, for each θ, the tangent derivative of one episode's objective with a central
    /// difference (Richardson-extrapolated: (4·D(h/2) − D(h))/3, error O(h⁴)) of the same episode —
    /// same data, same initial weights, same noise. With a given <paramref name="step"/> h =
    /// step·max(1, |θ|) and the verdict relative error ≤ <paramref name="tolerance"/>. Without one,
    /// the steps of <see cref="Steps"/> are tried from the largest down, and the estimate is taken at
    /// the step whose estimate agrees best with the next larger step's; twice that disagreement
    /// (<see cref="ErrorFactor"/>) is the estimate's error (the descent stops two steps after a pair agreed within the tolerance). No single
    /// step serves every θ: a whole learning run can curve on a scale far below any fixed step (the
    /// Oja coefficient on the paper's network: 1e-4 gives an error of 1, 1e-7 gives 1e-9), while a
    /// derivative a thousand times smaller than the objective drowns in round-off at 1e-5 (the
    /// neo-Hebbian θ on DNMS). A θ fails only when tangent and estimate differ by more than both the
    /// estimate's error and the tolerance. Steps at which the perturbed episode fails (a learning rate
    /// pushed far enough to diverge) are left out. Relative error |a − b| / max(|a|, |b|, floor).
    /// With a <paramref name="reference"/> (the float64 episode of a float32 <paramref name="loop"/>) the
    /// differences are of the reference's objective: a float32 objective is rounded at every step, so the
    /// difference of two float32 episodes carries ~1e-7·|J| / h of noise — at any usable step more than a
    /// θ-component a thousand times below the objective (the neo-Hebbian θ on DNMS) is worth.</summary>
    public static IReadOnlyList<GradientCheckRow> Run(IInnerLoop loop, double[] theta, IReadOnlyList<string> names,
        int episode = 0, double? step = null, double tolerance = 1e-6, double floor = 1e-12, CancellationToken cancel = default,
        IInnerLoop? reference = null)
    {
        var ladder = Steps;
        // The differences of a float64 reference converge like float64's (a float32 tolerance would stop the
        // descent at large steps whose estimates agree only to 1e-3: bcm's η at 0.1 and 0.01).
        double converged = reference is null ? tolerance : Tolerance(Precision.Float64);
        int p = theta.Length;
        var unit = Directions.Draw(GradientEstimator.Exact, p, 0, new Data.Rng(0));
        var outcome = loop.Run(theta, unit, episode, cancel);
        if (outcome.Failure is not null) throw new InvalidOperationException($"the episode failed: {outcome.Failure}");
        double Objective(int r, double delta)
        {
            var t = (double[])theta.Clone();
            t[r] += delta;
            var o = (reference ?? loop).Run(t, [], episode, cancel);
            if (o.Failure is not null) throw new InvalidOperationException($"the perturbed episode failed: {o.Failure}");
            return o.Objective;
        }
        double Richardson(int r, double h)
        {
            double d1 = (Objective(r, h) - Objective(r, -h)) / (2 * h);
            double d2 = (Objective(r, h / 2) - Objective(r, -h / 2)) / h;
            return (4 * d2 - d1) / 3;
        }
        // A step too large for this θ may make the episode diverge: that step gives no estimate.
        double RichardsonOrNaN(int r, double h)
        {
            try { return Richardson(r, h); }
            catch (InvalidOperationException) { return double.NaN; }
        }
        double Scale(double a, double b) => Math.Max(Math.Max(Math.Abs(a), Math.Abs(b)), floor);
        var rows = new List<GradientCheckRow>();
        for (int r = 0; r < p; r++)
        {
            double scale = Math.Max(1.0, Math.Abs(theta[r]));
            double a = outcome.Directional[r];
            if (step is double fixedStep)
            {
                double fixedFd = Richardson(r, fixedStep * scale);
                double fixedRel = Math.Abs(a - fixedFd) / Scale(a, fixedFd);
                rows.Add(new GradientCheckRow(r, names[r], a, fixedFd, fixedRel, fixedRel <= tolerance, fixedStep));
                continue;
            }
            // Down the ladder until a pair has converged within the tolerance and two further steps
            // did not improve on it (round-off only grows from there), or to its end.
            var estimates = new double[ladder.Length];
            int best = -1;
            double Disagreement(int k) => Math.Abs(estimates[k] - estimates[k - 1]);
            for (int k = 0; k < ladder.Length; k++)
            {
                estimates[k] = RichardsonOrNaN(r, ladder[k] * scale);
                if (k == 0 || !double.IsFinite(estimates[k]) || !double.IsFinite(estimates[k - 1])) continue;
                if (best < 0 || Disagreement(k) < Disagreement(best)) best = k;
                else if (k - best >= 2 && Disagreement(best) <= converged * Scale(estimates[best], a)) break;
            }
            if (best < 0)
                throw new InvalidOperationException($"{names[r]}: no two consecutive steps from {ladder[0]:G1} to {ladder[^1]:G1} gave finite differences (the perturbed episodes failed)");
            double fd = estimates[best];
            double rel = Math.Abs(a - fd) / Scale(a, fd), error = ErrorFactor * Disagreement(best) / Scale(a, fd);
            rows.Add(new GradientCheckRow(r, names[r], a, fd, rel, rel <= Math.Max(error, tolerance), ladder[best], error));
        }
        return rows;
    }
}
