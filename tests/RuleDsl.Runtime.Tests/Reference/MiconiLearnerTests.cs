using RuleDsl.Runtime.Reference;
using RuleDsl.Runtime.Tasks.Cognitive;

namespace RuleDsl.Runtime.Tests.Reference;

public class MiconiLearnerTests
{
    // A small network keeps these fast; the dynamics and the rule are the same code as at N = 200.
    private static MiconiSettings Small(ulong seed = 3) => MiconiSettings.Default with { N = 40, Seed = seed, LearnAfterTrial = 2 };

    private static DnmsTask ShortDnms() => new(DnmsSettings.Default with { TrialMs = 300, Stim1Ms = 50, Stim2StartMs = 100, Stim2Ms = 50, ResponseMs = 50 });

    [Fact]
    public void A_short_run_is_deterministic_for_a_seed()
    {
        double[] Run(ulong seed)
        {
            var l = new MiconiLearner(ShortDnms(), Small(seed));
            var errs = new double[8];
            for (int i = 0; i < errs.Length; i++) errs[i] = l.RunTrial().Error;
            return errs.Concat(l.RecurrentWeights().Cast<double>()).ToArray();
        }
        Assert.Equal(Run(3), Run(3));
        Assert.NotEqual(Run(3), Run(4));
    }

    [Fact]
    public void Defaults_are_Miconis_settings()
    {
        var s = MiconiSettings.Default;
        Assert.Equal((200, 1.5, 1.0, 30.0, 0), (s.N, s.G, s.Dt, s.Tau, s.OutputNeuron));
        Assert.Equal([new ClampedNeuron(1, 1), new ClampedNeuron(10, 1), new ClampedNeuron(11, -1)], s.BiasNeurons);
        Assert.Equal((0.003, 16.0, 4, 3), (s.PerturbationProbability, s.PerturbationAmplitude, s.PerturbationFromStep, s.EligibilityFromStep));
        Assert.Equal((0.05, 0.75, 0.1, 3e-4, 100), (s.TraceAlpha, s.BaselineAlpha, s.Eta, s.MaxDw, s.LearnAfterTrial));
    }

    [Fact]
    public void Initial_weights_have_the_Sompolinsky_scale_and_no_input_to_the_output_neuron()
    {
        var l = new MiconiLearner(new DnmsTask(), MiconiSettings.Default with { Seed = 11 });
        var j = l.RecurrentWeights().Cast<double>().ToArray();
        double mean = j.Average(), std = Math.Sqrt(j.Select(v => (v - mean) * (v - mean)).Average());
        Assert.InRange(std, 1.5 / Math.Sqrt(200) * 0.98, 1.5 / Math.Sqrt(200) * 1.02);   // 40,000 draws
        Assert.InRange(mean, -0.002, 0.002);
        var win = l.InputWeights();
        for (int k = 0; k < 3; k++) Assert.Equal(0.0, win[0, k]);
        Assert.All(win.Cast<double>(), v => Assert.InRange(v, -1.0, 1.0));
    }

    [Fact]
    public void Bias_neurons_stay_clamped_and_output_is_the_rate_of_neuron_zero()
    {
        var task = ShortDnms();
        var l = new MiconiLearner(task, Small());
        var trial = l.SampleTrial(0);
        var x = new double[trial.Steps, 40];
        var r = new double[trial.Steps, 40];
        l.RunTrial(trial, TrialMode.Test, x, r);
        for (int t = 0; t < trial.Steps; t++)
        {
            Assert.Equal((1.0, 1.0, -1.0), (x[t, 1], x[t, 10], x[t, 11]));
            Assert.Equal(Math.Tanh(x[t, 0]), l.LastOutput[t]);
            Assert.Equal(r[t, 0], l.LastOutput[t]);
        }
    }

    [Fact]
    public void Without_perturbations_the_trajectory_follows_the_step_map()
    {
        // The recorded states must obey x(t) = F(x(t−1)) with F from StepMap: the dynamics equation, checked
        // independently of the trial loop. Initial states are random, so compare step to step.
        var task = ShortDnms();
        var l = new MiconiLearner(task, Small());
        var trial = l.SampleTrial(1);
        var x = new double[trial.Steps, 40];
        l.RunTrial(trial, TrialMode.TestWithoutPerturbations, x);
        for (int t = 1; t < trial.Steps; t++)
        {
            var f = l.StepMap(trial.Inputs[t]);
            var prev = Enumerable.Range(0, 40).Select(i => x[t - 1, i]).ToArray();
            var next = f(prev);
            for (int i = 0; i < 40; i++) Assert.Equal(x[t, i], next[i], 12);
        }
    }

    [Fact]
    public void Test_mode_neither_changes_weights_nor_counts_trials()
    {
        var l = new MiconiLearner(ShortDnms(), Small());
        for (int i = 0; i < 5; i++) l.RunTrial();
        var before = l.RecurrentWeights();
        var baseline = l.ErrorBaseline.ToArray();
        var o = l.RunTrial(l.SampleTrial(5), TrialMode.Test);
        Assert.False(o.WeightsChanged);
        Assert.Equal(5, l.TrialsRun);
        Assert.Equal(before, l.RecurrentWeights());
        Assert.Equal(baseline, l.ErrorBaseline.ToArray());
    }

    [Fact]
    public void Weights_change_only_after_the_warm_up_trials_and_within_the_clip()
    {
        var s = Small() with { LearnAfterTrial = 4 };
        var l = new MiconiLearner(ShortDnms(), s);
        var j0 = l.RecurrentWeights();
        for (int i = 0; i <= 4; i++) Assert.False(l.RunTrial().WeightsChanged);   // trials 0..4
        Assert.Equal(j0, l.RecurrentWeights());
        Assert.True(l.RunTrial().WeightsChanged);                                 // trial 5 > 4
        var j1 = l.RecurrentWeights();
        double maxChange = 0;
        for (int a = 0; a < 40; a++)
            for (int b = 0; b < 40; b++) maxChange = Math.Max(maxChange, Math.Abs(j1[a, b] - j0[a, b]));
        Assert.True(maxChange > 0);
        Assert.True(maxChange <= s.MaxDw * (1 + 1e-12));
    }

    [Fact]
    public void Error_baseline_is_a_per_condition_running_average()
    {
        var l = new MiconiLearner(ShortDnms(), Small() with { LearnAfterTrial = 1000 });
        var errs = new List<double>();
        for (int i = 0; i < 8; i++) errs.Add(l.RunTrial().Error);
        // Conditions cycle 0,1,2,3: condition c saw trials c and c + 4.
        for (int c = 0; c < 4; c++)
        {
            double expected = 0.75 * (0.25 * errs[c]) + 0.25 * errs[c + 4];
            Assert.Equal(expected, l.ErrorBaseline[c], 14);
        }
    }

    [Fact]
    public void The_weight_change_is_minus_eta_baseline_times_error_excess_times_eligibility()
    {
        // Rebuild the eligibility of one learning trial from the recorded rates and states with the naive
        // per-synapse formula of Miconi's code, and compare the resulting ΔJ with the learner's.
        var s = Small() with { LearnAfterTrial = 0, MaxDw = 1e9 };
        var task = ShortDnms();
        var learner = new MiconiLearner(task, s);
        var twin = new MiconiLearner(task, s);   // same seed: same weights, inputs, states, perturbations
        learner.RunTrial();                      // trial 0: no change (index must exceed LearnAfterTrial)
        twin.RunTrial();
        double baseline = learner.ErrorBaseline[1];
        Assert.Equal(0.0, baseline);             // condition 1 not seen yet; feed it one trial first
        for (int i = 1; i < 5; i++) { learner.RunTrial(); twin.RunTrial(); }
        // Trial 5 is condition 1, whose baseline is now that of trial 1.
        int n = s.N;
        double eb = learner.ErrorBaseline[1];
        var j0 = learner.RecurrentWeights();
        var xBar = twin.RunningAverage.ToArray();
        var trial = twin.SampleTrial(5);
        var x = new double[trial.Steps, n];
        var r = new double[trial.Steps, n];
        // Twin replays the same trial in Learn mode while recording; learner runs it through RunTrial().
        var ot = twin.RunTrial(trial, TrialMode.Learn, x, r);
        var ol = learner.RunTrial();
        Assert.Equal(ot.Error, ol.Error);
        var e = new double[n, n];
        var rPrev = new double[n];
        for (int t = 0; t < trial.Steps; t++)
        {
            for (int i = 0; i < n; i++)
            {
                double dx = x[t, i] - xBar[i];
                xBar[i] = 0.05 * xBar[i] + 0.95 * x[t, i];
                if (t >= 3)
                    for (int j = 0; j < n; j++) { double inc = rPrev[j] * dx; e[i, j] += inc * inc * inc; }
            }
            for (int j = 0; j < n; j++) rPrev[j] = r[t, j];
        }
        var j1 = learner.RecurrentWeights();
        var expected = new double[n, n];
        double scale = 0;
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++)
            {
                expected[i, j] = -s.Eta * eb * (ol.Error - eb) * e[i, j];
                scale = Math.Max(scale, Math.Abs(expected[i, j]));
            }
        Assert.True(scale > 0);
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++)
                Assert.True(Math.Abs(j1[i, j] - j0[i, j] - expected[i, j]) <= 1e-10 * scale,
                            $"ΔJ[{i},{j}] = {j1[i, j] - j0[i, j]}, expected {expected[i, j]}");
    }

    [Fact]
    public void Mismatched_dt_is_a_clear_error()
    {
        var ex = Assert.Throws<ArgumentException>(() => new MiconiLearner(new DnmsTask(DnmsSettings.Default with { Dt = 2 }), MiconiSettings.Default));
        Assert.Contains("dt", ex.Message);
    }

    [Fact]
    public void Runs_on_every_task()
    {
        foreach (var name in CognitiveTasks.Names)
        {
            var l = new MiconiLearner(CognitiveTasks.Create(name), Small());
            var o = l.RunTrial();
            Assert.True(double.IsFinite(o.Error));
            Assert.InRange(o.Error, 0, 2);
        }
    }
}
