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
/// rule at fixed θ; trials to criterion (≥ 90 % correct over 100 successive trials) per seed, and a
/// one-sided Mann–Whitney test of whether one rule reaches criterion in fewer trials than another.
/// </summary>
public static class HeldOutLearning
{
    public static LearningRecord Learn(ExperimentSession session, double[] theta, string name, int seed, int trials, string? task = null,
        CancellationToken cancel = default, int? learnAfter = null)
    {
        var spec = session.Spec;
        string taskName = task ?? spec.Task;
        if (!Tasks.Cognitive.CognitiveTasks.Names.Contains(taskName))
            throw new ArgumentException($"unknown task '{taskName}' (tasks: {string.Join(", ", Tasks.Cognitive.CognitiveTasks.Names)})");
        var taskObj = Tasks.Cognitive.CognitiveTasks.Create(taskName, spec.Dt * 1000);
        var config = session.RecurrentConfig() with { Horizon = trials };
        if (learnAfter is int wait) config = config with { LearnAfterTrial = wait };
        var learner = new RecurrentLearner(config, session.RecurrentModel(), session.Rule, new CognitiveTrials(taskObj, (ulong)seed), session.Backend(), seed);
        var correct = new bool[trials];
        var tracker = new CriterionTracker(NetworkAnalysis.CriterionWindow, NetworkAnalysis.CriterionRequired);
        learner.OnTrial = (h, _, ok) => { correct[h] = ok; tracker.Add(ok); };
        var outcome = learner.Run(theta, [], 0, cancel);
        // A network whose weights explode has failed to learn: it counts as never reaching criterion
        // (the trials it did not run count as wrong), and the failure is reported with it.
        return new LearningRecord(name, taskName, seed, correct, outcome.Failure is null ? tracker.TrialsToCriterion : null, outcome.Failure);
    }

    /// <summary>Every (rule, seed) pair, in parallel over the machine's cores.</summary>
    public static IReadOnlyList<LearningRecord> LearnAll(IReadOnlyList<(ExperimentSession Session, double[] Theta, string Name)> rules,
        IReadOnlyList<int> seeds, int trials, string? task, Action<LearningRecord>? done = null, CancellationToken cancel = default, int? learnAfter = null)
    {
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

    /// <summary>Rolling percent correct (window 100) per rule, mean with a 98 % bootstrap band over seeds.</summary>
    public static void PlotCurves(string path, IReadOnlyList<LearningRecord> records)
    {
        var series = records.GroupBy(r => r.Name).Select(g => new CurveSeries(g.Key,
            g.Select(r => (IReadOnlyList<double>)Rolling(r.Correct, NetworkAnalysis.CriterionWindow)).ToList())).ToList();
        Plotter.CurvesWithBands(path, new PlotText($"learning {records[0].Task}: % correct over the last {NetworkAnalysis.CriterionWindow} trials (98 % band over seeds)",
            "learning trial", "% correct"), series);
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
