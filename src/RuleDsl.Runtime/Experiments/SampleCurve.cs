using RuleDsl.Runtime.Plots;

namespace RuleDsl.Runtime.Experiments;

/// <summary>Query accuracy of fresh networks after n online samples per class, per n and network.</summary>
public sealed record SampleCurvePoint(string Name, int SamplesPerClass, int Network, double Accuracy);

/// <summary>
/// Accuracy against the number of training samples (Fig. 1a and S1 of Shervani-Tabar &amp; Rosenbaum):
/// a rule at fixed θ (a run's meta-learned θ) trains freshly initialised networks online on new
/// episodes — seeds the meta-training never used — with n samples per class, and is scored on the
/// query set. One point per (n, network); no meta-learning happens here.
/// </summary>
public static class SampleCurve
{
    /// <summary>Seeds of the evaluation networks: far from the meta-training's seed + 1000·trial.</summary>
    public const int FirstSeed = 900_000;

    public static IReadOnlyList<SampleCurvePoint> Measure(ExperimentSession session, double[] theta, string name,
        IReadOnlyList<int> samplesPerClass, int networks, CancellationToken cancel = default)
    {
        if (!session.Spec.Setting.IsFeedforward) throw new ArgumentException($"{session.Spec.File}: accuracy vs samples is a feedforward analysis");
        var data = Data.DataCatalog.Default().Resolve(session.Spec.Data).Dataset;
        var jobs = samplesPerClass.SelectMany(n => Enumerable.Range(0, networks).Select(k => (N: n, K: k))).ToArray();
        var points = new SampleCurvePoint[jobs.Length];
        Parallel.For(0, jobs.Length, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount, CancellationToken = cancel }, i =>
        {
            var (n, k) = jobs[i];
            var outcome = session.FeedforwardLoop(FirstSeed + k, n, data).Run(theta, [], 0, cancel);
            points[i] = new SampleCurvePoint(name, n, k, outcome.Failure is null ? outcome.Metrics["accuracy"] : double.NaN);
        });
        return points;
    }

    /// <summary>Accuracy (mean with a 98 % bootstrap band over networks) against samples per class, one line per rule.</summary>
    public static void Plot(string path, IReadOnlyList<SampleCurvePoint> points)
    {
        var series = points.GroupBy(p => p.Name).Select(g =>
        {
            var ns = g.Select(p => p.SamplesPerClass).Distinct().OrderBy(n => n).ToArray();
            var nets = g.Select(p => p.Network).Distinct().OrderBy(k => k).ToArray();
            var trials = nets.Select(k => (IReadOnlyList<double>)ns.Select(n => 100 * g.First(p => p.Network == k && p.SamplesPerClass == n).Accuracy).ToArray()).ToList();
            return new CurveSeries(g.Key, trials, ns.Select(n => (double)n).ToArray());
        }).ToList();
        Plotter.CurvesWithBands(path, new PlotText("query accuracy of fresh networks vs training samples (98 % band over networks)",
            "training samples per class (online)", "accuracy (%)"), series);
    }
}
