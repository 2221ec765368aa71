using RuleDsl.Runtime.Analysis;
using RuleDsl.Runtime.Results;
using RuleDsl.Syntax;

namespace RuleDsl.Runtime.Experiments;

/// <summary>One episode window of a comparison between two runs (section S7 of Shervani-Tabar &amp; Rosenbaum).</summary>
public sealed record WindowComparison(long From, long To, double MeanA, double MeanB, int TrialsA, int TrialsB, double U, double PGreater, double PTwoSided,
    int DivergedA = 0, int DivergedB = 0);

/// <summary>Compares a column of two runs per episode window: each trial contributes its mean over the
/// window, and a Mann–Whitney U test compares the two sets of trials (one-sided A &gt; B and two-sided).</summary>
public static class RunComparison
{
    /// <param name="diverged">The value a diverged episode (a row with a failure) counts as, e.g. chance
    /// accuracy; null leaves diverged episodes out, as their accuracy is not measured.</param>
    public static IReadOnlyList<WindowComparison> Compare(RunFolder a, RunFolder b, string column, int window, double? diverged = null)
    {
        if (window < 1) throw new ArgumentException("the episode window must be at least 1");
        var ta = a.ReadEpisodes();
        var tb = b.ReadEpisodes();
        foreach (var (t, run) in new[] { (ta, a), (tb, b) })
            if (!t.HasColumn(column)) throw new ArgumentException($"{run.Dir}: episodes.csv has no column '{column}'");
        // Each table's columns are parsed once, not once per window.
        var ea = Episodes.Of(ta, column);
        var eb = Episodes.Of(tb, column);
        long last = Math.Min(ea.Episode.DefaultIfEmpty(-1).Max(), eb.Episode.DefaultIfEmpty(-1).Max());
        var rows = new List<WindowComparison>();
        for (long from = 0; from <= last; from += window)
        {
            long to = Math.Min(from + window - 1, last);
            var x = ea.PerTrial(from, to, diverged);
            var y = eb.PerTrial(from, to, diverged);
            if (x.Length == 0 || y.Length == 0) continue;
            var greater = MannWhitney.Test(x, y, Alternative.Greater);
            var two = MannWhitney.Test(x, y, Alternative.TwoSided);
            rows.Add(new WindowComparison(from, to, x.Average(), y.Average(), x.Length, y.Length, greater.U, greater.P, two.P,
                ea.DivergedIn(from, to), eb.DivergedIn(from, to)));
        }
        return rows;
    }

    /// <summary>The figures of a comparison, drawn into <paramref name="folder"/> (A's, as the user named it): both
    /// runs' curves of <paramref name="column"/> and the p-value per window. Named for what they compare (<c>compare_vs_B_C.png</c>,
    /// <c>p_values_vs_B_C.png</c>), so that comparing A with several runs or columns keeps every figure.
    /// <paramref name="warn"/> receives the figures' warnings (a run with fewer than 5 trials).</summary>
    public static (string Curves, string PValues) DrawFigures(string folder, RunFolder a, string nameA, RunFolder b, string nameB, string column,
        Action<string>? warn = null)
    {
        string stem = $"vs_{nameB}_{column}";
        string curves = Path.Combine(folder, $"compare_{stem}.png"), pValues = Path.Combine(folder, $"p_values_{stem}.png");
        foreach (var w in Plots.RunPlots.Compare(curves, [(nameA, a), (nameB, b)], column)) warn?.Invoke(w);
        Plots.RunPlots.MannWhitneyPlot(pValues, (nameA, a), (nameB, b), column);
        return (curves, pValues);
    }

    /// <summary>What a reader of the comparison must know before trusting its p-values: that the test
    /// cannot reach significance with so few trials (with the smallest p it can reach), and which settings
    /// other than the rule and the feedback differ between the two runs (named with both values).</summary>
    public static IReadOnlyList<string> Caveats(RunFolder a, RunFolder b, IReadOnlyList<WindowComparison> rows, double alpha = 0.05)
    {
        var caveats = new List<string>();
        if (rows.Count > 0)
        {
            int m = rows.Min(r => r.TrialsA), n = rows.Min(r => r.TrialsB);
            // The most extreme outcome (every trial of A above every trial of B) gives the smallest p.
            double smallest = MannWhitney.Test(
                Enumerable.Range(0, m).Select(i => n + 1.0 + i).ToArray(), Enumerable.Range(0, n).Select(i => (double)i).ToArray(), Alternative.Greater).P;
            if (smallest > alpha)
                caveats.Add($"with {m} trial{(m == 1 ? "" : "s")} of A and {n} of B per window the smallest one-sided p the test can reach is {smallest:G3}: "
                            + $"no window can show a difference at p < {alpha:G3} (run more trials)");
        }
        var sa = Experiment.parse(a.File(RunFolder.RunFile), a.ExperimentText);
        var sb = Experiment.parse(b.File(RunFolder.RunFile), b.ExperimentText);
        if (sa.IsOk && sb.IsOk)
        {
            // The rule and the feedback are what comparisons compare; where the results go does not matter.
            string[] compared = ["rule", "feedback", "output"];
            var vb = Experiment.values(sb.ResultValue).ToDictionary(kv => kv.Item1, kv => kv.Item2);
            var differ = Experiment.values(sa.ResultValue)
                .Where(kv => !compared.Contains(kv.Item1) && vb[kv.Item1] != kv.Item2)
                .Select(kv => $"{kv.Item1} ({kv.Item2} vs {vb[kv.Item1]})")
                .ToList();
            if (differ.Count > 0)
                caveats.Add($"the runs differ in more than the rule and the feedback: {string.Join(", ", differ)}; a difference in the results may come from these");
        }
        return caveats;
    }

    /// <summary>One run's episodes: trial, episode, the compared column and which rows diverged.</summary>
    sealed record Episodes(long[] Trial, long[] Episode, double[] Value, bool[] Diverged)
    {
        public static Episodes Of(CsvTable t, string column) =>
            new(t.Longs("trial"), t.Longs("episode"), t.Doubles(column), RunFolder.Diverged(t));

        /// <summary>How many episodes in [from, to] diverged, over all trials.</summary>
        public int DivergedIn(long from, long to) =>
            Enumerable.Range(0, Episode.Length).Count(i => Episode[i] >= from && Episode[i] <= to && Diverged[i]);

        /// <summary>Each trial's mean of the column over episodes [from, to] (non-finite values left out,
        /// diverged episodes counted as <paramref name="diverged"/> when it is given).</summary>
        public double[] PerTrial(long from, long to, double? diverged)
        {
            double ValueAt(int i) => diverged is { } d && Diverged[i] ? d : Value[i];
            return Enumerable.Range(0, Value.Length)
                .Where(i => Episode[i] >= from && Episode[i] <= to && double.IsFinite(ValueAt(i)))
                .GroupBy(i => Trial[i])
                .Select(g => g.Average(ValueAt))
                .ToArray();
        }
    }
}
