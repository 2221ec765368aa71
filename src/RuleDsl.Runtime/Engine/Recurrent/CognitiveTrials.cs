using RuleDsl.Runtime.Tasks.Cognitive;

namespace RuleDsl.Runtime.Engine.Recurrent;

/// <summary>The trials of a cognitive task as the recurrent learner reads them. Trial h of episode e
/// comes from the task's own generator on the stream (seed, e·2²⁰ + h) (<see cref="RecurrentStreams.Task"/>),
/// so episodes and trials can be replayed alone.</summary>
public sealed class CognitiveTrials(ICognitiveTask task, ulong seed) : ITrialSource
{
    public ICognitiveTask Task { get; } = task;
    public int InputCount => Task.InputCount;
    public int Conditions => Task.ConditionCount;

    public TrialData Get(int episode, int trial)
    {
        var t = RecurrentStreams.Task(Task, seed, episode, trial);
        return Data(t, new double[t.Steps]);
    }

    /// <summary>The same trial in the caller's buffers: the task's arrays and the mask are written again
    /// for every trial instead of allocated (a thousand-step trial was ~80 KB of garbage).</summary>
    public TrialData Get(int episode, int trial, TrialBuffers reuse)
    {
        if (Task is not CognitiveTask task) return Get(episode, trial);
        reuse.Builder ??= task.NewBuilder();
        reuse.Rng ??= new Data.Rng(0);
        var t = RecurrentStreams.Task(task, seed, episode, trial, reuse.Builder, reuse.Rng);
        if (reuse.Mask.Length != t.Steps) reuse.Mask = new double[t.Steps];
        return Data(t, reuse.Mask);
    }

    /// <summary>The learner's view of a task's trial, its scoring mask as 0/1 written into <paramref name="mask"/>.</summary>
    static TrialData Data(Trial t, double[] mask)
    {
        for (int k = 0; k < t.Steps; k++) mask[k] = t.Mask[k] ? 1.0 : 0.0;
        return new TrialData(t.Inputs, t.Target, mask, t.Condition) { Source = t };
    }

    public bool IsCorrect(TrialData trial, double reward, double[] output) =>
        trial.Source is Trial t ? t.IsCorrect(output) : throw new ArgumentException("trial not made by this task");
}
