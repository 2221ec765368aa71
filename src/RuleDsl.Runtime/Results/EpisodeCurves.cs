namespace RuleDsl.Runtime.Results;

/// <summary>
/// A column of episodes.csv arranged per trial: <c>Trials[t][j]</c> is trial <c>TrialIds[t]</c>'s value at episode
/// <c>Episodes[j]</c> (NaN where that trial has no row), ready for bootstrap bands, plots and Mann–Whitney series.
/// </summary>
public sealed record EpisodeCurves(string Column, long[] TrialIds, long[] Episodes, double[][] Trials)
{
    /// <summary>Extracts <paramref name="column"/> of a table with integer "trial" and "episode" columns.</summary>
    public static EpisodeCurves FromTable(CsvTable table, string column)
    {
        var trial = table.Longs("trial");
        var episode = table.Longs("episode");
        var value = table.Doubles(column);
        var trialIds = trial.Distinct().Order().ToArray();
        var episodes = episode.Distinct().Order().ToArray();
        var ti = trialIds.Select((t, i) => (t, i)).ToDictionary(p => p.t, p => p.i);
        var ei = episodes.Select((e, i) => (e, i)).ToDictionary(p => p.e, p => p.i);
        var rows = trialIds.Select(_ => Enumerable.Repeat(double.NaN, episodes.Length).ToArray()).ToArray();
        for (int r = 0; r < value.Length; r++) rows[ti[trial[r]]][ei[episode[r]]] = value[r];
        return new EpisodeCurves(column, trialIds, episodes, rows);
    }

    /// <summary>The first <paramref name="n"/> episodes only (a run compared with a shorter one).</summary>
    public EpisodeCurves Take(int n) => n >= Episodes.Length ? this
        : this with { Episodes = Episodes[..n], Trials = Trials.Select(t => t[..n]).ToArray() };

    /// <summary>The episodes as doubles, for plot x values.</summary>
    public double[] X => Episodes.Select(e => (double)e).ToArray();
}
