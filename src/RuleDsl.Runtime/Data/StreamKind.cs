namespace RuleDsl.Runtime.Data;

/// <summary>
/// What a stream of random numbers is for. Each kind derives its generator from a seed and its indices
/// in a fixed way (<see cref="Rng.Stream"/>), so a seed written in a results file keeps giving the same numbers.
/// </summary>
/// <remarks>
/// The derivations are the ones results were recorded with and must not change: most absorb a tag and
/// the indices through <see cref="Rng.For(ulong, ulong[])"/>; the two task kinds number their stream
/// (<see cref="Rng.Numbered"/>), as the cognitive tasks' generator did before it was merged into this one.
/// <see cref="DataEpisode"/> and <see cref="Bootstrap"/> share a derivation (no tag), so with the same
/// seed and index they give the same numbers.
/// </remarks>
public enum StreamKind
{
    /// <summary>One episode of a data set (its classes and samples); index: episode.</summary>
    DataEpisode,
    /// <summary>The resamples of one point of a bootstrap band; index: point.</summary>
    Bootstrap,
    /// <summary>A feedforward network's initial weights and feedback; index: episode.</summary>
    FeedforwardWeights,
    /// <summary>The meta-gradient directions (random projections, REINFORCE); index: episode.</summary>
    Directions,
    /// <summary>A recurrent network's initial weights; index: episode.</summary>
    RecurrentWeights,
    /// <summary>A recurrent learning trial's initial state and perturbations; indices: episode, trial.</summary>
    RecurrentTrial,
    /// <summary>A test trial of the plain recurrent learner (Reference/MiconiLearner); index: test trial.</summary>
    TestTrial,
    /// <summary>A cognitive task's trial (timing, irrelevant features, input noise); indices: episode, trial.</summary>
    TaskTrial,
    /// <summary>The starting points of a fixed-point search (network analysis); no index.</summary>
    FixedPointStarts,
}
