using RuleDsl.Runtime.Engine.Recurrent;
using RuleDsl.Runtime.Tasks.Cognitive;

namespace RuleDsl.Runtime.Tests.Tasks;

/// A learner draws trial after trial into the same buffers (no allocation per step): every trial read
/// that way equals the trial drawn fresh, for every task, across conditions and noise draws, and a builder
/// of another task's shape is refused.
public class ReusedTrialsTests
{
    [Theory]
    [InlineData("dnms")]
    [InlineData("perceptual-decision")]
    [InlineData("context-integration")]
    [InlineData("go-nogo")]
    public void Trials_written_into_reused_buffers_equal_fresh_ones(string name)
    {
        var trials = new CognitiveTrials(CognitiveTasks.Create(name, dt: 5), seed: 11);
        var buffers = new TrialBuffers();
        double[][]? firstInputs = null;
        for (int h = 0; h < 9; h++)
        {
            var fresh = trials.Get(episode: 2, h);
            var reused = trials.Get(episode: 2, h, buffers);
            Assert.Equal(fresh.Condition, reused.Condition);
            Assert.Equal(fresh.Target, reused.Target);
            Assert.Equal(fresh.Mask, reused.Mask);
            Assert.Equal(fresh.Inputs.Length, reused.Inputs.Length);
            for (int t = 0; t < fresh.Inputs.Length; t++) Assert.Equal(fresh.Inputs[t], reused.Inputs[t]);
            // The same arrays every trial: nothing allocated per step.
            firstInputs ??= reused.Inputs;
            Assert.Same(firstInputs, reused.Inputs);
        }
    }

    [Fact]
    public void A_builder_of_another_shape_is_refused()
    {
        var dnms = (CognitiveTask)CognitiveTasks.Create("dnms", dt: 5);
        var other = (CognitiveTask)CognitiveTasks.Create("go-nogo", dt: 5);
        var ex = Assert.Throws<ArgumentException>(() => dnms.Sample(0, RuleDsl.Runtime.Data.Rng.Stream(RuleDsl.Runtime.Data.StreamKind.TaskTrial, 1, 0, 0), other.NewBuilder()));
        Assert.Contains("does not fit task dnms", ex.Message);
    }
}
