using System.Globalization;
using RuleDsl.Runtime.Analysis.Dynamics;
using RuleDsl.Runtime.Analysis.Geometry;
using RuleDsl.Runtime.Data;
using RuleDsl.Runtime.Reference;
using RuleDsl.Runtime.Tasks.Cognitive;
using RuleDsl.Runtime.Tests.Reference;
using Xunit.Abstractions;

namespace RuleDsl.Runtime.Tests.Dynamics;

/// <summary>
/// The analyses on networks Miconi's rule actually trained on DNMS (RULEDSL_LONG=1, a few CPU minutes):
/// PCA of condition-averaged rates, CKA and RSA between two trained networks (and against an untrained
/// one), and the fixed/slow points of a trained network with the input off (delay and response epochs).
/// Writes a short report to RULEDSL_ANALYSIS_OUT (default dnms-analysis.txt).
/// </summary>
public class TrainedNetworkAnalysisTests(ITestOutputHelper log)
{
    private sealed record Trained(MiconiLearner Learner, double[][,] Rates, double[][,] States, double TestCorrect);

    private static Trained Train(ulong seed, bool learn)
    {
        var task = new DnmsTask();
        var learner = new MiconiLearner(task, MiconiSettings.Default with { Seed = seed });
        if (learn)
        {
            var tracker = new CriterionTracker();
            while (!tracker.Reached && learner.TrialsRun < 6000) tracker.Add(learner.RunTrial().Correct);
            for (int i = 0; i < 400; i++) learner.RunTrial();   // a little past criterion
        }
        var rates = new List<(int, double[,])>();
        var states = new List<(int, double[,])>();
        int correct = 0, total = 0;
        for (int rep = 0; rep < 5; rep++)
            for (int c = 0; c < 4; c++)
            {
                var trial = task.Sample(c, Rng.Numbered(0, 0));
                var x = new double[trial.Steps, 200];
                var r = new double[trial.Steps, 200];
                var o = learner.RunTrial(trial, TrialMode.TestWithoutPerturbations, x, r);
                rates.Add((c, r)); states.Add((c, x));
                correct += o.Correct ? 1 : 0; total++;
            }
        return new Trained(learner, ConditionAverages.Compute(rates, 4), ConditionAverages.Compute(states, 4), correct / (double)total);
    }

    [LongFact]
    public void Analyses_of_DNMS_networks_trained_by_Miconis_rule()
    {
        var report = new List<string>();
        void Say(string s) { report.Add(s); log.WriteLine(s); }
        static string F(double v) => v.ToString("F3", CultureInfo.InvariantCulture);

        var a = Train(1, learn: true);
        var b = Train(4, learn: true);
        var untrained = Train(1, learn: false);
        Say($"test accuracy without perturbations: seed 1 {F(a.TestCorrect)}, seed 4 {F(b.TestCorrect)}, untrained {F(untrained.TestCorrect)}");
        Assert.True(a.TestCorrect >= 0.9 && b.TestCorrect >= 0.9);

        foreach (var (name, net) in new[] { ("seed 1", a), ("seed 4", b), ("untrained", untrained) })
        {
            var pca = Pca.OfConditionAverages(net.Rates, 3);
            Say($"PCA {name}: top-3 variance explained {string.Join(" ", pca.ExplainedRatio.Select(F))} (sum {F(pca.ExplainedRatio.Sum())})");
        }

        // Rows: 4 conditions × every 50th step = 80 matched samples.
        var sa = ConditionAverages.Stack(a.Rates, stride: 50);
        var sb = ConditionAverages.Stack(b.Rates, stride: 50);
        var su = ConditionAverages.Stack(untrained.Rates, stride: 50);
        double ckaAb = Cka.Linear(sa, sb), ckaAu = Cka.Linear(sa, su), rsaAb = Rsa.Compare(sa, sb), rsaAu = Rsa.Compare(sa, su);
        Say($"CKA seed1–seed4 {F(ckaAb)}, seed1–untrained(seed1) {F(ckaAu)}; RSA (Spearman of correlation RDMs) {F(rsaAb)}, {F(rsaAu)}");
        // Response epoch only (800–1000 ms): where the task forces the two networks to agree.
        double ckaResp = Cka.Linear(ConditionAverages.Stack(a.Rates, 10, 800), ConditionAverages.Stack(b.Rates, 10, 800));
        Say($"CKA seed1–seed4, response epoch only: {F(ckaResp)}");
        Assert.InRange(ckaAb, 0, 1);

        // Fixed points of trained network seed 1 with the input off, from 24 states of its delay/response trajectories.
        var f = a.Learner.StepMap([0.0, 0.0, 0.0]);
        var late = a.States.Select(s => Slice(s, 600, 1000)).ToList();
        var starts = FixedPointFinder.StartsFromTrajectories(late, 24, 0.05, Rng.Numbered(5, 0));
        var sw = System.Diagnostics.Stopwatch.StartNew();
        var search = FixedPointFinder.Find(f, NumericalJacobian.Central(f), starts,
            FixedPointOptions.Default with { MaxIterations = 100, StepOverTau = 1.0 / 30, SlowTolerance = 1e-5, DuplicateDistance = 1e-2 });
        Say($"fixed/slow points, input off, {search.Starts} starts ({search.Discarded} discarded), {sw.Elapsed.TotalSeconds:F0} s:");
        foreach (var p in search.Points)
        {
            double z = Math.Tanh(p.X[0]);
            Say($"  {p.Kind} q={p.Q:E1} {p.Describe()}, output r0={F(z)}, hits {p.Hits}, top flow eigenvalue Re λ={F(p.FlowEigenvalues![0].Real)}");
        }
        Assert.All(search.Points, p => Assert.True(p.Q <= 1e-5));

        File.WriteAllLines(Environment.GetEnvironmentVariable("RULEDSL_ANALYSIS_OUT") is { Length: > 0 } o ? o : "dnms-analysis.txt", report);
    }

    private static double[,] Slice(double[,] m, int from, int to)
    {
        int n = m.GetLength(1);
        var s = new double[to - from, n];
        for (int t = from; t < to; t++)
            for (int i = 0; i < n; i++) s[t - from, i] = m[t, i];
        return s;
    }
}
