using RuleDsl.Bench;
using RuleDsl.Runtime.Engine.Recurrent;

namespace RuleDsl.Runtime.Tests.Engine;

/// A learning trial of the recurrent learner allocates nothing: the task's arrays and its Trial, both random
/// streams (restarted generators) and every kernel's buffers are the run's, made once (it was ≈ 80 KB per
/// trial when the task's per-step arrays were new, then ≈ 0.4–1 KB for the Trial, the generators and the
/// names of the trace tangents). Measured as the difference between a run of 16 and one of 8 trials on this
/// thread (the run's own set-up is the same for both), plain and with tangents (one kernel per direction
/// and the tangent block).
public class TrialAllocationTests
{
    static long Allocated(string rule, int horizon, int directions)
    {
        var session = RecurrentRows.Session(20, horizon, rule);
        var theta = session.Theta.Initial;
        double[][] dirs = Enumerable.Range(0, directions)
            .Select(i => Enumerable.Range(0, theta.Length).Select(j => i == j ? 1.0 : 0).ToArray()).ToArray();
        var learner = (RecurrentLearner)session.LoopFactory()(0);
        learner.Run(theta, dirs, 1, default);                  // warm: kernels compiled, caches filled
        long before = GC.GetAllocatedBytesForCurrentThread();
        var outcome = learner.Run(theta, dirs, 1, default);
        long bytes = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Null(outcome.Failure);
        return bytes;
    }

    [Theory]
    [InlineData("miconi.rule miconi", 0)]
    [InlineData("neo_hebbian.rule neo_hebbian", 9)]
    [InlineData("neo_hebbian.rule miconi_family", 16)]
    public void A_learning_trial_allocates_nothing(string rule, int directions)
    {
        long h = Allocated(rule, 8, directions), twice = Allocated(rule, 16, directions);
        Assert.True(twice <= h, $"{(twice - h) / 8.0:F0} bytes allocated per trial ({h} B for 8 trials, {twice} B for 16)");
    }
}
