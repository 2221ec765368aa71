namespace RuleDsl.Runtime.Meta;

/// <summary>
/// The REINFORCE-inspired estimator (Maoutsa's third): a score-function gradient of the objective
/// under a Gaussian search distribution over θ, θ' ~ N(θ, σ²I). Since ∇_θ log N(θ'; θ, σ²I) = u/σ
/// with θ' = θ + σu,
///   ∇_θ E_u[J(θ + σu)] = E_u[J(θ + σu) u] / σ = E_u[(J(θ + σu) − J(θ − σu)) u] / (2σ),
/// the antithetic form subtracting the baseline J(θ − σu) at no bias. Each pair is two plain inner
/// runs (no tangents) of the same episode, so both see the same data and exploration noise (common
/// random numbers). It is unbiased for the gradient of the smoothed objective J_σ, which differs
/// from ∇J by O(σ²); its cost is 2k learning runs, independent of the number of θ and of any
/// derivative — the estimator for rules the differentiator cannot reach, and a check on the others.
/// </summary>
public static class Reinforce
{
    /// <summary>Runs the antithetic pairs along the rows u_d of <paramref name="directions"/>. The
    /// outcome's directional derivatives are (J(θ+σu_d) − J(θ−σu_d)) / 2σ, which
    /// <see cref="Directions.Combine"/> turns into ĝ = (1/k) Σ_d ĝ_d u_d with its standard error,
    /// exactly as for random projections; the objective is the pairs' mean, an estimate of J_σ(θ).</summary>
    public static EpisodeOutcome Run(IInnerLoop inner, double[] theta, double[][] directions, double sigma, int episode, CancellationToken cancel)
    {
        if (!(sigma > 0)) throw new ArgumentOutOfRangeException(nameof(sigma), "σ must be positive");
        var directional = new double[directions.Length];
        double objective = 0;
        var metrics = new Dictionary<string, double>();
        for (int d = 0; d < directions.Length; d++)
        {
            var plus = inner.Run(Shift(theta, directions[d], sigma), [], episode, cancel);
            if (plus.Failure is not null) return EpisodeOutcome.Failed($"at θ + σu_{d}: {plus.Failure}", plus.Metrics);
            var minus = inner.Run(Shift(theta, directions[d], -sigma), [], episode, cancel);
            if (minus.Failure is not null) return EpisodeOutcome.Failed($"at θ − σu_{d}: {minus.Failure}", minus.Metrics);
            directional[d] = (plus.Objective - minus.Objective) / (2 * sigma);
            objective += (plus.Objective + minus.Objective) / 2;
            // Metrics (accuracy, reward, …) are averaged over every run of the meta-step.
            foreach (var run in new[] { plus, minus })
                foreach (var (k, v) in run.Metrics) metrics[k] = metrics.GetValueOrDefault(k) + v / (2.0 * directions.Length);
        }
        return new EpisodeOutcome(objective / directions.Length, directional, metrics);
    }

    static double[] Shift(double[] theta, double[] u, double by) => theta.Select((t, i) => t + by * u[i]).ToArray();
}
