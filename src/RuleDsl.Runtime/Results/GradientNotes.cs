using RuleDsl.Runtime.Analysis;

namespace RuleDsl.Runtime.Results;

/// <summary>Notes on a run's meta-gradients, read from its episodes.csv (printed by `ruledsl run`
/// and kept in summary.json).</summary>
public static class GradientNotes
{
    /// <summary>What the meta-gradient norms say about the run. An unclipped norm thousands of times
    /// its trial's median fills Adam's second moment, and for the ~1/(1 − β₂) = 1,000 episodes it is
    /// remembered every later step is tiny: θ stops moving without any error. With `clip`, how often
    /// it acted.</summary>
    public static string[] Of(CsvTable table, IReadOnlyList<string> thetaNames, double clip)
    {
        if (!table.HasColumn("grad_norm")) return [];
        var diverged = RunFolder.Diverged(table);
        var norm = table.Doubles("grad_norm");
        var trial = table.Longs("trial");
        var episode = table.Longs("episode");
        var ok = Enumerable.Range(0, norm.Length).Where(i => !diverged[i] && double.IsFinite(norm[i]) && norm[i] > 0).ToArray();
        var notes = new List<string>();
        if (clip > 0)
        {
            if (ok.Length > 0)
                notes.Add($"the meta-gradient was clipped to norm {clip:G3} in {ok.Count(i => norm[i] > clip)} of {ok.Length} meta-steps");
            return [.. notes];
        }
        var theta = thetaNames.Select(table.Doubles).ToArray();
        foreach (var g in ok.GroupBy(i => trial[i]).OrderBy(g => g.Key))
        {
            double median = Statistics.Median(g.Select(i => norm[i]).ToArray());
            // The first spike matters: from it on, Adam's second moment holds it for ~1/(1 − β₂) = 1,000 episodes.
            int first = g.Where(i => norm[i] > 1e3 * median).DefaultIfEmpty(-1).MinBy(i => i < 0 ? long.MaxValue : episode[i]);
            if (first < 0) continue;
            long at = episode[first];
            // θ's step per episode before the spike, and 20–120 episodes after it (past the momentum's carry).
            var rows = Enumerable.Range(0, norm.Length).Where(i => trial[i] == g.Key).OrderBy(i => episode[i]).ToArray();
            var step = new Dictionary<long, double>();
            for (int k = 1; k < rows.Length; k++)
                step[episode[rows[k]]] = Math.Sqrt(theta.Sum(c => (c[rows[k]] - c[rows[k - 1]]) * (c[rows[k]] - c[rows[k - 1]])));
            var before = step.Where(kv => kv.Key <= at).Select(kv => kv.Value).ToArray();
            var after = step.Where(kv => kv.Key > at + 20 && kv.Key <= at + 120).Select(kv => kv.Value).ToArray();
            double ratio = before.Length < 5 || after.Length == 0 ? double.NaN : Statistics.Median(after) / Statistics.Median(before);
            notes.Add($"trial {g.Key}: a meta-gradient of norm {norm[first]:G3} at episode {at}, {norm[first] / median:G2} times the trial's median ({median:G3})"
                + (double.IsFinite(ratio) ? $"; 20–120 episodes later θ moved {ratio:G2} times as far per episode as before it" : "")
                + (!double.IsFinite(ratio) || ratio < 0.1 ? ". Adam's second moment remembers such a gradient for ~1,000 episodes and keeps every later step small: set `clip` near the median norm" : ""));
        }
        return [.. notes];
    }

    /// <summary>Whether the trials agree on where θ goes: for each θ, in how many meta-steps every trial
    /// moved it the same way. Independent trials agree by chance in 2^(1−T) of the steps whatever the
    /// momentum, so a θ near that is moved by noise more than by its meta-gradient, however far it
    /// ends from its start; far below it, the trials step against each other, e.g. towards one value
    /// from opposite sides. Each θ's count is judged against Binomial(steps, 2^(1−T)) at 5 % one-sided
    /// either way, so the words follow the counts. Nothing with one trial, or when no θ moved (lr = 0).</summary>
    public static string[] Agreement(CsvTable table, IReadOnlyList<string> thetaNames)
    {
        var trial = table.Longs("trial");
        var episode = table.Longs("episode");
        var trials = trial.Distinct().ToArray();
        if (trials.Length < 2 || thetaNames.Count == 0) return [];
        var theta = thetaNames.Select(table.Doubles).ToArray();
        // θ of each trial by episode (a replayed episode's row is the same row again).
        var at = trials.ToDictionary(t => t, t => Enumerable.Range(0, trial.Length).Where(i => trial[i] == t)
            .GroupBy(i => episode[i]).ToDictionary(g => g.Key, g => g.First()));
        var steps = at[trials[0]].Keys.Where(e => trials.All(t => at[t].ContainsKey(e) && at[t].ContainsKey(e - 1))).ToArray();
        // No step all trials have, or none moved any θ (lr = 0): nothing to say.
        if (!theta.Any(c => steps.Any(e => trials.Any(t => c[at[t][e]] != c[at[t][e - 1]])))) return [];
        var agree = theta.Select(c => steps.Count(e =>
        {
            var d = trials.Select(t => c[at[t][e]] - c[at[t][e - 1]]).ToArray();
            return d.All(x => x > 0) || d.All(x => x < 0);
        })).ToArray();
        double p = Math.Pow(2, 1 - trials.Length);
        // Each θ's count against Binomial(steps, p), one-sided at 5 % either way: the words follow the counts.
        string Verdict(int k)
        {
            var b = new MathNet.Numerics.Distributions.Binomial(p, steps.Length);
            if (k > 0 && 1 - b.CumulativeDistribution(k - 1) < 0.05) return "more often than chance";
            if (b.CumulativeDistribution(k) < 0.05) return "less often than chance";
            return "near chance";
        }
        var groups = thetaNames.Select((n, r) => (n, v: Verdict(agree[r]))).GroupBy(x => x.v).ToDictionary(g => g.Key, g => g.Select(x => x.n).ToArray());
        string Who(string v) => groups[v].Length == thetaNames.Count ? (thetaNames.Count == 1 ? "θ" : "every θ") : string.Join(", ", groups[v]);
        var said = new List<string>();
        if (groups.ContainsKey("more often than chance")) said.Add($"{Who("more often than chance")}: more often than chance, moved by its meta-gradient more than by noise");
        if (groups.ContainsKey("near chance")) said.Add($"{Who("near chance")}: near chance, moved by noise more than by its meta-gradient");
        if (groups.ContainsKey("less often than chance")) said.Add($"{Who("less often than chance")}: less often than chance, the trials move it against each other (to one value from opposite sides, or apart: compare their final θ)");
        return [$"all {trials.Length} trials moved θ the same way in (of {steps.Length} meta-steps; {100 * p:G3} % by chance): "
            + string.Join(", ", thetaNames.Select((n, r) => $"{n} {agree[r]}"))
            + " — " + string.Join("; ", said)];
    }
}
