using System.Diagnostics;
using System.Globalization;
using RuleDsl.Runtime.Engine.Recurrent;
using RuleDsl.Runtime.Experiments;
using RuleDsl.Runtime.Meta;
using RuleDsl.Semantics;
using RuleDsl.Syntax;

namespace RuleDsl.Bench;

/// <summary>
/// `rnn-speed`: the recurrent engine's speed, before and after its fast paths, in one run on one thread.
/// Miconi's learner at his settings (examples/miconi_dnms_paper.experiment: N = 200, dt = 1 ms) in
/// trials per second, and the exact meta-gradient of the 3×3 neo-Hebbian family (N = 100, dt = 5 ms,
/// H learning trials, 9 tangents) in seconds. "before" runs the learner with its fast paths switched off
/// (<see cref="RecurrentSpeedups.None"/>), "after" with the defaults; both must give the same J (and
/// gradient) or the bench fails, so the ratio compares equal work.
/// Options: --trials N (Miconi trials timed, default 200), --horizons 40,200, --quick (fewer trials),
/// --no-miconi, --no-gradient, --factored-tangents ("after" defers the trace tangents too).
/// </summary>
public static class RecurrentSpeed
{
    static readonly CultureInfo Inv = CultureInfo.InvariantCulture;
    static bool FactoredTangents;

    public static int Run(string[] args)
    {
        bool quick = args.Contains("--quick");
        FactoredTangents = args.Contains("--factored-tangents");
        int trials = IntOption(args, "--trials", quick ? 60 : 200);
        var horizons = StringOption(args, "--horizons", quick ? "10" : "40,200").Split(',').Select(int.Parse).ToArray();
        int failed = 0;
        Console.WriteLine($"# RuleDsl recurrent speed — {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, {Environment.ProcessorCount} cores, .NET {Environment.Version}, one thread");
        Console.WriteLine($"# load average at start: {Load()}");
        Console.WriteLine();
        Console.WriteLine("| run | before | after | speed-up | alloc before | alloc after | same numbers |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|---|");
        if (!args.Contains("--no-miconi")) failed += Miconi(trials);
        if (!args.Contains("--no-gradient")) foreach (int h in horizons) failed += NeoHebbian(h);
        Console.WriteLine();
        Console.WriteLine($"# peak RSS {MetaBench.PeakRss() / 1e6:F0} MB; load average at end: {Load()}");
        return failed == 0 ? 0 : 1;
    }

    /// <summary>Miconi's learner at his settings, plain learning: trials per second, before and after.</summary>
    static int Miconi(int trials)
    {
        var session = PaperSession(trials);
        var (before, after) = Pair(Learner(session, RecurrentSpeedups.None), Learner(session, RecurrentSpeedups.Default), [], []);
        return Row($"Miconi DNMS, N = 200, dt = 1 ms, {trials} trials (trials/s)", before, after, trials, perSecond: true);
    }

    /// <summary>The 3×3 neo-Hebbian family's exact meta-gradient (9 tangents) over H learning trials.</summary>
    static int NeoHebbian(int horizon)
    {
        var session = RecurrentRows.Session(100, horizon, "neo_hebbian.rule neo_hebbian");
        var theta = session.Theta.Initial;
        // Away from the origin so that the trace and the weights move (at θ = 0 nothing learns).
        var rng = Runtime.Data.Rng.For(7, 2, 3);
        for (int i = 0; i < theta.Length; i++) theta[i] = 0.5 * (2 * rng.NextDouble() - 1);
        var dirs = Enumerable.Range(0, theta.Length).Select(i => Enumerable.Range(0, theta.Length).Select(j => i == j ? 1.0 : 0).ToArray()).ToArray();
        var fast = FactoredTangents ? RecurrentSpeedups.Default with { FactoredTangents = true } : RecurrentSpeedups.Default;
        var (before, after) = Pair(Learner(session, RecurrentSpeedups.None), Learner(session, fast), theta, dirs);
        return Row($"neo-Hebbian 3×3 exact gradient, N = 100, H = {horizon} (s)", before, after, horizon, perSecond: false);
    }

    static RecurrentLearner Learner(ExperimentSession session, RecurrentSpeedups speedups)
    {
        var learner = (RecurrentLearner)session.LoopFactory()(0);
        learner.Speedups = speedups;
        return learner;
    }

    sealed record Timing(double Seconds, long Allocated, EpisodeOutcome Outcome);

    /// <summary>Times before and after alternately, <see cref="Repeats"/> times each, and keeps each one's
    /// fastest run: on a loaded machine the fastest is the one least disturbed by other processes.</summary>
    static (Timing Before, Timing After) Pair(RecurrentLearner before, RecurrentLearner after, double[] theta, double[][] dirs)
    {
        before.Run(theta, dirs, 0, default); // warm-up: the JIT's tiers (the same trials, another network)
        after.Run(theta, dirs, 0, default);
        Timing? b = null, a = null;
        for (int k = 0; k < Repeats; k++)
        {
            var tb = Time(before, theta, dirs);
            var ta = Time(after, theta, dirs);
            if (b is null || tb.Seconds < b.Seconds) b = tb;
            if (a is null || ta.Seconds < a.Seconds) a = ta;
        }
        return (b!, a!);
    }

    const int Repeats = 2;

    static Timing Time(RecurrentLearner learner, double[] theta, double[][] dirs)
    {
        long alloc0 = GC.GetAllocatedBytesForCurrentThread();
        var sw = Stopwatch.StartNew();
        var outcome = learner.Run(theta, dirs, 1, default);
        return new Timing(sw.Elapsed.TotalSeconds, GC.GetAllocatedBytesForCurrentThread() - alloc0, outcome);
    }

    static int Row(string name, Timing before, Timing after, int trials, bool perSecond)
    {
        string? why = RecurrentRows.Judge(before.Outcome) ?? RecurrentRows.Judge(after.Outcome);
        double dJ = Math.Abs(before.Outcome.Objective - after.Outcome.Objective) / Math.Max(1e-300, Math.Abs(before.Outcome.Objective));
        double dG = before.Outcome.Directional.Zip(after.Outcome.Directional, (a, b) => Math.Abs(a - b)).DefaultIfEmpty(0).Max()
                    / Math.Max(1e-300, before.Outcome.Directional.Select(Math.Abs).DefaultIfEmpty(1).Max());
        // Equal work: the fast paths keep the arithmetic order, so J and the gradient agree to rounding.
        if (why is null && (dJ > 1e-12 || dG > 1e-9)) why = $"before and after differ (J by {dJ:G2} rel., gradient by {dG:G2} rel.)";
        if (why is not null)
        {
            Console.Error.WriteLine($"{name}: {why}");
            Console.WriteLine($"| {name} | failed | failed | | | | |");
            return 1;
        }
        string F(Timing t) => perSecond ? (trials / t.Seconds).ToString("F1", Inv) : t.Seconds.ToString("F2", Inv);
        double speedup = before.Seconds / after.Seconds;
        string same = dJ == 0 && dG == 0 ? "bit-identical" : $"J {dJ:G2}, ∇ {dG:G2} rel.";
        Console.WriteLine($"| {name} | {F(before)} | {F(after)} | {speedup.ToString("F2", Inv)}× | {before.Allocated / 1e6:F1} MB | {after.Allocated / 1e6:F1} MB | {same} |");
        return 0;
    }

    /// <summary>examples/miconi_dnms_paper.experiment with its horizon set to <paramref name="trials"/>.</summary>
    public static ExperimentSession PaperSession(int trials)
    {
        var rules = RecurrentRows.RulesDir();
        var file = Path.Combine(rules, "..", "examples", "miconi_dnms_paper.experiment");
        var lines = File.ReadAllLines(file).Select(l =>
            l.TrimStart().StartsWith("horizon", StringComparison.Ordinal) ? $"  horizon = {trials}"
            : l.TrimStart().StartsWith("rule ", StringComparison.Ordinal) ? $"  rule = {Path.Combine(rules, "miconi.rule")} miconi" : l);
        var text = string.Join('\n', lines) + "\n";
        var spec = Experiment.parse(file, text);
        if (spec.IsError) throw new InvalidOperationException(string.Join("\n", spec.ErrorValue.Select(d => d.Message)));
        var checkedRules = Check.CheckFiles(FileSystemModule.disk, Microsoft.FSharp.Collections.ListModule.OfSeq([Path.Combine(rules, "miconi.rule")]));
        if (checkedRules.HasErrors) throw new InvalidOperationException(Check.Render(checkedRules));
        return new ExperimentSession(spec.ResultValue, checkedRules.Rules.Single(r => r.Name == "miconi"), text);
    }

    static int IntOption(string[] args, string name, int fallback) => int.Parse(StringOption(args, name, fallback.ToString(Inv)), Inv);

    static string StringOption(string[] args, string name, string fallback)
    {
        int i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : fallback;
    }

    static string Load()
    {
        try { return File.ReadAllText("/proc/loadavg").Trim(); }
        catch (IOException) { return "unknown"; }
    }
}
