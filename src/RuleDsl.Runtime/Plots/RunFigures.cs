using RuleDsl.Runtime.Analysis;
using RuleDsl.Runtime.Results;

namespace RuleDsl.Runtime.Plots;

/// <summary>
/// The figures of run folders as data (<see cref="Figure"/>), before they are drawn: what <c>ruledsl plot</c> and
/// <c>ruledsl compare</c> show, in words and units, so that tests and notebooks can read them.
/// </summary>
public static class RunFigures
{
    public const string EpisodeAxis = "episode (meta-step)";
    const string Trials = "trials";

    /// <summary>
    /// The standard figures of a run, by file name: accuracy.png (in %, with the chance line; one panel per task
    /// when several are mixed), meta_loss.png, theta.png (one panel per θ, each with its own y axis) and
    /// angles.png (feedforward). A figure whose columns have no finite value is left out.
    /// </summary>
    public static IReadOnlyList<(string File, Figure Figure)> Standard(RunFolder run, CsvTable table, string name)
    {
        var kind = RunKind.Of(run, table);
        bool Finite(string column) => table.HasColumn(column) && table.Doubles(column).Any(double.IsFinite);
        var figures = new List<(string, Figure)>();

        var accuracy = new[] { "accuracy" }.Concat(table.Header.Where(h => h.StartsWith("accuracy_", StringComparison.Ordinal))).Where(Finite).ToArray();
        if (accuracy.Length > 0)
            figures.Add(("accuracy.png", OneQuantityPerPanel(run, table, kind, name, ColumnWords.Of("accuracy", kind.Recurrent).Words, accuracy)));
        if (Finite("meta_loss"))
            figures.Add(("meta_loss.png", OneQuantityPerPanel(run, table, kind, name, ColumnWords.Of("meta_loss", kind.Recurrent).Words, ["meta_loss"])));
        var theta = ThetaColumns(table).Where(Finite).ToArray();
        if (theta.Length > 0) figures.Add(("theta.png", Theta(table, name, theta)));
        var angles = table.Header.Where(h => h.StartsWith("angle_", StringComparison.Ordinal) && Finite(h)).ToArray();
        if (angles.Length > 0)
        {
            var series = angles.Select(c => Series(table, c, $"layer {c["angle_".Length..]}", 1)).ToArray();
            var panel = new Panel("alignment of each layer's teaching signal with backprop's", EpisodeAxis, "angle (degrees)", series);
            figures.Add(("angles.png", Make($"{name}: alignment angles", [panel], series.Select(s => (Layer(s), s.N)))));
        }
        return figures;
    }

    /// <summary>
    /// The θ columns of episodes.csv: the rule's parameters, written after <c>accuracy</c> and before the
    /// setting's measurements (docs/results-format.md), whatever the rule calls them.
    /// </summary>
    public static IReadOnlyList<string> ThetaColumns(CsvTable table)
    {
        int start = table.Header.ToList().IndexOf("accuracy");
        if (start < 0) return [];
        return table.Header.Skip(start + 1).TakeWhile(h => ColumnWords.Of(h, recurrent: false).Unit.Length == 0 && ColumnWords.Of(h, recurrent: true).Unit.Length == 0).ToArray();
    }

    /// <summary>One panel per θ, each with its own y axis: a 1e-3 learning rate and a 0.5 threshold both readable.</summary>
    public static Figure Theta(CsvTable table, string name, IReadOnlyList<string> columns)
    {
        var panels = columns.Select(c =>
        {
            var s = Series(table, c, c, 1);
            return new Panel(c, "episode", "value", [s]);
        }).ToArray();
        return Make($"{name}: meta-parameters θ (one panel each, own scale)", panels, columns.Zip(panels, (c, p) => (c, p.Series[0].N)));
    }

    /// <summary><paramref name="column"/> of several runs on one set of axes, each with its band over its own trials;
    /// accuracies in % with run A's chance line.</summary>
    public static Figure Compare(IReadOnlyList<(string Name, RunFolder Run)> runs, string column)
    {
        var tables = runs.Select(r => r.Run.ReadEpisodes()).ToArray();
        var kind = RunKind.Of(runs[0].Run, tables[0]);
        var q = ColumnWords.Of(column, kind.Recurrent);
        var series = runs.Select((r, i) => Series(tables[i], column, r.Name, q.Scale)).ToArray();
        var panel = new Panel($"{q.Words} per episode", EpisodeAxis, q.AxisLabel, series, q.IsAccuracy ? kind.ChanceOf(column) : null);
        return Make($"{q.Words}: {string.Join(" vs ", runs.Select(r => r.Name))}", [panel], runs.Select((r, i) => (r.Name, series[i].N)));
    }

    /// <summary>The p-value per episode of a one-sided Mann–Whitney test that A's column exceeds B's, with the 0.05 line.</summary>
    public static Figure MannWhitney(string nameA, string nameB, string column, bool recurrent, double[] x, double[] p, int trialsA, int trialsB)
    {
        var q = ColumnWords.Of(column, recurrent);
        var keep = Enumerable.Range(0, x.Length).Where(i => double.IsFinite(p[i])).ToArray();
        var ps = keep.Select(i => p[i]).ToArray();
        var series = new BandSeries($"p that {nameA} > {nameB} (n = {trialsA} vs {trialsB} trials, one sample per trial)",
            keep.Select(i => x[i]).ToArray(), ps, ps, ps, 1);
        var panel = new Panel($"one-sided Mann–Whitney U test per episode", EpisodeAxis, "p-value", [series], new ReferenceLine(0.05, "p = 0.05"));
        var warnings = new[] { (nameA, trialsA), (nameB, trialsB) }.Where(s => s.Item2 < Figure.FewSamples)
            .Select(s => $"{s.Item1}: only n = {s.Item2} trials, fewer than {Figure.FewSamples}: its p-values rest on very few samples (run more trials)").ToArray();
        return new Figure($"{q.Words}: is {nameA} above {nameB}?", ["each episode: one value per trial of each run", .. warnings], [panel], warnings);
    }

    /// <summary>One figure of one quantity: a panel per column (accuracy and each task's), in % with chance for accuracies.</summary>
    static Figure OneQuantityPerPanel(RunFolder run, CsvTable table, RunKind kind, string name, string words, IReadOnlyList<string> columns)
    {
        var panels = columns.Select(c =>
        {
            var q = ColumnWords.Of(c, kind.Recurrent);
            var s = Series(table, c, q.Words, q.Scale);
            // In a grid the panel's title names the quantity; its axis keeps the unit.
            return new Panel(columns.Count == 1 ? "" : q.Words, EpisodeAxis, columns.Count == 1 ? q.AxisLabel : q.Unit, [s], q.IsAccuracy ? kind.ChanceOf(c) : null);
        }).ToArray();
        var figure = Make($"{name}: {words}", panels, panels.Select(p => (p.Title, p.Series[0].N)));
        // Small panels have no room for legends: their dashed lines are named in the caption.
        var dashed = panels.Where(p => p.Reference is not null).Select(p => p.Reference!.Legend).Distinct().ToArray();
        return panels.Length > 1 && dashed.Length > 0 ? figure with { Caption = [$"dashed lines: {string.Join("; ", dashed)}", .. figure.Caption] } : figure;
    }

    /// <summary>A column over trials as a banded series (mean line, 98 % bootstrap band) named <paramref name="legendName"/>.</summary>
    static BandSeries Series(CsvTable table, string column, string legendName, double scale)
    {
        var c = EpisodeCurves.FromTable(table, column);
        return Bands.Of(legendName, Trials, c.Trials, c.X, scale);
    }

    static string Layer(BandSeries s) => s.Legend[..s.Legend.IndexOf(':')];

    static Figure Make(string title, IReadOnlyList<Panel> panels, IEnumerable<(string Name, int N)> series)
    {
        var list = series.ToArray();
        var (caption, warnings) = Bands.Explain(list, Trials);
        // One n for every series: say it once, in the caption.
        var ns = list.Select(s => s.N).Distinct().ToArray();
        if (ns.Length == 1) caption = caption.Replace($"mean over {Trials}", $"mean over n = {ns[0]} {Trials}", StringComparison.Ordinal);
        // Warnings about series of the same n (a run's trials) say it once.
        if (warnings.Length > 0 && ns.Length == 1) warnings = [$"only n = {ns[0]} {(ns[0] == 1 ? "trial" : Trials)}, fewer than {Figure.FewSamples}: the bands are not a reliable estimate (run more {Trials})"];
        return new Figure(title, [caption, .. warnings], panels, warnings);
    }
}
