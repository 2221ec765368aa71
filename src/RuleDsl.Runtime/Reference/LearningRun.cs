using System.Diagnostics;
using System.Globalization;
using RuleDsl.Runtime.Tasks.Cognitive;

namespace RuleDsl.Runtime.Reference;

/// <summary>
/// Trials to criterion: <see cref="Reached"/> becomes true at the first trial n (1-based count) at which
/// the last <see cref="Window"/> trials hold at least <see cref="Required"/> correct ones; that n is the
/// number of trials to criterion. The defaults are Miconi's criterion, 95 correct of 100 successive
/// trials, which the reference learner (<see cref="MiconiExperiment"/>) uses; experiments use their
/// `criterion` and `criterion_window` settings (by default 90 % of 100: <see cref="Of"/>).
/// </summary>
public sealed class CriterionTracker
{
    private readonly bool[] _window;
    private int _count, _correctInWindow;

    public CriterionTracker(int window = 100, int required = 95)
    {
        if (window <= 0 || required <= 0 || required > window) throw new ArgumentException("need 0 < required ≤ window.");
        _window = new bool[window];
        Required = required;
    }

    /// <summary>A tracker that needs at least the fraction <paramref name="fraction"/> of <paramref name="window"/>
    /// trials correct (0.9 of 100: 90; the tolerance keeps 0.55 × 100 at 55, not 56).</summary>
    public static CriterionTracker Of(double fraction, int window) => new(window, (int)Math.Ceiling(fraction * window - 1e-9));

    public int Window => _window.Length;
    public int Required { get; }

    /// <summary>Trials seen so far.</summary>
    public int Count => _count;

    /// <summary>The trial count at which the criterion was first met, or null.</summary>
    public int? TrialsToCriterion { get; private set; }

    public bool Reached => TrialsToCriterion.HasValue;

    /// <summary>Correct trials among the last <see cref="Window"/> (fewer at the start).</summary>
    public int CorrectInWindow => _correctInWindow;

    public void Add(bool correct)
    {
        int slot = _count % _window.Length;
        if (_count >= _window.Length && _window[slot]) _correctInWindow--;
        _window[slot] = correct;
        if (correct) _correctInWindow++;
        _count++;
        if (TrialsToCriterion is null && _count >= _window.Length && _correctInWindow >= Required)
            TrialsToCriterion = _count;
    }
}

/// <summary>A learning run: trial errors, correctness, and trials to criterion.</summary>
public sealed record LearningRun(
    string Task,
    ulong Seed,
    int? TrialsToCriterion,
    int TrialsRun,
    double[] Errors,
    bool[] Correct,
    double Seconds)
{
    /// <summary>Mean error over trials [from, to).</summary>
    public double MeanError(int from, int to) => Errors[from..to].Average();

    /// <summary>Fraction correct over trials [from, to).</summary>
    public double FractionCorrect(int from, int to) => Correct[from..to].Count(c => c) / (double)(to - from);
}

/// <summary>Runs the reference learner to criterion; the reproduction of Miconi's Fig. 1 result.</summary>
public static class MiconiExperiment
{
    /// <summary>
    /// Trains a fresh network on <paramref name="task"/> until the criterion is met or
    /// <paramref name="maxTrials"/> trials have run. With <paramref name="continueAfterCriterion"/> it
    /// runs all <paramref name="maxTrials"/> trials anyway (for learning curves).
    /// </summary>
    public static LearningRun Run(ICognitiveTask task, MiconiSettings settings, int maxTrials,
                                  bool continueAfterCriterion = false, int window = 100, int required = 95)
    {
        var sw = Stopwatch.StartNew();
        var learner = new MiconiLearner(task, settings);
        var tracker = new CriterionTracker(window, required);
        var errors = new List<double>();
        var correct = new List<bool>();
        while (learner.TrialsRun < maxTrials && (continueAfterCriterion || !tracker.Reached))
        {
            var o = learner.RunTrial();
            errors.Add(o.Error);
            correct.Add(o.Correct);
            tracker.Add(o.Correct);
        }
        return new LearningRun(task.Name, settings.Seed, tracker.TrialsToCriterion, learner.TrialsRun,
                               errors.ToArray(), correct.ToArray(), sw.Elapsed.TotalSeconds);
    }

    /// <summary>
    /// Runs one seed after another, each to the criterion (<paramref name="required"/> correct of
    /// <paramref name="window"/>), and appends one CSV line per finished run to <paramref name="output"/>
    /// (flushed at once, so a run in the background leaves its results as it goes):
    /// task,seed,trials_to_criterion (empty if not reached),trials_run,seconds,final_error_100.
    /// </summary>
    public static List<LearningRun> RunSeeds(Func<ICognitiveTask> task, MiconiSettings settings, IEnumerable<ulong> seeds,
                                             int maxTrials, TextWriter output, int window = 100, int required = 95)
    {
        var runs = new List<LearningRun>();
        foreach (var seed in seeds)
        {
            var run = Run(task(), settings with { Seed = seed, TaskSeed = null }, maxTrials, window: window, required: required);
            runs.Add(run);
            output.WriteLine(CsvLine(run));
            output.Flush();
        }
        return runs;
    }

    public const string CsvHeader = "task,seed,trials_to_criterion,trials_run,seconds,mean_error_last100";

    public static string CsvLine(LearningRun run)
    {
        int n = run.Errors.Length;
        double last = n == 0 ? double.NaN : run.MeanError(Math.Max(0, n - 100), n);
        return string.Join(",",
            run.Task,
            run.Seed.ToString(CultureInfo.InvariantCulture),
            run.TrialsToCriterion?.ToString(CultureInfo.InvariantCulture) ?? "",
            run.TrialsRun.ToString(CultureInfo.InvariantCulture),
            run.Seconds.ToString("F1", CultureInfo.InvariantCulture),
            last.ToString("F4", CultureInfo.InvariantCulture));
    }

    /// <summary>
    /// Median and inter-quartile range of trials to criterion, counting runs that never reached it as
    /// +∞ (so they raise the statistics rather than vanish from them). Quartiles by linear interpolation
    /// between order statistics (type 7, the default of R and NumPy).
    /// </summary>
    public static (double Median, double Q1, double Q3, int Failures) Summary(IEnumerable<int?> trialsToCriterion)
    {
        var v = trialsToCriterion.Select(t => t.HasValue ? (double)t.Value : double.PositiveInfinity).OrderBy(a => a).ToArray();
        if (v.Length == 0) throw new ArgumentException("no runs to summarise.");
        return (Quantile(v, 0.5), Quantile(v, 0.25), Quantile(v, 0.75), v.Count(double.IsPositiveInfinity));
    }

    private static double Quantile(double[] sorted, double q)
    {
        double pos = q * (sorted.Length - 1);
        int lo = (int)Math.Floor(pos), hi = (int)Math.Ceiling(pos);
        if (lo == hi || double.IsPositiveInfinity(sorted[hi]) && sorted[lo] == sorted[hi]) return sorted[lo];
        if (double.IsPositiveInfinity(sorted[hi])) return double.PositiveInfinity;
        return sorted[lo] + (pos - lo) * (sorted[hi] - sorted[lo]);
    }
}
