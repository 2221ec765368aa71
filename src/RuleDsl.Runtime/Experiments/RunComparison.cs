using RuleDsl.Runtime.Analysis;
using RuleDsl.Runtime.Results;

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
        long last = Math.Min(ta.Longs("episode").DefaultIfEmpty(-1).Max(), tb.Longs("episode").DefaultIfEmpty(-1).Max());
        var rows = new List<WindowComparison>();
        for (long from = 0; from <= last; from += window)
        {
            long to = Math.Min(from + window - 1, last);
            var x = PerTrial(ta, column, from, to, diverged);
            var y = PerTrial(tb, column, from, to, diverged);
            if (x.Length == 0 || y.Length == 0) continue;
            var greater = MannWhitney.Test(x, y, Alternative.Greater);
            var two = MannWhitney.Test(x, y, Alternative.TwoSided);
            rows.Add(new WindowComparison(from, to, x.Average(), y.Average(), x.Length, y.Length, greater.U, greater.P, two.P,
                Diverged(ta, from, to), Diverged(tb, from, to)));
        }
        return rows;
    }

    /// <summary>How many episodes in [from, to] diverged (rows with a failure), over all trials.</summary>
    static int Diverged(CsvTable t, long from, long to)
    {
        if (!t.HasColumn("failure")) return 0;
        var episode = t.Longs("episode");
        int f = t.ColumnIndex("failure");
        return Enumerable.Range(0, episode.Length).Count(i => episode[i] >= from && episode[i] <= to && t.Rows[i][f] != "");
    }

    /// <summary>Each trial's mean of the column over episodes [from, to] (non-finite values left out,
    /// diverged episodes counted as <paramref name="diverged"/> when it is given).</summary>
    static double[] PerTrial(CsvTable t, string column, long from, long to, double? diverged)
    {
        var trial = t.Longs("trial");
        var episode = t.Longs("episode");
        var v = t.Doubles(column);
        int f = t.HasColumn("failure") ? t.ColumnIndex("failure") : -1;
        double Value(int i) => diverged is { } d && f >= 0 && t.Rows[i][f] != "" ? d : v[i];
        return Enumerable.Range(0, v.Length)
            .Where(i => episode[i] >= from && episode[i] <= to && double.IsFinite(Value(i)))
            .GroupBy(i => trial[i])
            .Select(g => g.Average(Value))
            .ToArray();
    }
}
