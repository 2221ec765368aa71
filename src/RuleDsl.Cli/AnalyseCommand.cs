using System.Text.Json.Nodes;
using RuleDsl.Runtime.Experiments;
using RuleDsl.Runtime.Results;
using RuleDsl.Semantics;

namespace RuleDsl.Cli;

/// `ruledsl analyse`: the networks that recurrent experiments' rules produce, side by side.
static class AnalyseCommand
{
    public static int Run(FileSystem fs, string[] files, string output, int trial, int? learningTrials = null)
    {
        var reports = new List<NetworkReport>();
        try
        {
            foreach (var file in files)
            {
                var session = RunCommands.Load(fs, file);
                if (session is null) return Commands.exitInputError;
                var (spec, rule) = (session.Spec, session.Rule);
                var (theta, from) = Theta(session);
                Console.WriteLine($"{spec.Name}: rule {rule.Name} ({from}), {learningTrials ?? spec.Horizon} learning trials of {spec.Task}, N = {spec.Units}, seed {session.TrialSeed(trial)}");
                var r = NetworkAnalysis.Analyse(session, theta, spec.Name, trial, learningTrials: learningTrials);
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
            Console.Error.WriteLine($"error: {ex.Message}");
            return Commands.exitInputError;
        }
    }

    /// θ of the experiment's run (the mean over its trials) when its results folder has a summary,
    /// else the rule's initial values.
    internal static (double[] Theta, string From) Theta(ExperimentSession session)
    {
        if (session.InitialTheta.Length == 0) return ([], "no θ");
        if (Directory.Exists(session.Spec.Output) && RunFolder.Open(session.Spec.Output).ReadSummary() is JsonObject s
            && (s["ThetaMean"] ?? s["thetaMean"]) is JsonArray a && a.Count == session.InitialTheta.Length)
            return (a.Select(x => x!.GetValue<double>()).ToArray(), $"θ meta-learned in {session.Spec.Output}");
        return (session.InitialTheta, "θ at its initial values");
    }
}

/// `ruledsl learn`: rules at fixed θ learning on held-out seeds (and tasks); trials to criterion and a
/// rank test between the first rule and each other.
static class LearnCommand
{
    public static int Run(FileSystem fs, string[] files, string seedsText, int trials, string? task, string output, int? learnAfter = null)
    {
        try
        {
            var seeds = ParseSeeds(seedsText);
            var rules = new List<(ExperimentSession, double[], string)>();
            foreach (var file in files)
            {
                var session = RunCommands.Load(fs, file);
                if (session is null) return Commands.exitInputError;
                var (spec, rule) = (session.Spec, session.Rule);
                if (spec.Setting != "recurrent") { Console.Error.WriteLine($"error: {file}: `learn` runs recurrent experiments"); return Commands.exitInputError; }
                var (theta, from) = AnalyseCommand.Theta(session);
                Console.WriteLine($"{spec.Name}: rule {rule.Name} ({from})");
                rules.Add((session, theta, spec.Name));
            }
            string taskName = task ?? rules[0].Item1.Spec.Task;
            Console.WriteLine($"{taskName}: {trials} learning trials per network, seeds {string.Join(" ", seeds)}; criterion ≥ {NetworkAnalysis.CriterionRequired} % correct over {NetworkAnalysis.CriterionWindow} successive trials");
            Directory.CreateDirectory(output);
            string csvPath = Path.Combine(output, "learning.csv");
            using var csv = new StreamWriter(csvPath);
            csv.WriteLine("rule,task,seed,trials_to_criterion,final_accuracy,failure");
            if (learnAfter is int wait) Console.WriteLine($"every rule's weights change from learning trial {wait + 1} on");
            var records = HeldOutLearning.LearnAll(rules, seeds, trials, task, r =>
            {
                Console.WriteLine($"  {r.Name,-24} seed {r.Seed,6}: criterion {(r.TrialsToCriterion?.ToString() ?? "not reached"),12}, last 100 trials {100 * r.FinalAccuracy:F0} % correct"
                    + (r.Failure is null ? "" : $" — stopped: {r.Failure}"));
                csv.WriteLine($"{r.Name},{r.Task},{r.Seed},{r.TrialsToCriterion?.ToString() ?? ""},{r.FinalAccuracy.ToString("G4", System.Globalization.CultureInfo.InvariantCulture)},\"{r.Failure ?? ""}\"");
                csv.Flush();
            }, learnAfter: learnAfter);
            Console.WriteLine($"{"rule",-24} {"reached",8} {"median trials",14} {"mean final %",13}");
            foreach (var g in records.GroupBy(r => r.Name))
            {
                var reached = g.Where(r => r.TrialsToCriterion.HasValue).Select(r => (double)r.TrialsToCriterion!.Value).OrderBy(x => x).ToArray();
                var median = g.Select(r => r.RankValue).OrderBy(x => x).ToArray();
                double med = median.Length % 2 == 1 ? median[median.Length / 2] : (median[median.Length / 2 - 1] + median[median.Length / 2]) / 2;
                Console.WriteLine($"{g.Key,-24} {reached.Length,4}/{g.Count(),-3} {(med > trials ? "> " + trials : med.ToString("F0")),14} {100 * g.Average(r => r.FinalAccuracy),13:F1}");
            }
            var first = records.Where(r => r.Name == rules[0].Item3).ToArray();
            foreach (var other in rules.Skip(1))
            {
                var mw = HeldOutLearning.Fewer(first, records.Where(r => r.Name == other.Item3));
                Console.WriteLine($"Mann–Whitney, {rules[0].Item3} reaches criterion in fewer trials than {other.Item3}: U = {mw.U:G4}, one-sided p = {mw.P:G3} ({mw.Method}{(mw.HasTies ? ", ties" : "")})");
            }
            string png = Path.Combine(output, "learning.png");
            HeldOutLearning.PlotCurves(png, records);
            Console.WriteLine(csvPath);
            Console.WriteLine(png);
            return 0;
        }
        catch (Exception ex) when (ex is ArgumentException or InvalidOperationException or IOException or FormatException or Runtime.Plots.PlotException)
        {
            Console.Error.WriteLine($"error: {ex.Message}");
            return Commands.exitInputError;
        }
    }

    /// "100-105" or "1 2 3" or "1,2,3".
    static int[] ParseSeeds(string text)
    {
        var t = text.Trim();
        var dash = t.IndexOf('-', 1);
        if (dash > 0 && !t.Contains(',') && !t.Contains(' '))
        {
            int a = int.Parse(t[..dash]), b = int.Parse(t[(dash + 1)..]);
            if (b < a) throw new FormatException($"seeds {text}: the range is empty");
            return Enumerable.Range(a, b - a + 1).ToArray();
        }
        var seeds = t.Split([',', ' '], StringSplitOptions.RemoveEmptyEntries).Select(int.Parse).ToArray();
        return seeds.Length > 0 ? seeds : throw new FormatException("no seeds given: e.g. --seeds 100-105");
    }
}

/// `ruledsl samples`: accuracy vs number of training samples for feedforward rules at their learned θ.
static class SamplesCommand
{
    public static int Run(FileSystem fs, string[] files, string samplesText, int networks, string output)
    {
        try
        {
            var ns = samplesText.Split([',', ' '], StringSplitOptions.RemoveEmptyEntries).Select(int.Parse).ToArray();
            Directory.CreateDirectory(output);
            var all = new List<SampleCurvePoint>();
            string csvPath = Path.Combine(output, "samples.csv");
            using var csv = new StreamWriter(csvPath);
            csv.WriteLine("rule,samples_per_class,network,accuracy");
            foreach (var file in files)
            {
                var session = RunCommands.Load(fs, file);
                if (session is null) return Commands.exitInputError;
                var (theta, from) = AnalyseCommand.Theta(session);
                Console.WriteLine($"{session.Spec.Name}: rule {string.Join(", ", session.Rules.Select(r => r.Name).Distinct())} ({from}), feedback {session.Spec.Feedback}, {networks} fresh networks per point");
                var points = SampleCurve.Measure(session, theta, session.Spec.Name, ns, networks);
                foreach (var p in points)
                    csv.WriteLine($"{p.Name},{p.SamplesPerClass},{p.Network},{p.Accuracy.ToString("G4", System.Globalization.CultureInfo.InvariantCulture)}");
                csv.Flush();
                Console.WriteLine("  " + string.Join("  ", points.GroupBy(p => p.SamplesPerClass).Select(g => $"n={g.Key}: {100 * g.Where(p => double.IsFinite(p.Accuracy)).Select(p => p.Accuracy).DefaultIfEmpty(double.NaN).Average():F1} %")));
                all.AddRange(points);
            }
            string png = Path.Combine(output, "samples.png");
            SampleCurve.Plot(png, all);
            Console.WriteLine(csvPath);
            Console.WriteLine(png);
            return 0;
        }
        catch (Exception ex) when (ex is ArgumentException or InvalidOperationException or IOException or FormatException or Runtime.Plots.PlotException or Runtime.Data.DataException)
        {
            Console.Error.WriteLine($"error: {ex.Message}");
            return Commands.exitInputError;
        }
    }
}
