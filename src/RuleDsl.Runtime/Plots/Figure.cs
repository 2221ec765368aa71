using System.Globalization;
using RuleDsl.Runtime.Analysis;

namespace RuleDsl.Runtime.Plots;

/// <summary>
/// A mean line and its band over n samples (trials, seeds or networks), in the units the panel shows.
/// <paramref name="Legend"/> is the legend text as drawn: it says what the line and the band are and n.
/// </summary>
public sealed record BandSeries(string Legend, double[] X, double[] Mean, double[] Lower, double[] Upper, int N);

/// <summary>A dashed horizontal line with its legend text (chance accuracy, p = 0.05).</summary>
public sealed record ReferenceLine(double Y, string Legend);

/// <summary>One set of axes: its own title, labels with units, series and an optional reference line.</summary>
public sealed record Panel(string Title, string XLabel, string YLabel, IReadOnlyList<BandSeries> Series, ReferenceLine? Reference = null);

/// <summary>
/// A figure as data, before it is drawn: a title, caption lines under it (what the bands are, warnings),
/// and one or more panels laid out in a grid, each with its own y axis (so a 1e-3 learning rate is not
/// flattened by a 0.5 threshold). <see cref="Warnings"/> are also in the caption; callers print them.
/// </summary>
public sealed record Figure(string Title, IReadOnlyList<string> Caption, IReadOnlyList<Panel> Panels, IReadOnlyList<string> Warnings)
{
    /// <summary>Fewer samples than this and a band says little: the figure carries a warning.</summary>
    public const int FewSamples = 5;
}

/// <summary>Curves over samples made into banded series, with the words that say what the band is.</summary>
public static class Bands
{
    public const double Level = 0.98;
    public const int Resamples = 500;

    /// <summary>What the line and band of a series over <paramref name="n"/> <paramref name="samples"/> are, in words.</summary>
    public static string Describe(int n, string samples) => n switch
    {
        0 => $"no {samples} with a finite value",
        1 => $"one {Singular(samples)}, no band",
        _ => $"mean and {Percent(Level)} bootstrap CI of the mean over n = {n} {samples}",
    };

    /// <summary>
    /// The series of <paramref name="name"/>: mean over samples with a percentile-bootstrap band (seeded, so a
    /// figure redraws identically), values multiplied by <paramref name="scale"/> (100 for %), points where the
    /// mean is not finite left out. n counts the samples with at least one finite value.
    /// </summary>
    public static BandSeries Of(string name, string samples, IReadOnlyList<IReadOnlyList<double>> curves, IReadOnlyList<double>? x = null,
                                double scale = 1, ulong seed = 0)
    {
        int n = curves.Count(c => c.Any(double.IsFinite));
        var band = Statistics.BootstrapBand(curves, Level, Resamples, seed);
        int len = band.Mean.Length;
        if (x is not null && x.Count < len)
            throw new PlotException($"series '{name}' has {len} points but only {x.Count} x values");
        var keep = Enumerable.Range(0, len).Where(j => double.IsFinite(band.Mean[j]) && (x is null || double.IsFinite(x[j]))).ToArray();
        return new BandSeries($"{name}: {Describe(n, samples)}", keep.Select(j => x is null ? j : x[j]).ToArray(),
            keep.Select(j => scale * band.Mean[j]).ToArray(), keep.Select(j => scale * band.Lower[j]).ToArray(),
            keep.Select(j => scale * band.Upper[j]).ToArray(), n);
    }

    /// <summary>The caption line for bands and the warning when a series has fewer than <see cref="Figure.FewSamples"/>
    /// samples (named, with its n), so that a reader does not take a 2-trial band for a result.</summary>
    public static (string Caption, string[] Warnings) Explain(IEnumerable<(string Name, int N)> series, string samples)
    {
        var few = series.Where(s => s.N < Figure.FewSamples).ToArray();
        string caption = $"lines: mean over {samples}; bands: {Percent(Level)} percentile-bootstrap confidence interval of the mean ({Resamples} resamples)";
        var warnings = few.Select(s => $"{s.Name}: only n = {s.N} {(s.N == 1 ? Singular(samples) : samples)}, fewer than {Figure.FewSamples}: the band is not a reliable estimate (run more {samples})").ToArray();
        return (caption, warnings);
    }

    public static string Percent(double fraction) => (100 * fraction).ToString("G3", CultureInfo.InvariantCulture) + " %";

    static string Singular(string samples) => samples.EndsWith('s') ? samples[..^1] : samples;
}
