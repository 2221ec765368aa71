using System.Text.Json.Nodes;
using RuleDsl.Runtime.Experiments;
using RuleDsl.Runtime.Results;
using RuleDsl.Semantics;

namespace RuleDsl.Cli;

/// `ruledsl analyse`: the networks that recurrent experiments' rules produce, side by side.
static class AnalyseCommand
{
    public static int Run(FileSystem fs, string[] files, string output, int trial)
    {
        var reports = new List<NetworkReport>();
        try
        {
            foreach (var file in files)
            {
                var loaded = Commands.LoadExperiment(fs, Console.Error, file);
                if (loaded.IsError) return Commands.exitInputError;
                var (spec, rule) = loaded.ResultValue;
                var session = new ExperimentSession(spec, rule, File.ReadAllText(file));
                var (theta, from) = Theta(session);
                Console.WriteLine($"{spec.Name}: rule {rule.Name} ({from}), {spec.Horizon} learning trials of {spec.Task}, N = {spec.Units}, seed {session.TrialSeed(trial)}");
                var r = NetworkAnalysis.Analyse(session, theta, spec.Name, trial);
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
    static (double[] Theta, string From) Theta(ExperimentSession session)
    {
        if (session.InitialTheta.Length == 0) return ([], "no θ");
        if (Directory.Exists(session.Spec.Output) && RunFolder.Open(session.Spec.Output).ReadSummary() is JsonObject s
            && (s["ThetaMean"] ?? s["thetaMean"]) is JsonArray a && a.Count == session.InitialTheta.Length)
            return (a.Select(x => x!.GetValue<double>()).ToArray(), $"θ meta-learned in {session.Spec.Output}");
        return (session.InitialTheta, "θ at its initial values");
    }
}
