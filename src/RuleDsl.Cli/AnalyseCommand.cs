using System.Text.Json.Nodes;
using JsonNode = System.Text.Json.Nodes.JsonNode;
using RuleDsl.Runtime.Experiments;
using RuleDsl.Runtime.Results;
using RuleDsl.Semantics;

namespace RuleDsl.Cli;

/// `ruledsl analyse`: the networks that recurrent experiments' rules produce, side by side.
static class AnalyseCommand
{
    public static int Run(FileSystem fs, string[] files, string output, int trial, int? learningTrials = null, string? task = null, bool initialTheta = false)
    {
        var reports = new List<NetworkReport>();
        try
        {
            if (Sessions(fs, files, initialTheta) is not { } sessions) return ExitCodes.InputError;
            foreach (var (session, theta, from) in sessions)
            {
                var (spec, rule) = (session.Spec, session.Rule);
                Console.WriteLine($"{spec.Name}: rule {rule.Name} ({from}), {learningTrials ?? spec.Horizon} learning trials of {task ?? string.Join(" and ", session.TaskNames)}, N = {spec.Units}, seed {session.TrialSeed(trial)}");
                var r = NetworkAnalysis.Analyse(session, theta, spec.Name, trial, learningTrials: learningTrials, task: task);
                int fixedCount = r.FixedPoints.Points.Count(p => p.Kind == Runtime.Analysis.Dynamics.PointKind.Fixed);
                Console.WriteLine($"  trials to criterion (≥ {NetworkAnalysis.CriterionRequired} % of {NetworkAnalysis.CriterionWindow}): {r.TrialsToCriterion?.ToString() ?? "not reached"}; held-out accuracy {100 * r.HeldOutAccuracy:F1} %");
                Console.WriteLine($"  PCA: {string.Join(", ", r.Pca.ExplainedRatio.Select(x => $"{100 * x:F1} %"))} of variance in PC1–PC{r.Pca.ExplainedRatio.Length}");
                Console.WriteLine($"  input-free dynamics: {fixedCount} fixed and {r.FixedPoints.Points.Count - fixedCount} slow points from {r.FixedPoints.Starts} starts ({r.FixedPoints.Discarded} discarded): "
                    + string.Join("; ", r.FixedPoints.Points.GroupBy(p => $"{p.Kind} {p.Describe()}").Select(g => $"{g.Count()} {g.Key.ToLowerInvariant()}")));
                reports.Add(r);
            }
            var written = NetworkAnalysis.Write(output, reports);
            if (reports.Count >= 2)
            {
                var sim = CsvTable.Read(Path.Combine(output, "similarity.csv"));
                Console.WriteLine("representational similarity of condition-averaged states:");
                for (int i = 0; i < sim.Rows.Count; i++)
                    Console.WriteLine($"  {sim.Rows[i][0]} vs {sim.Rows[i][1]}: linear CKA {double.Parse(sim.Rows[i][2], System.Globalization.CultureInfo.InvariantCulture):F3}, RSA {double.Parse(sim.Rows[i][3], System.Globalization.CultureInfo.InvariantCulture):F3}");
            }
            foreach (var f in written) Console.WriteLine(f);
            return 0;
        }
        catch (Exception ex) when (ex is ArgumentException or InvalidOperationException or IOException or ResultsException or Runtime.Plots.PlotException)
        {
            return RunCommands.InputError(ex);
        }
    }

    /// Every experiment with the θ it is used at, before any work (a refused θ leaves nothing half-written);
    /// null when a file does not load (its diagnostics printed).
    internal static List<(ExperimentSession Session, double[] Theta, string From)>? Sessions(FileSystem fs, string[] files, bool initialTheta)
    {
        var sessions = new List<(ExperimentSession, double[], string)>();
        foreach (var file in files)
        {
            var session = RunCommands.Load(fs, file);
            if (session is null) return null;
            var (theta, from) = Theta(session, initialTheta);
            sessions.Add((session, theta, from));
        }
        return sessions;
    }

    /// θ meta-learned by the experiment's run when its results folder holds a finished one (refused when
    /// the files changed since or nothing was learned: <see cref="ExperimentSession.LearnedTheta"/>), else,
    /// or with --initial-theta, the rule's initial values; and where it came from, for the user.
    internal static (double[] Theta, string From) Theta(ExperimentSession session, bool initial)
    {
        if (session.InitialTheta.Length == 0) return ([], "no θ");
        if (initial) return (session.InitialTheta, "θ at its initial values, as --initial-theta asks");
        return session.LearnedTheta() is { } learned
            ? (learned, $"θ meta-learned in {session.Spec.Output}")
            : (session.InitialTheta, $"θ at its initial values: {session.Spec.Output} holds no finished run");
    }
}

/// `ruledsl learn`: rules at fixed θ learning on held-out seeds (and tasks); trials to criterion and
/// rank tests between the first rule and each other. Each network's result is written as it finishes
/// (learning.csv, and its trial-by-trial record in learning_trials.csv), so `--resume` continues an
/// interrupted comparison and recomputes the statistics without learning anything twice.
static class LearnCommand
{
    public static int Run(FileSystem fs, string[] files, string seedsText, int trials, string? task, string output, int? learnAfter = null, bool resume = false, bool initialTheta = false)
    {
        try
        {
            var seeds = ParseSeeds(seedsText);
            var rules = new List<(ExperimentSession, double[], string)>();
            foreach (var file in files)
            {
                var session = RunCommands.Load(fs, file);
                if (session is null) return ExitCodes.InputError;
                var (spec, rule) = (session.Spec, session.Rule);
                if (spec.Setting != "recurrent") { Console.Error.WriteLine($"error: {file}: `learn` runs recurrent experiments"); return ExitCodes.InputError; }
                var (theta, from) = AnalyseCommand.Theta(session, initialTheta);
                Console.WriteLine($"{spec.Name}: rule {rule.Name} ({from})");
                rules.Add((session, theta, spec.Name));
            }
            // Without --task, the first experiment's task: one, or it must be chosen.
            string taskName = task ?? (rules[0].Item1.TaskNames is [var only] ? only
                : throw new ArgumentException($"{rules[0].Item1.Spec.File} meta-trains on {string.Join(" and ", rules[0].Item1.TaskNames)}; choose the task to learn with --task"));
            // Every rule's task exists (an unknown one is an input error here, not a failure inside the parallel learners).
            foreach (var r in rules) r.Item1.RecurrentTask(task);
            Console.WriteLine($"{taskName}: {trials} learning trials per network, seeds {SeedsText(seeds)}; criterion ≥ {NetworkAnalysis.CriterionRequired} % correct over {NetworkAnalysis.CriterionWindow} successive trials");
            if (learnAfter is int wait) Console.WriteLine($"every rule's weights change from learning trial {wait + 1} on");

            Directory.CreateDirectory(output);
            string csvPath = Path.Combine(output, "learning.csv"), trialsPath = Path.Combine(output, "learning_trials.csv"), setupPath = Path.Combine(output, "learn.json");
            var setup = new JsonObject
            {
                ["task"] = taskName,
                ["trials"] = trials,
                ["learn_after"] = learnAfter,
                ["rules"] = new JsonArray(rules.Select(r => (JsonNode)new JsonObject { ["name"] = r.Item3, ["theta"] = new JsonArray(r.Item2.Select(t => (JsonNode)t).ToArray()) }).ToArray()),
            };
            // What each rule's networks were learned from (in the order of "rules"): its experiment, rule files and model.
            var sources = rules.Select(r => (IReadOnlyList<SourceFile>)[new SourceFile(Path.GetFileName(r.Item1.Spec.File), r.Item1.ExperimentText, r.Item1.Spec.File), .. r.Item1.Sources]).ToList();
            var done = new List<LearningRecord>();
            if (resume && File.Exists(csvPath))
            {
                if (!File.Exists(setupPath))
                    throw new InvalidOperationException($"{output} was written by a version of `learn` that did not record what it compared ({setupPath} is missing), so it cannot be continued safely; drop --resume to learn again, or give another --out");
                var stored = JsonNode.Parse(File.ReadAllText(setupPath)) as JsonObject ?? throw new InvalidOperationException($"{setupPath}: expected a JSON object");
                var storedSources = stored["sources"]?.DeepClone();
                stored.Remove("sources");
                stored.Remove("tool");
                if (stored.ToJsonString() != setup.ToJsonString())
                    throw new InvalidOperationException($"{output} holds a comparison with other rules, θ, task, trial count or --learn-after (see {setupPath}); give another --out, or drop --resume to start again");
                if (storedSources is not JsonArray perRule || perRule.Count != sources.Count)
                    throw new InvalidOperationException($"{setupPath} was written by a version of `learn` that did not record the experiment, rule and model files it learned with, so whether they changed since cannot be verified; drop --resume to learn again, or give another --out");
                for (int i = 0; i < sources.Count; i++)
                    if (RunSources.FirstChange(RunSources.FromJson(perRule[i], setupPath) ?? [], sources[i]) is { } change)
                        throw new InvalidOperationException($"{setupPath}: {rules[i].Item3}: {change}\nonly comments and layout may change in the files of a comparison that is continued; drop --resume to learn again, or give another --out");
                done = LearningLog.Read(csvPath, trialsPath, rules.Select(r => r.Item3).ToHashSet(), seeds.ToHashSet(), trials);
                Console.WriteLine($"resuming: {done.Count} networks already learned in {output}");
            }
            else if (!resume && File.Exists(csvPath))
                Console.WriteLine($"starting again: {csvPath} is replaced (use --resume to continue it)");
            var record = (JsonObject)setup.DeepClone();
            record["tool"] = ToolVersion.Tool;
            record["sources"] = new JsonArray(sources.Select(s => (JsonNode)RunSources.ToJson(s)).ToArray());
            File.WriteAllText(setupPath, record.ToJsonString(RunFolder.JsonOptions));

            using var csv = new StreamWriter(csvPath);
            using var bits = new StreamWriter(trialsPath);
            csv.WriteLine(LearningLog.CsvHeader);
            bits.WriteLine(LearningLog.TrialsHeader);
            foreach (var r in done) LearningLog.Append(csv, bits, r);
            csv.Flush(); bits.Flush();
            var finished = done.Select(r => (r.Name, r.Seed)).ToHashSet();
            var todo = rules.Select(r => (r, seeds.Where(s => !finished.Contains((r.Item3, s))).ToArray())).ToArray();
            var fresh = new List<LearningRecord>();
            foreach (var group in todo.Where(t => t.Item2.Length > 0).GroupBy(t => string.Join(" ", t.Item2)))
                fresh.AddRange(HeldOutLearning.LearnAll(group.Select(t => t.r).ToArray(), group.First().Item2, trials, task, r =>
                {
                    Console.WriteLine($"  {r.Name,-24} seed {r.Seed,6}: criterion {(r.TrialsToCriterion?.ToString() ?? "not reached"),12}, last 100 trials {100 * r.FinalAccuracy:F0} % correct"
                        + (r.Failure is null ? "" : $" — stopped: {r.Failure}"));
                    LearningLog.Append(csv, bits, r);
                    csv.Flush(); bits.Flush();
                }, learnAfter: learnAfter));
            var records = done.Concat(fresh).ToArray();

            Console.WriteLine($"{"rule",-24} {"reached",8} {"median trials",14} {"mean final %",13}");
            foreach (var g in records.GroupBy(r => r.Name))
            {
                var reached = g.Count(r => r.TrialsToCriterion.HasValue);
                double med = Runtime.Analysis.Statistics.Median(g.Select(r => r.RankValue).ToArray());
                Console.WriteLine($"{g.Key,-24} {reached,4}/{g.Count(),-3} {(med > trials ? "> " + trials : med.ToString("F0")),14} {100 * g.Average(r => r.FinalAccuracy),13:F1}");
            }
            var first = records.Where(r => r.Name == rules[0].Item3).ToArray();
            foreach (var other in rules.Skip(1))
            {
                var theirs = records.Where(r => r.Name == other.Item3).ToArray();
                var (w, faster, slower, tied, median) = HeldOutLearning.FewerPaired(first, theirs);
                Console.WriteLine($"Wilcoxon signed-rank (paired by seed), {rules[0].Item3} reaches criterion in fewer trials than {other.Item3}: "
                    + $"faster on {faster}, slower on {slower}, tied on {tied} seed{(tied == 1 ? "" : "s")}; median difference {median:+0.#;-0.#;0} trials; W+ = {w.W:G4} over {w.N} untied pairs, one-sided p = {w.P:G3} ({w.Method}{(w.HasTies ? ", ties" : "")})");
                var mw = HeldOutLearning.Fewer(first, theirs);
                Console.WriteLine($"Mann–Whitney (unpaired), the same question: U = {mw.U:G4}, one-sided p = {mw.P:G3} ({mw.Method}{(mw.HasTies ? ", ties" : "")})");
            }
            string png = Path.Combine(output, "learning.png");
            HeldOutLearning.PlotCurves(png, records);
            Console.WriteLine(csvPath);
            Console.WriteLine(png);
            return 0;
        }
        catch (Exception ex) when (ex is ArgumentException or InvalidOperationException or IOException or FormatException or Runtime.Plots.PlotException or System.Text.Json.JsonException or ResultsException)
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

/// `ruledsl samples`: accuracy vs number of training samples for feedforward rules at their learned θ.
static class SamplesCommand
{
    public static int Run(FileSystem fs, string[] files, string samplesText, int networks, string output, bool initialTheta = false)
    {
        try
        {
            var ns = samplesText.Split([',', ' '], StringSplitOptions.RemoveEmptyEntries).Select(int.Parse).ToArray();
            if (AnalyseCommand.Sessions(fs, files, initialTheta) is not { } sessions) return ExitCodes.InputError;
            Directory.CreateDirectory(output);
            var all = new List<SampleCurvePoint>();
            string csvPath = Path.Combine(output, "samples.csv");
            using var csv = new StreamWriter(csvPath);
            csv.WriteLine("rule,samples_per_class,network,accuracy");
            foreach (var (session, theta, from) in sessions)
            {
                Console.WriteLine($"{session.Spec.Name}: rule {string.Join(", ", session.Rules.Select(r => r.Name).Distinct())} ({from}), feedback {session.Spec.Feedback}, {networks} fresh networks per point");
                var points = SampleCurve.Measure(session, theta, session.Spec.Name, ns, networks);
                foreach (var p in points)
                    csv.WriteLine($"{p.Name},{p.SamplesPerClass},{p.Network},{p.Accuracy.ToString("G4", System.Globalization.CultureInfo.InvariantCulture)}");
                csv.Flush();
                // A network whose learning diverged has no accuracy; say how many, and the mean counting them at chance.
                double chance = 1.0 / session.Spec.Classes;
                Console.WriteLine("  " + string.Join("  ", points.GroupBy(p => p.SamplesPerClass).Select(g =>
                {
                    int diverged = g.Count(p => !double.IsFinite(p.Accuracy));
                    string mean = $"n={g.Key}: {100 * g.Where(p => double.IsFinite(p.Accuracy)).Select(p => p.Accuracy).DefaultIfEmpty(double.NaN).Average():F1} %";
                    return diverged == 0 ? mean
                        : $"{mean} ({diverged} of {g.Count()} diverged; {100 * g.Average(p => double.IsFinite(p.Accuracy) ? p.Accuracy : chance):F1} % counting them at chance)";
                })));
                all.AddRange(points);
            }
            string png = Path.Combine(output, "samples.png");
            SampleCurve.Plot(png, all);
            Console.WriteLine(csvPath);
            Console.WriteLine(png);
            return 0;
        }
        catch (Exception ex) when (ex is ArgumentException or InvalidOperationException or IOException or FormatException or Runtime.Plots.PlotException or Runtime.Data.DataException or ResultsException)
        {
            return RunCommands.InputError(ex);
        }
    }
}
