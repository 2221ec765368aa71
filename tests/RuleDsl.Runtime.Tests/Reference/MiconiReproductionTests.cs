using System.Diagnostics;
using System.Globalization;
using RuleDsl.Runtime.Reference;
using RuleDsl.Runtime.Tasks.Cognitive;
using Xunit.Abstractions;

namespace RuleDsl.Runtime.Tests.Reference;

/// <summary>
/// The long reproductions (RULEDSL_LONG=1). Each appends one CSV line per finished run, so a run in the
/// background leaves its results as it goes. Environment:
///   RULEDSL_MICONI_OUT      output CSV (default: miconi-&lt;test&gt;.csv in the working directory)
///   RULEDSL_MICONI_SEEDS    first-last seeds, e.g. "0-39" (default 0-199; stops at the CPU budget)
///   RULEDSL_MICONI_BUDGET   CPU minutes after which no new seed is started (default 25)
///   RULEDSL_MICONI_TASKS    tasks for the generic test (default: the three non-DNMS tasks)
///   RULEDSL_MICONI_REQUIRED correct trials of 100 that make the DNMS criterion (default 95, Miconi's;
///                           90 is the engine's `ruledsl learn`)
/// </summary>
public class MiconiReproductionTests(ITestOutputHelper log)
{
    private const int MaxTrials = 6000;

    [LongFact]
    public void Dnms_trials_to_criterion_match_Miconi()
    {
        var path = Env("RULEDSL_MICONI_OUT", "miconi-dnms.csv");
        var (first, last) = SeedRange(Env("RULEDSL_MICONI_SEEDS", "0-199"));
        double budgetMin = double.Parse(Env("RULEDSL_MICONI_BUDGET", "25"), CultureInfo.InvariantCulture);
        int required = int.Parse(Env("RULEDSL_MICONI_REQUIRED", "95"), CultureInfo.InvariantCulture);
        var cpu = Process.GetCurrentProcess();
        var start = cpu.TotalProcessorTime;
        var runs = new List<LearningRun>();
        using (var w = new StreamWriter(path, append: false))
        {
            w.WriteLine(MiconiExperiment.CsvHeader);
            for (ulong seed = first; seed <= last; seed++)
            {
                cpu.Refresh();
                if ((cpu.TotalProcessorTime - start).TotalMinutes > budgetMin) break;
                runs.AddRange(MiconiExperiment.RunSeeds(() => new DnmsTask(), MiconiSettings.Default, [seed], MaxTrials, w, required: required));
            }
        }
        var (median, q1, q3, failures) = MiconiExperiment.Summary(runs.Select(r => r.TrialsToCriterion));
        string summary = $"DNMS, {runs.Count} seeds, criterion {required} of 100: median {median} trials to criterion (IQR {q1}–{q3}), {failures} not within {MaxTrials}; Miconi: 843 (692–1125)";
        log.WriteLine(summary);
        File.AppendAllText(path, "# " + summary + "\n");
        // Miconi's 20-run median is 843; a faithful reimplementation lands in the same range.
        Assert.True(runs.Count >= 5, "too few seeds finished to judge");
        Assert.InRange(median, 500, 1500);
        Assert.True(failures <= runs.Count / 10, $"{failures} of {runs.Count} runs never reached criterion");
    }

    [LongFact]
    public void Generic_tasks_learning_within_6000_trials()
    {
        var path = Env("RULEDSL_MICONI_OUT", "miconi-tasks.csv");
        var tasks = Env("RULEDSL_MICONI_TASKS", "perceptual-decision,context-integration,go-nogo").Split(',');
        var (first, last) = SeedRange(Env("RULEDSL_MICONI_SEEDS", "0-0"));
        using var w = new StreamWriter(path, append: false);
        w.WriteLine(MiconiExperiment.CsvHeader + ",correct_first500,correct_last500,error_first500,error_last500");
        foreach (var name in tasks)
            for (ulong seed = first; seed <= last; seed++)
            {
                // Full 6000 trials for a learning curve; criterion is read off on the way.
                var run = MiconiExperiment.Run(CognitiveTasks.Create(name), MiconiSettings.Default with { Seed = seed }, MaxTrials, continueAfterCriterion: true);
                int n = run.Errors.Length;
                string line = string.Join(",", MiconiExperiment.CsvLine(run),
                    F(run.FractionCorrect(0, 500)), F(run.FractionCorrect(n - 500, n)), F(run.MeanError(0, 500)), F(run.MeanError(n - 500, n)));
                w.WriteLine(line);
                w.Flush();
                log.WriteLine(line);
            }
    }

    private static string F(double v) => v.ToString("F3", CultureInfo.InvariantCulture);

    private static string Env(string name, string fallback) => Environment.GetEnvironmentVariable(name) is { Length: > 0 } v ? v : fallback;

    private static (ulong First, ulong Last) SeedRange(string spec)
    {
        var parts = spec.Split('-');
        ulong a = ulong.Parse(parts[0], CultureInfo.InvariantCulture);
        ulong b = parts.Length > 1 ? ulong.Parse(parts[1], CultureInfo.InvariantCulture) : a;
        return (a, b);
    }
}
