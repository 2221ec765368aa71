using RuleDsl.Runtime.Tasks.Cognitive;

namespace RuleDsl.Runtime.Engine.Recurrent;

/// <summary>
/// The random streams of one recurrent learning run, in one place so that the engine and the plain
/// reference learner (Reference/MiconiLearner) draw the same numbers for the same seed: a network's
/// initial weights, each learning trial's initial state and kicks, and each trial of the task. Every
/// stream is keyed by (seed, episode, trial), so a trial can be replayed alone (finite differences).
/// </summary>
public static class RecurrentStreams
{
    /// <summary>W ~ N(0, G²/N) row by row, then W_in ~ U[−1, 1] row by row.</summary>
    public static Data.Rng Init(ulong seed, int episode) => Data.Rng.Stream(Data.StreamKind.RecurrentWeights, seed, episode);

    /// <summary>Trial h's initial state (one draw per unit), then its kicks (per step, per unit).</summary>
    public static Data.Rng Trial(ulong seed, int episode, int trial) => Data.Rng.Stream(Data.StreamKind.RecurrentTrial, seed, episode, trial);

    /// <summary>The same stream in a generator the caller reuses from trial to trial.</summary>
    public static Data.Rng Trial(ulong seed, int episode, int trial, Data.Rng reuse) =>
        reuse.Restart(Data.StreamKind.RecurrentTrial, seed, episode, trial);

    /// <summary>Trial h of the task, from its own stream.</summary>
    public static Trial Task(ICognitiveTask task, ulong seed, int episode, int trial) =>
        task.Sample(trial, TaskStream(seed, episode, trial));

    /// <summary>The same trial written into a reused builder's arrays, drawn from a reused generator.</summary>
    public static Trial Task(CognitiveTask task, ulong seed, int episode, int trial, TrialBuilder reuse, Data.Rng rng) =>
        task.Sample(trial, rng.Restart(Data.StreamKind.TaskTrial, seed, episode, trial), reuse);

    static Data.Rng TaskStream(ulong seed, int episode, int trial) => Data.Rng.Stream(Data.StreamKind.TaskTrial, seed, episode, trial);
}
