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
        return new TrialData(t.Inputs, t.Target, t.Mask.Select(m => m ? 1.0 : 0.0).ToArray(), t.Condition) { Source = t };
    }

    public bool IsCorrect(TrialData trial, double reward, double[] output) =>
        trial.Source is Trial t ? t.IsCorrect(output) : throw new ArgumentException("trial not made by this task");
}
