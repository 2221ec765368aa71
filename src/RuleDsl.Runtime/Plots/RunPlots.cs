using RuleDsl.Runtime.Analysis;
using RuleDsl.Runtime.Results;

namespace RuleDsl.Runtime.Plots;

/// <summary>The standard figures of a run folder, drawn from its episodes.csv (as in the paper's Figs. 3–7 and S7).</summary>
public static class RunPlots
{
    /// <summary>
    /// Writes into the run folder: accuracy.png and meta_loss.png (mean over trials with 98 % bands) when those
    /// columns exist, theta.png for the theta[…] columns, angles.png for columns starting with "angle".
    /// Returns the files written. A column without a finite value gets no figure; a run whose accuracy and
    /// meta-loss have none (every episode diverged) gets none at all (<see cref="NothingToPlotException"/>).
    /// </summary>
    public static IReadOnlyList<string> Standard(RunFolder run, string? label = null)
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
        foreach (var (column, ylabel) in new[] { ("accuracy", "accuracy"), ("meta_loss", "meta-loss") })
        {
            if (!Finite(column)) continue;
            var c = EpisodeCurves.FromTable(table, column);
            var path = run.File(column + ".png");
            Plotter.CurvesWithBands(path, new PlotText($"{name}: {ylabel}", "episode", ylabel), [new CurveSeries(name, c.Trials, c.X)]);
            written.Add(path);
        }
        foreach (var (prefix, file, title, ylabel) in new[] { ("theta", "theta.png", "meta-parameters", "θ"), ("angle", "angles.png", "alignment angles", "angle (degrees)") })
        {
            var columns = table.Header.Where(h => h.StartsWith(prefix, StringComparison.Ordinal) && Finite(h)).ToArray();
            if (columns.Length == 0) continue;
            var series = columns.Select(col =>
            {
                var c = EpisodeCurves.FromTable(table, col);
                return new CurveSeries(col, c.Trials, c.X);
            }).ToArray();
            var path = run.File(file);
            Plotter.CurvesWithBands(path, new PlotText($"{name}: {title}", "episode", ylabel), series);
            written.Add(path);
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

    /// <summary>One column of several runs in one plot (e.g. accuracy of FA, bio and BP), each with its 98 % band.</summary>
    public static void Compare(string path, IReadOnlyList<(string Name, RunFolder Run)> runs, string column, string? ylabel = null)
    {
        var series = runs.Select(r =>
        {
            var c = EpisodeCurves.FromTable(r.Run.ReadEpisodes(), column);
            return new CurveSeries(r.Name, c.Trials, c.X);
        }).ToArray();
        Plotter.CurvesWithBands(path, new PlotText(ylabel ?? column, "episode", ylabel ?? column), series);
    }

    /// <summary>
    /// The p-value per episode of a one-sided Mann–Whitney test that run <paramref name="better"/>'s column exceeds
    /// run <paramref name="baseline"/>'s (Fig. S7), with the 0.05 line. Returns the p-values by episode.
    /// </summary>
    public static double[] MannWhitneyPlot(string path, (string Name, RunFolder Run) better, (string Name, RunFolder Run) baseline,
                                           string column = "accuracy")
    {
        var a = EpisodeCurves.FromTable(better.Run.ReadEpisodes(), column);
        var b = EpisodeCurves.FromTable(baseline.Run.ReadEpisodes(), column);
        // A longer run (e.g. 600 episodes against a 200-episode baseline) is compared over the episodes both have.
        int n = Math.Min(a.Episodes.Length, b.Episodes.Length);
        if (!a.Episodes.AsSpan(0, n).SequenceEqual(b.Episodes.AsSpan(0, n)))
            throw new PlotException($"{path}: the two runs cover different episodes; compare runs whose episodes start alike");
        (a, b) = (a.Take(n), b.Take(n));
        var p = MannWhitney.PValueSeries(a.Trials, b.Trials, Alternative.Greater);
        Plotter.Lines(path, new PlotText($"Mann–Whitney, {column}: {better.Name} > {baseline.Name} (one-sided)", "episode", "p-value"),
            [new LineSeries($"{better.Name} vs {baseline.Name}", a.X, p)], reference: 0.05);
        return p;
    }
}
