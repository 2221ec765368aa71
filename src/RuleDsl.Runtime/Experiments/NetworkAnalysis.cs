using System.Globalization;
using RuleDsl.Runtime.Analysis.Dynamics;
using RuleDsl.Runtime.Analysis.Geometry;
using RuleDsl.Runtime.Analysis.Networks;
using RuleDsl.Runtime.Engine.Recurrent;
using RuleDsl.Runtime.Plots;
using RuleDsl.Runtime.Reference;
using RuleDsl.Runtime.Tasks.Cognitive;

namespace RuleDsl.Runtime.Experiments;

/// <summary>What learning with one rule produced: how it learned, how the trained network does on
/// held-out trials, its condition-averaged trajectories, their principal components, and the fixed and
/// slow points of its input-free dynamics.</summary>
public sealed record NetworkReport(
    string Name,
    string Rule,
    string Task,
    int LearningTrials,
    int? TrialsToCriterion,
    double HeldOutAccuracy,
    double[][,] ConditionAverages,
    PcaResult Pca,
    FixedPointSearch FixedPoints);

/// <summary>How alike two rules' condition-averaged states are: linear CKA and RSA.</summary>
public sealed record RepresentationSimilarity(string A, string B, double Cka, double Rsa);

/// <summary>Every rule's report, their similarities (pairs on the same task and trial length), and the files written.</summary>
public sealed record NetworkAnalysisResult(IReadOnlyList<NetworkReport> Reports, IReadOnlyList<RepresentationSimilarity> Similarities, IReadOnlyList<string> Files);

/// <summary>
/// `ruledsl analyse`: trains a fresh network with an experiment's rule (θ from its results folder when
/// there is one, else the rule's initial θ) over the experiment's horizon of learning trials, then
/// analyses the trained network — condition-averaged trajectories on held-out trials, PCA, fixed and
/// slow points (Sussillo &amp; Barak: minimise q(x) = ½‖F(x) − x‖², Jacobians from the IR) — and
/// compares the representations of several rules by linear CKA and RSA.
/// </summary>
public static class NetworkAnalysis
{
    /// <summary>`ruledsl analyse` as a library: <see cref="Analyse"/> for each rule (<paramref name="onStart"/> and
    /// <paramref name="onReport"/> around it), then <see cref="Write"/> into <paramref name="output"/>.</summary>
    public static NetworkAnalysisResult Run(IReadOnlyList<RuleAtTheta> rules, string output, int trial = 0, int? learningTrials = null, string? task = null,
        Action<RuleAtTheta>? onStart = null, Action<NetworkReport>? onReport = null)
    {
        var reports = new List<NetworkReport>();
        foreach (var rule in rules)
        {
            onStart?.Invoke(rule);
            var r = Analyse(rule.Session, rule.Theta, rule.Name, trial, learningTrials: learningTrials, task: task);
            onReport?.Invoke(r);
            reports.Add(r);
        }
        var (files, similarities) = Write(output, reports);
        return new NetworkAnalysisResult(reports, similarities, files);
    }

    public static NetworkReport Analyse(ExperimentSession session, double[] theta, string name,
        int trial = 0, int heldOutPerCondition = 8, int starts = 48, int? learningTrials = null, string? task = null)
    {
        if (!session.Spec.Setting.IsRecurrent) throw new ArgumentException($"{session.Spec.File}: analyse works on recurrent experiments");
        var cognitive = session.RecurrentTask(task);
        var config = session.RecurrentConfig() with { Horizon = learningTrials ?? session.Spec.Horizon };
        int seed = session.TrialSeed(trial);
        var loop = new RecurrentLearner(config, session.RecurrentModel(), session.Rule, new CognitiveTrials(cognitive, (ulong)seed), session.Backend(), seed);
        double[]? w = null, win = null;
        var criterion = CriterionTracker.Of(config.Criterion, config.CriterionWindow);
        loop.OnTrial = (_, _, ok) => criterion.Add(ok);
        loop.OnTrained = (a, b) => { w = a; win = b; };
        var outcome = loop.Run(theta, [], 0, default);
        if (outcome.Failure is not null) throw new InvalidOperationException($"{name}: learning failed: {outcome.Failure}");
        var net = new TrainedNetwork(session.RecurrentModel(), config, w!, win!, cognitive.InputCount, session.Backend(RuleDsl.Syntax.Precision.Float64));

        // Held-out trials: a trial stream the learning run never saw, every condition equally often.
        var source = new CognitiveTrials(cognitive, (ulong)session.TrialSeed(trial) ^ 0x5eed_a11aUL);
        var x0 = new double[config.Units];
        foreach (var (unit, value) in config.Clamped ?? []) x0[unit] = value;
        var trials = new List<(int Condition, double[,] States)>();
        int correct = 0, total = heldOutPerCondition * cognitive.ConditionCount;
        for (int k = 0; k < total; k++)
        {
            var td = source.Get(0, k);
            var (states, rates) = net.Run(td, x0);
            var output = Enumerable.Range(0, states.GetLength(0)).Select(t => rates[t, config.OutputUnit]).ToArray();
            if (source.IsCorrect(td, double.NaN, output)) correct++;
            trials.Add((td.Condition, states));
        }
        var averages = ConditionAverages.Compute(trials, cognitive.ConditionCount);
        var pca = Pca.OfConditionAverages(averages, 3);

        // Fixed and slow points of the input-free dynamics (the delay period's), started from states
        // the network visits.
        var noInput = new double[cognitive.InputCount];
        var options = new FixedPointOptions(MaxIterations: 100, StepOverTau: session.Spec.Dt / session.Spec.Tau);
        var startPoints = FixedPointFinder.StartsFromTrajectories(trials.Select(t => t.States).ToList(), starts, 0.1,
            Data.Rng.Stream(Data.StreamKind.FixedPointStarts, (ulong)session.TrialSeed(trial)));
        var search = FixedPointFinder.Find(x => net.Step(x, noInput), x => net.Jacobian(x, noInput), startPoints, options);

        return new NetworkReport(name, session.Rule.Name, cognitive.Name, config.Horizon, criterion.TrialsToCriterion,
            (double)correct / total, averages, pca, search);
    }

    /// <summary>Writes the figures and tables of each report and of their comparison into
    /// <paramref name="folder"/>; returns the files written and the similarities compared.</summary>
    public static (IReadOnlyList<string> Files, IReadOnlyList<RepresentationSimilarity> Similarities) Write(string folder, IReadOnlyList<NetworkReport> reports)
    {
        var similarities = new List<RepresentationSimilarity>();
        Directory.CreateDirectory(folder);
        var files = new List<string>();
        var inv = CultureInfo.InvariantCulture;
        foreach (var r in reports)
        {
            // PC1–PC2 trajectory of each condition.
            var series = r.Pca.Projections.Select((p, c) => new LineSeries($"condition {c}",
                Enumerable.Range(0, p.GetLength(0)).Select(t => p[t, 0]).ToArray(),
                Enumerable.Range(0, p.GetLength(0)).Select(t => p[t, 1]).ToArray())).ToList();
            string pcaPng = Path.Combine(folder, $"{r.Name}_pca.png");
            Plotter.Lines(pcaPng, new PlotText($"{r.Name}: condition averages on PC1–PC2 ({100 * r.Pca.ExplainedRatio.Take(2).Sum():F0} % of variance)",
                "PC1", "PC2"), series);
            files.Add(pcaPng);

            string fpCsv = Path.Combine(folder, $"{r.Name}_fixed_points.csv");
            using (var csv = new StreamWriter(fpCsv))
            {
                csv.WriteLine("kind,stability,unstable_modes,q,hits,top_flow_eigenvalue_re,top_eigenvalue_re,pc1,pc2");
                foreach (var p in r.FixedPoints.Points)
                {
                    var centred = p.X.Select((x, i) => x - r.Pca.Mean[i]).ToArray();
                    double Pc(int k) => Enumerable.Range(0, centred.Length).Sum(i => centred[i] * r.Pca.Components[k, i]);
                    string flow = p.FlowEigenvalues is { Length: > 0 } f ? f[0].Real.ToString("G6", inv) : "";
                    csv.WriteLine(string.Join(",", p.Kind, p.Stability, p.UnstableModes, p.Q.ToString("G6", inv), p.Hits, flow,
                        p.Eigenvalues.Length > 0 ? p.Eigenvalues[0].Real.ToString("G6", inv) : "", Pc(0).ToString("G6", inv), Pc(1).ToString("G6", inv)));
                }
            }
            files.Add(fpCsv);
        }

        // Representational similarity across rules (same task, same trial length): linear CKA and RSA
        // on the stacked condition averages.
        int k = reports.Count;
        if (k >= 2)
        {
            var stacks = reports.Select(r => ConditionAverages.Stack(r.ConditionAverages)).ToArray();
            var cka = new double[k, k];
            string simCsv = Path.Combine(folder, "similarity.csv");
            using (var csv = new StreamWriter(simCsv))
            {
                csv.WriteLine("a,b,cka,rsa");
                for (int i = 0; i < k; i++)
                    for (int j = 0; j < k; j++)
                    {
                        bool comparable = reports[i].Task == reports[j].Task && stacks[i].GetLength(0) == stacks[j].GetLength(0);
                        cka[i, j] = comparable ? Cka.Linear(stacks[i], stacks[j]) : double.NaN;
                        if (i < j && comparable)
                        {
                            var sim = new RepresentationSimilarity(reports[i].Name, reports[j].Name, cka[i, j], Rsa.Compare(stacks[i], stacks[j]));
                            similarities.Add(sim);
                            csv.WriteLine($"{sim.A},{sim.B},{sim.Cka.ToString("G6", inv)},{sim.Rsa.ToString("G6", inv)}");
                        }
                    }
            }
            files.Add(simCsv);
            string simPng = Path.Combine(folder, "similarity.png");
            var idx = Enumerable.Range(0, k).Select(i => (double)i).ToArray();
            Plotter.HeatMap(simPng, new PlotText("linear CKA of condition-averaged states: " + string.Join(", ", reports.Select((r, i) => $"{i} = {r.Name}")),
                "rule", "rule"), cka, idx, idx);
            files.Add(simPng);
        }
        return (files, similarities);
    }
}
