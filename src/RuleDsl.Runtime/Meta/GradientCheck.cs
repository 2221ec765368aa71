namespace RuleDsl.Runtime.Meta;

/// <summary>One θ of a gradient check: the exact derivative by tangent propagation through learning
/// against central differences of the whole episode's objective, with the step they used.</summary>
public sealed record GradientCheckRow(int Index, string Name, double Tangent, double FiniteDifference, double RelativeError, bool Pass, double Step = double.NaN);

public static class GradientCheck
{
    /// <summary>The steps (relative to max(1, |θ|)) tried when none is given.</summary>
    public static readonly double[] Steps = [1e-4, 1e-5, 1e-6, 1e-7];

    /// <summary>Compares, for each θ, the tangent derivative of one episode's objective with a central
    /// difference (Richardson-extrapolated: (4·D(h/2) − D(h))/3, error O(h⁴)) of the same episode —
    /// same data, same initial weights, same noise. With a given <paramref name="step"/> h =
    /// step·max(1, |θ|). Without one, the steps of <see cref="Steps"/> are tried and the estimate
    /// taken where two consecutive steps agree best: a whole learning run can curve on a scale far
    /// below any fixed step (the Oja coefficient on the paper's network: 1e-4 gives an error of 1,
    /// 1e-7 gives 1e-9) while round-off grows as the step shrinks; the converged pair is the honest
    /// estimate. Relative error |a − b| / max(|a|, |b|, floor).</summary>
    public static IReadOnlyList<GradientCheckRow> Run(IInnerLoop loop, double[] theta, IReadOnlyList<string> names,
        int episode = 0, double? step = null, double tolerance = 1e-6, double floor = 1e-12, CancellationToken cancel = default)
    {
        int p = theta.Length;
        var unit = Directions.Draw(GradientEstimator.Exact, p, 0, new Data.Rng(0));
        var outcome = loop.Run(theta, unit, episode, cancel);
        if (outcome.Failure is not null) throw new InvalidOperationException($"the episode failed: {outcome.Failure}");
        double Objective(int r, double delta)
        {
            var t = (double[])theta.Clone();
            t[r] += delta;
            var o = loop.Run(t, [], episode, cancel);
            if (o.Failure is not null) throw new InvalidOperationException($"the perturbed episode failed: {o.Failure}");
            return o.Objective;
        }
        double Richardson(int r, double h)
        {
            double d1 = (Objective(r, h) - Objective(r, -h)) / (2 * h);
            double d2 = (Objective(r, h / 2) - Objective(r, -h / 2)) / h;
            return (4 * d2 - d1) / 3;
        }
        double Rel(double a, double b) => Math.Abs(a - b) / Math.Max(Math.Max(Math.Abs(a), Math.Abs(b)), floor);
        var rows = new List<GradientCheckRow>();
        for (int r = 0; r < p; r++)
        {
            double scale = Math.Max(1.0, Math.Abs(theta[r]));
            double fd, used;
            if (step is double fixedStep)
            {
                used = fixedStep;
                fd = Richardson(r, fixedStep * scale);
            }
            else
            {
                var estimates = Steps.Select(s => Richardson(r, s * scale)).ToArray();
                int best = Enumerable.Range(1, Steps.Length - 1).MinBy(k => Rel(estimates[k], estimates[k - 1]));
                used = Steps[best];
                fd = estimates[best];
            }
            double a = outcome.Directional[r];
            double rel = Rel(a, fd);
            rows.Add(new GradientCheckRow(r, names[r], a, fd, rel, rel <= tolerance, used));
        }
        return rows;
    }
}
