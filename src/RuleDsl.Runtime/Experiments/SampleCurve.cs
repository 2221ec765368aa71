using RuleDsl.Runtime.Plots;

namespace RuleDsl.Runtime.Experiments;

/// <summary>Query accuracy of fresh networks after n online samples per class, per n and network.</summary>
public sealed record SampleCurvePoint(string Name, int SamplesPerClass, int Network, double Accuracy);

/// <summary>One rule's networks at n samples per class: the mean accuracy of those whose learning did not
/// diverge, how many diverged, and the mean counting those at chance.</summary>
public sealed record SampleCurveMean(int SamplesPerClass, double MeanAccuracy, int Diverged, int Networks, double MeanWithDivergedAtChance);

/// <summary>Every rule's points, and the files written (samples.csv, samples.png).</summary>
public sealed record SampleCurveResult(IReadOnlyList<SampleCurvePoint> Points, string CsvPath, string PlotPath, IReadOnlyList<string>? PlotWarnings = null);

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

    /// <summary>`ruledsl samples` as a library: each rule's points (<see cref="Measure"/>) written to samples.csv
    /// in <paramref name="output"/> as each rule finishes (<paramref name="onStart"/> and <paramref name="onDone"/>
    /// around it), then drawn in samples.png.</summary>
    public static SampleCurveResult Run(IReadOnlyList<RuleAtTheta> rules, IReadOnlyList<int> samplesPerClass, int networks, string output,
        Action<RuleAtTheta>? onStart = null, Action<RuleAtTheta, IReadOnlyList<SampleCurvePoint>>? onDone = null, CancellationToken cancel = default)
    {
        Directory.CreateDirectory(output);
        var all = new List<SampleCurvePoint>();
        string csvPath = Path.Combine(output, "samples.csv");
        using (var csv = new StreamWriter(csvPath))
        {
            csv.WriteLine("rule,samples_per_class,network,accuracy");
            foreach (var rule in rules)
            {
                onStart?.Invoke(rule);
                var points = Measure(rule.Session, rule.Theta, rule.Name, samplesPerClass, networks, cancel);
                foreach (var p in points)
                    csv.WriteLine($"{p.Name},{p.SamplesPerClass},{p.Network},{p.Accuracy.ToString("G4", System.Globalization.CultureInfo.InvariantCulture)}");
                csv.Flush();
                onDone?.Invoke(rule, points);
                all.AddRange(points);
            }
        }
        string png = Path.Combine(output, "samples.png");
        var warnings = rules.Count == 0 ? [] : Plot(png, all, rules[0].Session.Spec.Classes);
        return new SampleCurveResult(all, csvPath, png, warnings);
    }

    /// <summary>The mean per n of one rule's points; a network whose learning diverged has no accuracy, so it is
    /// counted apart (and at <paramref name="chance"/> in <see cref="SampleCurveMean.MeanWithDivergedAtChance"/>).</summary>
    public static IReadOnlyList<SampleCurveMean> Means(IReadOnlyList<SampleCurvePoint> points, double chance) =>
        points.GroupBy(p => p.SamplesPerClass).Select(g => new SampleCurveMean(g.Key,
            g.Where(p => double.IsFinite(p.Accuracy)).Select(p => p.Accuracy).DefaultIfEmpty(double.NaN).Average(),
            g.Count(p => !double.IsFinite(p.Accuracy)), g.Count(),
            g.Average(p => double.IsFinite(p.Accuracy) ? p.Accuracy : chance))).ToList();

    /// <summary>Accuracy in % (mean with a 98 % bootstrap band over networks) against samples per class, one line per
    /// rule, with the chance line of <paramref name="classes"/> classes; returns the figure's warnings.</summary>
    public static IReadOnlyList<string> Plot(string path, IReadOnlyList<SampleCurvePoint> points, int classes)
    {
        var figure = SampleFigure(points, classes);
        FigureRenderer.Render(figure, path);
        return figure.Warnings;
    }

    /// <summary>The sample curve as a figure, before drawing.</summary>
    public static Figure SampleFigure(IReadOnlyList<SampleCurvePoint> points, int classes)
    {
        var series = points.GroupBy(p => p.Name).Select(g =>
        {
            var ns = g.Select(p => p.SamplesPerClass).Distinct().OrderBy(n => n).ToArray();
            var nets = g.Select(p => p.Network).Distinct().OrderBy(k => k).ToArray();
            var trials = nets.Select(k => (IReadOnlyList<double>)ns.Select(n => g.First(p => p.Network == k && p.SamplesPerClass == n).Accuracy).ToArray()).ToList();
            return Bands.Of(g.Key, "networks", trials, ns.Select(n => (double)n).ToArray(), scale: 100);
        }).ToList();
        var panel = new Panel("fresh networks learning online at fixed θ", "training samples per class (online)", "query accuracy (%)", series,
            RunKind.FeedforwardChance(classes));
        var (caption, warnings) = Bands.Explain(series.Select(s => (s.Legend[..s.Legend.IndexOf(':')], s.N)), "networks");
        return new Figure("query accuracy against training samples", [caption, .. warnings], [panel], warnings);
    }
}
