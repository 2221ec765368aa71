using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using RuleDsl.Runtime.Experiments;
using RuleDsl.Runtime.Plots;
using RuleDsl.Runtime.Results;

namespace RuleDsl;

/// <summary>One row of episodes.csv (docs/results-format.md): a trial's meta-step, with θ after it.</summary>
/// <param name="Trial">The meta-training run (seed + 1000·trial), from 0.</param>
/// <param name="Index">The meta-step, from 0.</param>
/// <param name="MetaLoss">Nats (feedforward query cross-entropy) or −J/H (recurrent).</param>
/// <param name="Penalised">The meta-loss plus the penalty λ·‖θ‖.</param>
/// <param name="Accuracy">Fraction, 0–1.</param>
/// <param name="Theta">θ after the meta-step, by name as in the rule.</param>
/// <param name="Metrics">The setting's other measurements (angle_N, orth_N; J, final_reward, …).</param>
/// <param name="GradNorm">The norm of the meta-gradient with the penalty's, unclipped.</param>
/// <param name="LearningRate">Adam's learning rate at this step.</param>
/// <param name="Seconds">Wall-clock time of the episode.</param>
/// <param name="Failure">Why the episode diverged, or null.</param>
public sealed record Episode(int Trial, int Index, double MetaLoss, double Penalised, double Accuracy,
    IReadOnlyDictionary<string, double> Theta, IReadOnlyDictionary<string, double> Metrics,
    double GradNorm, double LearningRate, double Seconds, string? Failure)
{
    /// <summary>True when the episode diverged (it changed nothing and is left out of the statistics).</summary>
    public bool Diverged => Failure is not null;
}

/// <summary>A results folder read back: run.json's record, every episode, and summary.json (null until
/// the run has finished).</summary>
public sealed class RunResults
{
    /// <summary>The folder.</summary>
    public string Dir => Folder.Dir;

    /// <summary>The runtime's view of the folder (files, checkpoints).</summary>
    public RunFolder Folder { get; }

    /// <summary>The experiment file as it ran.</summary>
    public string ExperimentText => Folder.ExperimentText;

    /// <summary>Every setting as run.json records it.</summary>
    public JsonObject Settings => Folder.Settings;

    /// <summary>The θ names, in column order.</summary>
    public IReadOnlyList<string> ThetaNames { get; }

    /// <summary>Every row of episodes.csv, in the order written.</summary>
    public IReadOnlyList<Episode> Episodes { get; }

    /// <summary>summary.json, or null while the run is unfinished.</summary>
    public ExperimentSession.RunSummary? Summary { get; }

    internal RunResults(RunFolder folder, IReadOnlyList<string> theta, IReadOnlyList<Episode> episodes, ExperimentSession.RunSummary? summary)
    {
        Folder = folder;
        ThetaNames = theta;
        Episodes = episodes;
        Summary = summary;
    }
}

/// <summary>The result of comparing two runs (`ruledsl compare`): a Mann–Whitney U test per window of
/// episodes, and the two figures drawn in the first run's folder.</summary>
public sealed record Comparison(IReadOnlyList<WindowComparison> Windows, string CurvesFigure, string PValuesFigure, IReadOnlyList<string> Caveats);

/// <summary>Results folders: read back, plot, compare.</summary>
public static class Results
{
    // Columns that are neither θ nor the setting's metrics (docs/results-format.md).
    static readonly string[] Fixed = ["trial", "episode", "meta_loss", "penalised", "accuracy", "grad_norm", "lr", "seconds", "failure"];

    static double Cell(string s) => s.Length == 0 ? double.NaN : double.Parse(s, NumberStyles.Float, CultureInfo.InvariantCulture);

    /// <summary>Reads a results folder: run.json, episodes.csv (a line torn by a crash is left out) and
    /// summary.json when there is one.</summary>
    public static Outcome<RunResults> Open(string dir)
    {
        try
        {
            var folder = RunFolder.Open(dir);
            var table = File.Exists(folder.File(RunFolder.EpisodesFile)) ? folder.ReadEpisodes() : null;
            var summaryNode = folder.ReadSummary();
            var summary = summaryNode?.Deserialize<ExperimentSession.RunSummary>(RunFolder.JsonOptions);
            var header = table?.Header ?? [];
            // Without a summary (a run still going), θ is read from the header as the figures read it.
            var theta = summary?.Theta is { } names ? (IReadOnlyList<string>)names
                : table is null ? [] : RunFigures.ThetaColumns(table);
            var metrics = header.Where(c => !Fixed.Contains(c) && !theta.Contains(c)).ToList();
            var episodes = new List<Episode>();
            if (table is not null)
            {
                int Col(string c) => table.ColumnIndex(c);
                foreach (var r in table.Rows)
                {
                    var failure = r[Col("failure")];
                    episodes.Add(new Episode(int.Parse(r[Col("trial")], CultureInfo.InvariantCulture), int.Parse(r[Col("episode")], CultureInfo.InvariantCulture),
                        Cell(r[Col("meta_loss")]), Cell(r[Col("penalised")]), Cell(r[Col("accuracy")]),
                        theta.ToDictionary(t => t, t => Cell(r[Col(t)])), metrics.ToDictionary(m => m, m => Cell(r[Col(m)])),
                        Cell(r[Col("grad_norm")]), Cell(r[Col("lr")]), Cell(r[Col("seconds")]), failure.Length == 0 ? null : failure));
                }
            }
            return Outcome<RunResults>.Of(new RunResults(folder, theta, episodes, summary), []);
        }
        catch (Exception ex) when (ex is ResultsException or IOException or JsonException or FormatException or ArgumentException)
        {
            return Outcome<RunResults>.Failed(dir, ex.Message);
        }
    }

    /// <summary>Draws the standard figures of a run (`ruledsl plot`) in its folder: accuracy and meta-loss
    /// with bootstrap bands over trials, θ trajectories, alignment angles. Returns the files written.</summary>
    public static Outcome<IReadOnlyList<string>> Plot(string dir, string? label = null)
    {
        try
        {
            return Outcome<IReadOnlyList<string>>.Of(RunPlots.Standard(RunFolder.Open(dir), label ?? Path.GetFileName(Path.TrimEndingDirectorySeparator(dir))).ToList(), []);
        }
        catch (Exception ex) when (ex is ResultsException or IOException or ArgumentException or PlotException or NothingToPlotException)
        {
            return Outcome<IReadOnlyList<string>>.Failed(dir, ex.Message);
        }
    }

    /// <summary>Compares run <paramref name="a"/> with run <paramref name="b"/> on an episodes.csv column
    /// (`ruledsl compare`): each trial's mean over a window is one sample; diverged episodes are left out,
    /// or counted as <paramref name="diverged"/> (e.g. chance). The figures go into <paramref name="a"/>.</summary>
    public static Outcome<Comparison> Compare(string a, string b, string column = "accuracy", int window = 50, double? diverged = null)
    {
        try
        {
            var ra = RunFolder.Open(a);
            var rb = RunFolder.Open(b);
            var rows = RunComparison.Compare(ra, rb, column, window, diverged);
            if (rows.Count == 0)
                return Outcome<Comparison>.Failed(a, $"nothing to compare: no episode window has a finite '{column}' in both {a} and {b}");
            string Name(string d) => Path.GetFileName(Path.TrimEndingDirectorySeparator(d));
            var (curves, pValues) = RunComparison.DrawFigures(a, ra, Name(a), rb, Name(b), column);
            return Outcome<Comparison>.Of(new Comparison(rows, curves, pValues, RunComparison.Caveats(ra, rb, rows)), []);
        }
        catch (Exception ex) when (ex is ResultsException or IOException or ArgumentException or PlotException)
        {
            return Outcome<Comparison>.Failed(a, ex.Message);
        }
    }
}
