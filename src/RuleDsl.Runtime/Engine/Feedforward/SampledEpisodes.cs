using RuleDsl.Runtime.Data;

namespace RuleDsl.Runtime.Engine.Feedforward;

/// <summary>Episodes drawn from a data set (M classes, K training and Q query images per class).</summary>
public sealed class SampledEpisodes(EpisodeSampler sampler) : IEpisodeSource
{
    public EpisodeSampler Sampler { get; } = sampler;

    public EpisodeData Get(int episode)
    {
        var e = Sampler.Sample(episode);
        return new EpisodeData(
            e.Train.Select(s => s.Image).ToArray(), e.Train.Select(s => s.Label).ToArray(),
            e.Query.Select(s => s.Image).ToArray(), e.Query.Select(s => s.Label).ToArray());
    }
}
