using RuleDsl.Runtime.Analysis;
using RuleDsl.Runtime.Engine.Recurrent;
using RuleDsl.Runtime.Plots;
using RuleDsl.Runtime.Reference;

namespace RuleDsl.Runtime.Experiments;

/// <summary>One fresh network learning with a rule: correct/incorrect per trial, trials to criterion.</summary>
public sealed record LearningRecord(string Name, string Task, int Seed, bool[] Correct, int? TrialsToCriterion, string? Failure = null)
{
    /// <summary>Percent correct over the last 100 trials.</summary>
    public double FinalAccuracy => Correct.Length == 0 ? double.NaN : Correct.TakeLast(100).Average(c => c ? 1.0 : 0.0);

    /// <summary>Trials to criterion for ranking: a run that never reached it ranks after every run that
    /// did (the horizon + 1: censored, which a rank test treats honestly as "worst").</summary>
    public double RankValue => TrialsToCriterion ?? Correct.Length + 1;
}

/// <summary>
/// Held-out evaluation of learning rules in the recurrent setting: fresh networks on seeds (and, if
/// asked, a task) the rule was not meta-trained on, each learning for a number of trials with the
/// rule at fixed θ; trials to criterion (the experiment's `criterion`: by default ≥ 90 % correct over 100
/// successive trials) per seed, and a one-sided test of whether one rule reaches criterion in fewer
/// trials than another: Wilcoxon signed-rank on the seeds both learned (the paired design), and Mann–Whitney ignoring the pairing.
/// </summary>
public static class HeldOutLearning
{
    public static LearningRecord Learn(ExperimentSession session, double[] theta, string name, int seed, int trials, string? task = null,
        CancellationToken cancel = default, int? learnAfter = null)
    {
        var taskObj = session.RecurrentTask(task);
        var config = session.RecurrentConfig() with { Horizon = trials };
        if (learnAfter is int wait) config = config with { LearnAfterTrial = wait };
        var learner = new RecurrentLearner(config, session.RecurrentModel(), session.Rule, new CognitiveTrials(taskObj, (ulong)seed), session.Backend(), seed);
        var correct = new bool[trials];
        var tracker = CriterionTracker.Of(config.Criterion, config.CriterionWindow);
        learner.OnTrial = (h, _, ok) => { correct[h] = ok; tracker.Add(ok); };
        var outcome = learner.Run(theta, [], 0, cancel);
        // A network whose weights explode has failed to learn: it counts as never reaching criterion
        // (the trials it did not run count as wrong), and the failure is reported with it.
        return new LearningRecord(name, taskObj.Name, seed, correct, outcome.Failure is null ? tracker.TrialsToCriterion : null, outcome.Failure);
    }

    /// <summary>Every (rule, seed) pair, in parallel over the machine's cores. The rules are compared by trials to
    /// criterion, so their experiments must count it alike.</summary>
    public static IReadOnlyList<LearningRecord> LearnAll(IReadOnlyList<(ExperimentSession Session, double[] Theta, string Name)> rules,
        IReadOnlyList<int> seeds, int trials, string? task, Action<LearningRecord>? done = null, CancellationToken cancel = default, int? learnAfter = null)
    {
        if (rules.Select(r => (r.Session.Spec.Criterion, r.Session.Spec.CriterionWindow)).Distinct().Count() > 1)
            throw new ArgumentException("the experiments give different `criterion` or `criterion_window` settings ("
                + string.Join(", ", rules.Select(r => $"{r.Name}: {r.Session.Spec.Criterion:G} of {r.Session.Spec.CriterionWindow}"))
                + "); trials to criterion of different criteria cannot be compared");
        var jobs = rules.SelectMany(r => seeds.Select(s => (r.Session, r.Theta, r.Name, Seed: s))).ToArray();
        var results = new LearningRecord[jobs.Length];
        var gate = new object();
        Parallel.For(0, jobs.Length, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount, CancellationToken = cancel }, i =>
        {
            var j = jobs[i];
            results[i] = Learn(j.Session, j.Theta, j.Name, j.Seed, trials, task, cancel, learnAfter);
            lock (gate) done?.Invoke(results[i]);
        });
        return results;
    }

    /// <summary>One-sided Mann–Whitney: does <paramref name="a"/> reach criterion in fewer trials than <paramref name="b"/>?</summary>
    public static MannWhitneyResult Fewer(IEnumerable<LearningRecord> a, IEnumerable<LearningRecord> b) =>
        MannWhitney.Test(a.Select(r => r.RankValue).ToArray(), b.Select(r => r.RankValue).ToArray(), Alternative.Less);

    /// <summary>
    /// One-sided Wilcoxon signed-rank test on seeds both rules learned: does <paramref name="a"/> reach
    /// criterion in fewer trials than <paramref name="b"/> on the same seed? A seed gives both rules the
    /// same fresh network, trial sequence and noise stream, so the per-seed differences are the paired
    /// samples. Also counts the seeds where a is faster, slower, or tied, and gives the median of the
    /// differences a − b (the effect's size in trials: a small one can be very significant when it
    /// is consistent).
    /// </summary>
    public static (WilcoxonResult Test, int Faster, int Slower, int Tied, double MedianDifference) FewerPaired(IEnumerable<LearningRecord> a, IEnumerable<LearningRecord> b)
    {
        var bySeed = b.GroupBy(r => r.Seed).ToDictionary(g => g.Key, g => g.First().RankValue);
        var pairs = a.Where(r => bySeed.ContainsKey(r.Seed)).OrderBy(r => r.Seed).Select(r => (A: r.RankValue, B: bySeed[r.Seed])).ToArray();
        if (pairs.Length == 0) throw new ArgumentException("the two rules share no seed: a paired test needs both on the same seeds");
        var test = Wilcoxon.Test(pairs.Select(p => p.A).ToArray(), pairs.Select(p => p.B).ToArray(), Alternative.Less);
        double median = Statistics.Median(pairs.Select(p => p.A - p.B).ToArray());
        return (test, pairs.Count(p => p.A < p.B), pairs.Count(p => p.A > p.B), pairs.Count(p => p.A == p.B), median);
    }

    /// <summary>Rolling percent correct over <paramref name="window"/> trials (the criterion's) per rule, mean with a
    /// 98 % bootstrap band over seeds, and the task's chance line, drawn into <paramref name="path"/>; returns the
    /// figure's warnings (a rule with fewer than 5 seeds).</summary>
    public static IReadOnlyList<string> PlotCurves(string path, IReadOnlyList<LearningRecord> records, int window)
    {
        var figure = LearningFigure(records, window);
        FigureRenderer.Render(figure, path);
        return figure.Warnings;
    }

    /// <summary>The learning curves as a figure, before drawing: one series per rule over its seeds.</summary>
    public static Figure LearningFigure(IReadOnlyList<LearningRecord> records, int window)
    {
        if (records.Count == 0) throw new PlotException("no learning record to draw");
        string task = records[0].Task;
        var series = records.GroupBy(r => r.Name).Select(g => Bands.Of(g.Key, "seeds",
            g.Select(r => (IReadOnlyList<double>)Rolling(r.Correct, window)).ToList())).ToList();
        var chance = Tasks.Cognitive.CognitiveTasks.Names.Contains(task) ? RunKind.ChanceOfTask(task) : null;
        var panel = new Panel($"held-out networks learning {task}", "learning trial", $"correct over the last {window} trials (%)", series, chance);
        var (caption, warnings) = Bands.Explain(series.Select(s => (s.Legend[..s.Legend.IndexOf(':')], s.N)), "seeds");
        return new Figure($"learning {task} with each rule at fixed θ", [caption, .. warnings], [panel], warnings);
    }

    static double[] Rolling(bool[] correct, int window)
    {
        var y = new double[correct.Length];
        int sum = 0;
        for (int t = 0; t < correct.Length; t++)
        {
            sum += correct[t] ? 1 : 0;
            if (t >= window) sum -= correct[t - window] ? 1 : 0;
            y[t] = 100.0 * sum / Math.Min(t + 1, window);
        }
        return y;
    }
}

/// <summary>
/// The files `ruledsl learn` writes as each network finishes: learning.csv (trials to criterion,
/// final accuracy, failure) and learning_trials.csv (each network's trials as a string of 0/1), from
/// which an interrupted comparison is read back whole.
/// </summary>
public static class LearningLog
{
    public const string CsvHeader = "rule,task,seed,trials_to_criterion,final_accuracy,failure";
    public const string TrialsHeader = "rule,task,seed,correct";

    public static void Append(TextWriter csv, TextWriter trials, LearningRecord r)
    {
        csv.WriteLine($"{r.Name},{r.Task},{r.Seed},{r.TrialsToCriterion?.ToString() ?? ""},{r.FinalAccuracy.ToString("G4", System.Globalization.CultureInfo.InvariantCulture)},\"{r.Failure?.Replace("\"", "'") ?? ""}\"");
        trials.WriteLine($"{r.Name},{r.Task},{r.Seed},{new string(r.Correct.Select(c => c ? '1' : '0').ToArray())}");
    }

    /// <summary>The records of rules <paramref name="names"/> on <paramref name="seeds"/> with
    /// <paramref name="trials"/> trials; lines cut short by an interruption, and networks whose trial
    /// record is missing, are left out (they are learned again).</summary>
    public static List<LearningRecord> Read(string csvPath, string trialsPath, ISet<string> names, ISet<int> seeds, int trials)
    {
        var correct = new Dictionary<(string, int), bool[]>();
        if (File.Exists(trialsPath))
            foreach (var line in File.ReadLines(trialsPath).Skip(1))
            {
                var f = line.Split(',');
                if (f.Length != 4 || f[3].Length != trials || !int.TryParse(f[2], out int seed)) continue;
                correct[(f[0], seed)] = f[3].Select(c => c == '1').ToArray();
            }
        var records = new List<LearningRecord>();
        var seen = new HashSet<(string, int)>();
        foreach (var line in File.ReadLines(csvPath).Skip(1))
        {
            var f = line.Split(',', 6);
            if (f.Length != 6 || !f[5].EndsWith('"') || !int.TryParse(f[2], out int seed) || !names.Contains(f[0]) || !seeds.Contains(seed)) continue;
            if (!correct.TryGetValue((f[0], seed), out var c) || !seen.Add((f[0], seed))) continue;
            int? ttc = int.TryParse(f[3], out int t) ? t : null;
            string failure = f[5].Trim().Trim('"');
            records.Add(new LearningRecord(f[0], f[1], seed, c, ttc, failure.Length == 0 ? null : failure));
        }
        return records;
    }
}
