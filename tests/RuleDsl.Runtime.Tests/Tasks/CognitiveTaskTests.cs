using RuleDsl.Runtime.Data;
using RuleDsl.Runtime.Tasks.Cognitive;

namespace RuleDsl.Runtime.Tests.Tasks;

public class DnmsTaskTests
{
    [Fact]
    public void Trials_have_Miconis_shape_and_timing()
    {
        var task = new DnmsTask();
        Assert.Equal((3, 4, 1000), (task.InputCount, task.ConditionCount, task.TrialSteps(1.0)));
        Assert.Equal(500, task.TrialSteps(2.0));
        var rng = Rng.Numbered(1, 0);
        for (int i = 0; i < 8; i++)
        {
            var trial = task.Sample(i, rng);
            Assert.Equal(i % 4, trial.Condition);
            Assert.Equal(1000, trial.Steps);
            var (first, second) = DnmsTask.Channels(trial.Condition);
            for (int t = 0; t < 1000; t++)
            {
                Assert.Equal(0.0, trial.Inputs[t][0]);   // channel 0 unused
                for (int k = 1; k <= 2; k++)
                {
                    double expected = (k == first && t is >= 1 and <= 200) || (k == second && t is >= 400 and <= 599) ? 1.0 : 0.0;
                    Assert.Equal(expected, trial.Inputs[t][k]);
                }
                Assert.Equal(t >= 800, trial.Mask[t]);
            }
        }
    }

    [Theory]
    [InlineData(0, -0.98)]   // AA match
    [InlineData(1, 0.98)]    // AB non-match
    [InlineData(2, 0.98)]    // BA non-match
    [InlineData(3, -0.98)]   // BB match
    public void Targets_are_minus_for_match_plus_for_non_match(int condition, double target)
    {
        var trial = new DnmsTask().Sample(condition, Rng.Numbered(0, 0));
        Assert.All(Enumerable.Range(800, 200), t => Assert.Equal(target, trial.Target[t]));
    }

    [Fact]
    public void Error_is_the_mean_absolute_error_over_the_last_200_ms_and_correct_below_one()
    {
        var trial = new DnmsTask().Sample(1, Rng.Numbered(0, 0));   // AB: target +0.98
        var output = new double[1000];
        Array.Fill(output, -5.0, 0, 800);                       // unscored steps do not count
        Array.Fill(output, 0.98, 800, 200);
        Assert.Equal(0.0, trial.Error(output), 15);
        Assert.True(trial.IsCorrect(output));

        Array.Fill(output, 0.48, 800, 100);
        Array.Fill(output, 0.98, 900, 100);
        Assert.Equal(0.25, trial.Error(output), 12);            // half the window off by 0.5
        Assert.Equal(-0.25, trial.Reward(output), 12);

        Array.Fill(output, 0.0, 800, 200);                      // silent output: error 0.98 < 1, Miconi counts it correct
        Assert.True(trial.IsCorrect(output));
        Array.Fill(output, -0.03, 800, 200);                    // error 1.01
        Assert.False(trial.IsCorrect(output));
        Array.Fill(output, -0.98, 800, 200);
        Assert.Equal(1.96, trial.Error(output), 12);
        Assert.False(trial.IsCorrect(output));
    }

    [Fact]
    public void Output_of_the_wrong_length_is_rejected()
    {
        var trial = new DnmsTask().Sample(0, Rng.Numbered(0, 0));
        var ex = Assert.Throws<ArgumentException>(() => trial.Error(new double[999]));
        Assert.Contains("999", ex.Message);
    }

    [Fact]
    public void Bad_settings_are_clear_errors()
    {
        var ex = Assert.Throws<ArgumentException>(() => new DnmsTask(DnmsSettings.Default with { Stim2StartMs = 900 }));
        Assert.Contains("stimulus 2", ex.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => new DnmsTask(DnmsSettings.Default with { Dt = 0 }));
        var unknown = Assert.Throws<ArgumentException>(() => CognitiveTasks.Create("dmns"));
        Assert.Contains("dnms", unknown.Message);
    }
}

public class PerceptualDecisionTaskTests
{
    [Fact]
    public void Shapes_conditions_and_labels()
    {
        var task = new PerceptualDecisionTask();
        Assert.Equal((1, 6, 700), (task.InputCount, task.ConditionCount, task.TrialSteps(1)));
        Assert.Equal([0.05, -0.05, 0.1, -0.1, 0.2, -0.2], Enumerable.Range(0, 6).Select(task.SignedCoherence));
        Assert.Equal("coherence -0.1", task.ConditionLabel(3));
    }

    [Fact]
    public void Same_generator_state_gives_the_same_trial_different_seeds_different_noise()
    {
        var task = new PerceptualDecisionTask();
        var a = task.Sample(5, Rng.Numbered(11, 0));
        var b = task.Sample(5, Rng.Numbered(11, 0));
        var c = task.Sample(5, Rng.Numbered(12, 0));
        Assert.Equal(a.Inputs.SelectMany(u => u), b.Inputs.SelectMany(u => u));
        Assert.NotEqual(a.Inputs.SelectMany(u => u), c.Inputs.SelectMany(u => u));
        Assert.Equal(a.Target, c.Target);   // the answer depends on the condition only
    }

    [Fact]
    public void Evidence_has_the_coherence_as_mean_and_the_set_noise()
    {
        var task = new PerceptualDecisionTask(PerceptualDecisionSettings.Default with { Coherences = [0.2] });
        var rng = Rng.Numbered(3, 0);
        var values = new List<double>();
        for (int i = 0; i < 40; i++)
        {
            var trial = task.Sample(2 * i, rng);                  // condition 0: +0.2
            for (int t = 1; t <= 500; t++) values.Add(trial.Inputs[t][0]);
            Assert.Equal(0.0, trial.Inputs[0][0]);
            Assert.All(Enumerable.Range(501, 199), t => Assert.Equal(0.0, trial.Inputs[t][0]));
        }
        double mean = values.Average(), std = Math.Sqrt(values.Select(v => (v - mean) * (v - mean)).Average());
        Assert.InRange(mean, 0.2 - 0.015, 0.2 + 0.015);           // SE 0.0035
        Assert.InRange(std, 0.49, 0.51);
    }

    [Fact]
    public void Zero_coherence_needs_realized_evidence_targets()
    {
        var ex = Assert.Throws<ArgumentException>(() => new PerceptualDecisionTask(PerceptualDecisionSettings.Default with { Coherences = [0.0, 0.1] }));
        Assert.Contains("TargetFromRealizedEvidence", ex.Message);
        Assert.Throws<ArgumentException>(() => new ContextIntegrationTask(ContextIntegrationSettings.Default with { Coherences = [0.0] }));
    }

    [Fact]
    public void Noise_scales_with_dt_so_integrated_evidence_does_not()
    {
        var task = new PerceptualDecisionTask(PerceptualDecisionSettings.Default with { Coherences = [0.0], TargetFromRealizedEvidence = true, Dt = 4 });
        Assert.Equal(175, task.TrialSteps(4));
        var rng = Rng.Numbered(5, 0);
        var values = new List<double>();
        for (int i = 0; i < 100; i++)
        {
            var trial = task.Sample(i, rng);
            for (int t = 1; t < 126; t++) values.Add(trial.Inputs[t][0]);
        }
        double std = Math.Sqrt(values.Select(v => v * v).Average());
        Assert.InRange(std, 0.25 * 0.98, 0.25 * 1.02);            // 0.5/√4
    }

    [Fact]
    public void The_answer_is_the_sign_of_the_evidence_read_from_the_mean_output()
    {
        var task = new PerceptualDecisionTask();
        var rng = Rng.Numbered(2, 0);
        var pos = task.Sample(4, rng);                            // +0.2
        var neg = task.Sample(5, rng);                            // −0.2
        Assert.Equal(0.98, pos.Target[699]);
        Assert.Equal(-0.98, neg.Target[699]);
        Assert.Equal(200, pos.ScoredSteps);
        var output = new double[700];
        Array.Fill(output, 0.3, 500, 200);
        Assert.True(pos.IsCorrect(output));
        Assert.False(neg.IsCorrect(output));
        Assert.Equal(0.68, pos.Error(output), 12);
        Array.Fill(output, -0.9, 500, 100);                       // mean −0.3 over the window
        Assert.False(pos.IsCorrect(output));
    }

    [Fact]
    public void Realized_evidence_targets_follow_the_noisy_mean()
    {
        var task = new PerceptualDecisionTask(PerceptualDecisionSettings.Default with { Coherences = [0.0], TargetFromRealizedEvidence = true });
        var rng = Rng.Numbered(8, 0);
        int pos = 0;
        for (int i = 0; i < 200; i++)
        {
            var trial = task.Sample(i, rng);
            double mean = Enumerable.Range(1, 500).Average(t => trial.Inputs[t][0]);
            Assert.Equal(Math.Sign(mean) * 0.98, trial.Target[650]);
            if (mean > 0) pos++;
        }
        Assert.InRange(pos, 70, 130);                             // zero coherence: both answers occur
    }
}

public class ContextIntegrationTaskTests
{
    [Fact]
    public void The_answer_follows_the_cued_stream_only()
    {
        var task = new ContextIntegrationTask();
        Assert.Equal((4, 4, 700), (task.InputCount, task.ConditionCount, task.TrialSteps(1)));
        var rng = Rng.Numbered(4, 0);
        var irrelevantSigns = new HashSet<(int, int)>();
        for (int i = 0; i < 200; i++)
        {
            var trial = task.Sample(i, rng);
            var (context, coherence) = task.Decode(trial.Condition);
            double relevantMean = Enumerable.Range(1, 500).Average(t => trial.Inputs[t][context]);
            double irrelevantMean = Enumerable.Range(1, 500).Average(t => trial.Inputs[t][1 - context]);
            // ±0.1 mean with noise SE 0.022: the sign is unambiguous.
            Assert.Equal(Math.Sign(coherence), Math.Sign(relevantMean));
            Assert.Equal(Math.Sign(coherence) * 0.98, trial.Target[600]);
            irrelevantSigns.Add((trial.Condition, Math.Sign(irrelevantMean)));
            for (int t = 0; t < 700; t++)
            {
                Assert.Equal(1.0, trial.Inputs[t][2 + context]);   // cue on for the whole trial
                Assert.Equal(0.0, trial.Inputs[t][3 - context]);
            }
            Assert.True(t0Silent(trial) && afterStimulusSilent(trial));
        }
        Assert.Equal(8, irrelevantSigns.Count);   // within every condition the other stream takes both signs

        static bool t0Silent(Trial trial) => trial.Inputs[0][0] == 0 && trial.Inputs[0][1] == 0;
        static bool afterStimulusSilent(Trial trial) => Enumerable.Range(501, 199).All(t => trial.Inputs[t][0] == 0 && trial.Inputs[t][1] == 0);
    }

    [Fact]
    public void Conditions_encode_level_context_and_sign()
    {
        var task = new ContextIntegrationTask(ContextIntegrationSettings.Default with { Coherences = [0.1, 0.3] });
        Assert.Equal(8, task.ConditionCount);
        Assert.Equal((1, -0.3), task.Decode(7));
        Assert.Equal((0, 0.3), task.Decode(4));
        Assert.Equal("attend stream 2, its coherence -0.1", task.ConditionLabel(3));
    }
}

public class GoNoGoTaskTests
{
    [Fact]
    public void Go_responds_high_no_go_withholds()
    {
        var task = new GoNoGoTask();
        Assert.Equal((2, 2, 700), (task.InputCount, task.ConditionCount, task.TrialSteps(1)));
        var rng = Rng.Numbered(0, 0);
        var go = task.Sample(0, rng);
        var nogo = task.Sample(1, rng);
        Assert.Equal((1.0, 0.0), (go.Inputs[100][0], go.Inputs[100][1]));
        Assert.Equal((0.0, 1.0), (nogo.Inputs[100][0], nogo.Inputs[100][1]));
        Assert.All(go.Inputs.Skip(201), u => Assert.Equal([0.0, 0.0], u));   // delay and response: no input
        Assert.Equal((0.98, 0.0), (go.Target[650], nogo.Target[650]));
        Assert.Equal(0.49, task.DecisionThreshold, 15);

        var output = new double[700];
        Array.Fill(output, 0.9, 500, 200);
        Assert.True(go.IsCorrect(output));
        Assert.False(nogo.IsCorrect(output));
        Array.Fill(output, 0.1, 500, 200);
        Assert.False(go.IsCorrect(output));
        Assert.True(nogo.IsCorrect(output));
        Assert.Equal(0.1, nogo.Error(output), 12);
    }

    [Fact]
    public void A_cue_overlapping_the_response_window_is_rejected()
    {
        var ex = Assert.Throws<ArgumentException>(() => new GoNoGoTask(GoNoGoSettings.Default with { CueMs = 550 }));
        Assert.Contains("response", ex.Message);
    }
}

public class TrialBuilderTests
{
    [Fact]
    public void Epochs_in_ms_map_to_steps_at_any_dt()
    {
        var b = new TrialBuilder(1000, 1, 1.0);
        Assert.Equal((1, 201), b.Epoch(1, 200));
        var b2 = new TrialBuilder(1000, 1, 2.0);
        Assert.Equal(500, b2.Steps);
        Assert.Equal((1, 101), b2.Epoch(1, 200));                 // 0.5 and 100.5 round away from zero
        Assert.Equal((400, 500), b2.Epoch(800, 500));             // clipped to the trial
    }

    [Fact]
    public void A_builder_builds_once()
    {
        var b = new TrialBuilder(10, 1, 1.0).Score(5, 5, 1.0);
        b.Build(0, 0, "x", new Scoring(Correctness.ErrorBelowThreshold, 1));
        Assert.Throws<InvalidOperationException>(() => b.Add(0, 0, 1, 1.0));
        Assert.Throws<InvalidOperationException>(() => b.Build(0, 0, "x", new Scoring(Correctness.ErrorBelowThreshold, 1)));
    }

    [Fact]
    public void A_trial_without_scored_steps_is_rejected() =>
        Assert.Throws<ArgumentException>(() => new TrialBuilder(10, 1, 1.0).Build(0, 0, "x", new Scoring(Correctness.ErrorBelowThreshold, 1)));
}
