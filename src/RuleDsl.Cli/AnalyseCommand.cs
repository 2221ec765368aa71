using RuleDsl.Runtime.Experiments;
using RuleDsl.Runtime.Results;
using RuleDsl.Semantics;

namespace RuleDsl.Cli;

/// `ruledsl analyse`: the networks that recurrent experiments' rules produce, side by side.
static class AnalyseCommand
{
    public static int Run(FileSystem fs, string[] files, string output, int trial, int? learningTrials = null, string? task = null, bool initialTheta = false)
    {
        try
        {
            if (Rules(fs, files, initialTheta) is not { } rules) return ExitCodes.InputError;
            RuleAtTheta? current = null;
            var result = NetworkAnalysis.Run(rules, output, trial, learningTrials, task,
                onStart: r => Console.WriteLine($"{(current = r).Name}: rule {r.Session.Rule.Name} ({r.From}), {learningTrials ?? r.Session.Spec.Horizon} learning trials of {task ?? string.Join(" and ", r.Session.TaskNames)}, N = {r.Session.Spec.Units}, seed {r.Session.TrialSeed(trial)}"),
                onReport: r =>
                {
                    int fixedCount = r.FixedPoints.Points.Count(p => p.Kind == Runtime.Analysis.Dynamics.PointKind.Fixed);
                    Console.WriteLine($"  trials to criterion (≥ {100 * current!.Session.Spec.Criterion:G4} % of {current.Session.Spec.CriterionWindow}): {r.TrialsToCriterion?.ToString() ?? "not reached"}; held-out accuracy {100 * r.HeldOutAccuracy:F1} %");
                    Console.WriteLine($"  PCA: {string.Join(", ", r.Pca.ExplainedRatio.Select(x => $"{100 * x:F1} %"))} of variance in PC1–PC{r.Pca.ExplainedRatio.Length}");
                    Console.WriteLine($"  input-free dynamics: {fixedCount} fixed and {r.FixedPoints.Points.Count - fixedCount} slow points from {r.FixedPoints.Starts} starts ({r.FixedPoints.Discarded} discarded): "
                        + string.Join("; ", r.FixedPoints.Points.GroupBy(p => $"{p.Kind} {p.Describe()}").Select(g => $"{g.Count()} {g.Key.ToLowerInvariant()}")));
                });
            if (result.Reports.Count >= 2)
            {
                Console.WriteLine("representational similarity of condition-averaged states:");
                foreach (var s in result.Similarities)
                    Console.WriteLine($"  {s.A} vs {s.B}: linear CKA {s.Cka:F3}, RSA {s.Rsa:F3}");
            }
            foreach (var f in result.Files) Console.WriteLine(f);
            return 0;
        }
        catch (Exception ex) when (ex is ArgumentException or InvalidOperationException or IOException or ResultsException or Runtime.Plots.PlotException)
        {
            return RunCommands.InputError(ex);
        }
    }

    /// Every experiment's rule with the θ it is used at, before any work (a refused θ leaves nothing
    /// half-written); null when a file does not load (its diagnostics printed).
    internal static List<RuleAtTheta>? Rules(FileSystem fs, string[] files, bool initialTheta)
    {
        var rules = new List<RuleAtTheta>();
        foreach (var file in files)
        {
            var session = RunCommands.Load(fs, file);
            if (session is null) return null;
            rules.Add(RuleAtTheta.Of(session, initialTheta));
        }
        return rules;
    }
}

/// `ruledsl learn`: rules at fixed θ learning on held-out seeds (and tasks); trials to criterion and
/// rank tests between the first rule and each other (the library's HeldOutComparison), rendered.
static class LearnCommand
{
    /// `learn … --units N` with `--unit K` (one unit), `--collect` (join them) or `--submit` (a Slurm job array).
    public sealed record Units(int Count, int? Unit, bool Collect, bool Submit, bool DryRun, Runtime.Cluster.SlurmRequest Request, string? Tool);

    public static int Run(FileSystem fs, string[] files, string seedsText, int trials, string? task, string output, int? learnAfter = null, bool resume = false, bool initialTheta = false,
        Units? units = null, IReadOnlyList<string>? sets = null)
    {
        try
        {
            var seeds = ParseSeeds(seedsText);
            var rules = new List<RuleAtTheta>();
            foreach (var file in files)
            {
                var session = RunCommands.Load(fs, file, sets);
                if (session is null) return ExitCodes.InputError;
                if (!session.Spec.Setting.IsRecurrent) { Console.Error.WriteLine($"error: {file}: `learn` runs recurrent experiments"); return ExitCodes.InputError; }
                var rule = RuleAtTheta.Of(session, initialTheta);
                Console.WriteLine($"{rule.Name}: rule {session.Rule.Name} ({rule.From})");
                rules.Add(rule);
            }
            string taskName = HeldOutComparison.TaskOf(rules, task);
            Console.WriteLine($"{taskName}: {trials} learning trials per network, seeds {SeedsText(seeds)}; criterion ≥ {100 * rules[0].Session.Spec.Criterion:G4} % correct over {rules[0].Session.Spec.CriterionWindow} successive trials");
            if (learnAfter is int wait) Console.WriteLine($"every rule's weights change from learning trial {wait + 1} on");

            var settings = new HeldOutSettings(seeds, trials, task, output, learnAfter, resume);
            void Network(LearningRecord r) => Console.WriteLine($"  {r.Name,-24} seed {r.Seed,6}: criterion {(r.TrialsToCriterion?.ToString() ?? "not reached"),12}, last 100 trials {100 * r.FinalAccuracy:F0} % correct"
                + (r.Failure is null ? "" : $" — stopped: {r.Failure}"));
            HeldOutResult result;
            if (units is { Submit: true })
            {
                var tool = units.Tool is null ? Runtime.Cluster.SbatchScript.DefaultTool() : Runtime.Cluster.SbatchScript.Quote(Path.GetFullPath(units.Tool));
                var command = $"{tool} learn {string.Join(" ", files.Select(f => Runtime.Cluster.SbatchScript.Quote(Path.GetFullPath(f))))} --seeds {Runtime.Cluster.SbatchScript.Quote(seedsText)} --trials {trials}"
                    + (task is null ? "" : $" --task {Runtime.Cluster.SbatchScript.Quote(task)}") + (learnAfter is int w ? $" --learn-after {w}" : "") + (initialTheta ? " --initial-theta" : "")
                    + $" --out {Runtime.Cluster.SbatchScript.Quote(Path.GetFullPath(output))} --units {units.Count} --unit \"$SLURM_ARRAY_TASK_ID\" --resume";
                var submitted = HeldOutUnits.Submit(rules, settings, units.Count, command, units.Request, units.DryRun, resume);
                if (submitted.Units.Length == 0) Console.WriteLine($"nothing to submit: every unit has finished; `learn … --units {units.Count} --collect` joins them");
                else if (units.DryRun) Console.Write(submitted.Script);
                else Console.WriteLine($"submitted seed units {Runtime.Cluster.SbatchScript.Ranges(submitted.Units)} as job array {submitted.Job} ({submitted.ScriptPath}); `learn … --units {units.Count} --collect` joins them");
                return 0;
            }
            if (units is { Collect: true }) result = HeldOutUnits.Collect(rules, settings, units.Count);
            else if (units is { Unit: int k })
            {
                var mine = HeldOutUnits.Seeds(seeds, units.Count, k);
                Console.WriteLine($"unit {k} of {units.Count}: seeds {SeedsText([.. mine])} into {HeldOutUnits.Folder(output, k)}");
                result = HeldOutUnits.RunUnit(rules, settings, units.Count, k, Network);
            }
            else
            {
                var comparison = HeldOutComparison.Open(rules, settings);
                if (comparison.Resumed) Console.WriteLine($"resuming: {comparison.Done.Count} networks already learned in {output}");
                else if (comparison.Replaced) Console.WriteLine($"starting again: {Path.Combine(output, "learning.csv")} is replaced (use --resume to continue it)");
                result = comparison.Run(Network);
            }

            Console.WriteLine($"{"rule",-24} {"reached",8} {"median trials",14} {"mean final %",13}");
            foreach (var g in result.Rules)
                Console.WriteLine($"{g.Name,-24} {g.Reached,4}/{g.Networks,-3} {(g.MedianTrials > trials ? "> " + trials : g.MedianTrials.ToString("F0")),14} {100 * g.MeanFinalAccuracy,13:F1}");
            foreach (var t in result.Tests)
            {
                var w = t.Paired;
                Console.WriteLine($"Wilcoxon signed-rank (paired by seed), {t.First} reaches criterion in fewer trials than {t.Other}: "
                    + $"faster on {t.Faster}, slower on {t.Slower}, tied on {t.Tied} seed{(t.Tied == 1 ? "" : "s")}; median difference {t.MedianDifference:+0.#;-0.#;0} trials; W+ = {w.W:G4} over {w.N} untied pairs, one-sided p = {w.P:G3} ({w.Method}{(w.HasTies ? ", ties" : "")})");
                var mw = t.Unpaired;
                Console.WriteLine($"Mann–Whitney (unpaired), the same question: U = {mw.U:G4}, one-sided p = {mw.P:G3} ({mw.Method}{(mw.HasTies ? ", ties" : "")})");
            }
            Console.WriteLine(result.CsvPath);
            Console.WriteLine(result.PlotPath);
            foreach (var w in result.PlotWarnings ?? []) Console.Error.WriteLine($"ruledsl: warning: {w}");
            return 0;
        }
        catch (Exception ex) when (ex is ArgumentException or InvalidOperationException or IOException or FormatException or Runtime.Plots.PlotException or System.Text.Json.JsonException or ResultsException
            or Runtime.Cluster.SlurmException)
        {
            return RunCommands.InputError(ex);
        }
    }

    static string SeedsText(int[] seeds) =>
        seeds.Length > 2 && seeds.Zip(seeds.Skip(1)).All(p => p.Second == p.First + 1) ? $"{seeds[0]}–{seeds[^1]}" : string.Join(" ", seeds);

    /// "100-105" or "1 2 3" or "1,2,3".
    static int[] ParseSeeds(string text)
    {
        var t = text.Trim();
        int Seed(string s) => int.TryParse(s, out var v) ? v
            : throw new FormatException($"seeds {text}: '{s}' is not a whole number; give a range (--seeds 100-105) or a list (--seeds \"1 2 3\")");
        var dash = t.IndexOf('-', 1);
        if (dash > 0 && !t.Contains(',') && !t.Contains(' '))
        {
            int a = Seed(t[..dash]), b = Seed(t[(dash + 1)..]);
            if (b < a) throw new FormatException($"seeds {text}: the range is empty");
            return Enumerable.Range(a, b - a + 1).ToArray();
        }
        var seeds = t.Split([',', ' '], StringSplitOptions.RemoveEmptyEntries).Select(Seed).ToArray();
        return seeds.Length > 0 ? seeds : throw new FormatException("no seeds given: e.g. --seeds 100-105");
    }
}

/// `ruledsl samples`: accuracy vs number of training samples for feedforward rules at their learned θ
/// (the library's SampleCurve.Run), rendered.
static class SamplesCommand
{
    public static int Run(FileSystem fs, string[] files, string samplesText, int networks, string output, bool initialTheta = false)
    {
        try
        {
            var ns = samplesText.Split([',', ' '], StringSplitOptions.RemoveEmptyEntries).Select(int.Parse).ToArray();
            if (AnalyseCommand.Rules(fs, files, initialTheta) is not { } rules) return ExitCodes.InputError;
            var result = SampleCurve.Run(rules, ns, networks, output,
                onStart: r => Console.WriteLine($"{r.Name}: rule {string.Join(", ", r.Session.Rules.Select(x => x.Name).Distinct())} ({r.From}), feedback {r.Session.Spec.Feedback}, {networks} fresh networks per point"),
                onDone: (r, points) => Console.WriteLine("  " + string.Join("  ", SampleCurve.Means(points, 1.0 / r.Session.Spec.Classes).Select(m =>
                {
                    string mean = $"n={m.SamplesPerClass}: {100 * m.MeanAccuracy:F1} %";
                    return m.Diverged == 0 ? mean
                        : $"{mean} ({m.Diverged} of {m.Networks} diverged; {100 * m.MeanWithDivergedAtChance:F1} % counting them at chance)";
                }))));
            Console.WriteLine(result.CsvPath);
            Console.WriteLine(result.PlotPath);
            foreach (var w in result.PlotWarnings ?? []) Console.Error.WriteLine($"ruledsl: warning: {w}");
            return 0;
        }
        catch (Exception ex) when (ex is ArgumentException or InvalidOperationException or IOException or FormatException or Runtime.Plots.PlotException or Runtime.Data.DataException or ResultsException)
        {
            return RunCommands.InputError(ex);
        }
    }
}
