using RuleDsl.Runtime.Analysis;
using RuleDsl.Runtime.Results;

namespace RuleDsl.Runtime.Plots;

/// <summary>The standard figures of a run folder, drawn from its episodes.csv (as in the paper's Figs. 3–7 and S7);
/// what each shows is built, as data, by <see cref="RunFigures"/>.</summary>
public static class RunPlots
{
    /// <summary>
    /// Writes into the run folder: accuracy.png (in %, with the chance line) and meta_loss.png when those columns
    /// exist, theta.png (one panel per θ), angles.png for the alignment angles, theta_grid.png for a θ[k,l] family.
    /// Returns the files written; <paramref name="warn"/> receives each figure's warnings (fewer than 5 trials),
    /// which are also written under its title. A column without a finite value gets no figure; a run whose
    /// accuracy and meta-loss have none (every episode diverged) gets none at all (<see cref="NothingToPlotException"/>).
    /// </summary>
    public static IReadOnlyList<string> Standard(RunFolder run, string? label = null, Action<string>? warn = null)
    {
        var table = run.ReadEpisodes();
        var episodesFile = run.File(RunFolder.EpisodesFile);
        if (table.Rows.Count == 0) throw new NothingToPlotException($"{episodesFile}: nothing to draw: no complete episode rows");
        bool Finite(string column) => table.HasColumn(column) && table.Doubles(column).Any(double.IsFinite);
        if (!Finite("accuracy") && !Finite("meta_loss"))
            throw new NothingToPlotException($"{episodesFile}: nothing to draw: none of its {table.Rows.Count} episodes has a finite accuracy or meta-loss "
                + $"({RunFolder.Diverged(table).Count(d => d)} diverged)");
        var name = label ?? Path.GetFileName(run.Dir);
        var written = new List<string>();
        var warned = new HashSet<string>();
        foreach (var (file, figure) in RunFigures.Standard(run, table, name))
        {
            var path = run.File(file);
            FigureRenderer.Render(figure, path);
            written.Add(path);
            // Every figure of a run has the same trials: one warning, not one per figure.
            foreach (var w in figure.Warnings) if (warned.Add(w)) warn?.Invoke($"{name}: {w}");
        }
        if (ThetaGrid(table) is { } grid)
        {
            var path = run.File("theta_grid.png");
            Plotter.HeatMap(path, new PlotText($"{name}: θ[k,l] after the last episode (mean over trials)", "l (power of x̄ − x)", "k (power of r)"),
                grid.Values, grid.Ls, grid.Ks, "θ");
            written.Add(path);
        }
        return written;
    }

    /// <summary>A two-index family theta[k,l] (the neo-Hebbian grid) as a matrix: the last episode of
    /// each trial, averaged over trials; null when the run's θ is not such a grid.</summary>
    public static (double[,] Values, double[] Ks, double[] Ls)? ThetaGrid(CsvTable table)
    {
        var cells = table.Header
            .Select(h => System.Text.RegularExpressions.Regex.Match(h, @"^theta\[(\d+),(\d+)\]$"))
            .Where(m => m.Success)
            .Select(m => (Column: m.Value, K: int.Parse(m.Groups[1].Value), L: int.Parse(m.Groups[2].Value)))
            .ToArray();
        if (cells.Length < 2) return null;
        int kMax = cells.Max(c => c.K), lMax = cells.Max(c => c.L);
        var values = new double[kMax + 1, lMax + 1];
        for (int k = 0; k <= kMax; k++) for (int l = 0; l <= lMax; l++) values[k, l] = double.NaN;
        foreach (var c in cells)
        {
            var curve = EpisodeCurves.FromTable(table, c.Column);
            values[c.K, c.L] = curve.Trials.Select(t => t.LastOrDefault(double.IsFinite, double.NaN)).Where(double.IsFinite).DefaultIfEmpty(double.NaN).Average();
        }
        return (values, Enumerable.Range(0, kMax + 1).Select(k => (double)k).ToArray(), Enumerable.Range(0, lMax + 1).Select(l => (double)l).ToArray());
    }

    /// <summary>One column of several runs in one plot (e.g. accuracy of FA, bio and BP), each with its 98 % band
    /// (<see cref="RunFigures.Compare"/>). Returns the figure's warnings (a run with fewer than 5 trials).</summary>
    public static IReadOnlyList<string> Compare(string path, IReadOnlyList<(string Name, RunFolder Run)> runs, string column)
    {
        var figure = RunFigures.Compare(runs, column);
        FigureRenderer.Render(figure, path);
        return figure.Warnings;
    }

    /// <summary>
    /// The p-value per episode of a one-sided Mann–Whitney test that run <paramref name="better"/>'s column exceeds
    /// run <paramref name="baseline"/>'s (Fig. S7), with the 0.05 line. Returns the p-values by episode.
    /// </summary>
    public static double[] MannWhitneyPlot(string path, (string Name, RunFolder Run) better, (string Name, RunFolder Run) baseline,
                                           string column = "accuracy")
    {
        var ta = better.Run.ReadEpisodes();
        var a = EpisodeCurves.FromTable(ta, column);
        var b = EpisodeCurves.FromTable(baseline.Run.ReadEpisodes(), column);
        // A longer run (e.g. 600 episodes against a 200-episode baseline) is compared over the episodes both have.
        int n = Math.Min(a.Episodes.Length, b.Episodes.Length);
        if (!a.Episodes.AsSpan(0, n).SequenceEqual(b.Episodes.AsSpan(0, n)))
            throw new PlotException($"{path}: the two runs cover different episodes; compare runs whose episodes start alike");
        (a, b) = (a.Take(n), b.Take(n));
        var p = Analysis.MannWhitney.PValueSeries(a.Trials, b.Trials, Alternative.Greater);
        var figure = RunFigures.MannWhitney(better.Name, baseline.Name, column, RunKind.Of(better.Run, ta).Recurrent, a.X, p, a.Trials.Length, b.Trials.Length);
        FigureRenderer.Render(figure, path);
        return p;
    }
}
