namespace RuleDsl.Runtime.Data;

/// <summary>One labelled example of an episode: the image row (shared with the data set, do not modify), the episode label 0..M−1, and where it came from.</summary>
public readonly record struct Sample(double[] Image, int Label, int SourceIndex);

/// <summary>
/// One meta-learning episode (a task): M classes, K training samples per class in shuffled order
/// (fed online, one per step) and Q query samples per class, disjoint from the training ones.
/// </summary>
/// <param name="Classes">Classes[m] is the data set's label of episode label m.</param>
public sealed record Episode(
    int Index,
    int[] Classes,
    string[] ClassNames,
    Sample[] Train,
    Sample[] Query);

/// <summary>
/// Draws episodes as in Shervani-Tabar &amp; Rosenbaum (2023), section 4.3: per episode, M of the data set's
/// classes (default 5), K training and Q query images per class (defaults 50 and 10), all distinct; episode
/// labels 0..M−1 in the order the classes were drawn; the training set shuffled, the query set shuffled.
/// An episode is a pure function of (seed, episode index): it uses the stream <c>Rng.Stream(StreamKind.DataEpisode, seed, index)</c>,
/// so any episode can be regenerated alone, e.g. when a run resumes.
/// </summary>
public sealed class EpisodeSampler
{
    public Dataset Data { get; }
    public int Ways { get; }
    public int TrainPerClass { get; }
    public int QueryPerClass { get; }
    public ulong Seed { get; }
    /// <summary>The data set labels episodes draw from (all classes unless restricted, e.g. to held-out classes).</summary>
    public IReadOnlyList<int> ClassPool { get; }

    public EpisodeSampler(Dataset data, ulong seed, int ways = 5, int trainPerClass = 50, int queryPerClass = 10,
                          IReadOnlyList<int>? classPool = null)
    {
        if (ways < 1) throw new ArgumentOutOfRangeException(nameof(ways), $"ways (M) must be at least 1, was {ways}");
        if (trainPerClass < 1) throw new ArgumentOutOfRangeException(nameof(trainPerClass), $"training samples per class (K) must be at least 1, was {trainPerClass}");
        if (queryPerClass < 0) throw new ArgumentOutOfRangeException(nameof(queryPerClass), $"query samples per class (Q) must be non-negative, was {queryPerClass}");
        var pool = (classPool ?? Enumerable.Range(0, data.ClassCount).ToArray()).ToArray();
        if (pool.Distinct().Count() != pool.Length)
            throw new DataException($"{data.Name}: the class pool lists a class twice");
        foreach (var c in pool)
            if (c < 0 || c >= data.ClassCount)
                throw new DataException($"{data.Name}: class {c} is not a class of the data set (0..{data.ClassCount - 1})");
        if (ways > pool.Length)
            throw new DataException($"{data.Name}: cannot draw {ways} classes per episode from {pool.Length} classes");
        int need = trainPerClass + queryPerClass;
        var counts = data.ClassCounts();
        var short_ = pool.Where(c => counts[c] < need).ToArray();
        if (short_.Length > 0)
        {
            var c = short_[0];
            throw new DataException(
                $"{data.Name}: class {c} (\"{data.ClassNames[c]}\") has {counts[c]} images, an episode needs {need} per class " +
                $"(K = {trainPerClass} training + Q = {queryPerClass} query){(short_.Length > 1 ? $"; {short_.Length} classes are short" : "")}");
        }
        Data = data;
        Seed = seed;
        Ways = ways;
        TrainPerClass = trainPerClass;
        QueryPerClass = queryPerClass;
        ClassPool = pool;
    }

    /// <summary>Episode <paramref name="index"/> (non-negative).</summary>
    public Episode Sample(int index)
    {
        if (index < 0) throw new ArgumentOutOfRangeException(nameof(index), $"episode index {index} is negative");
        var rng = Rng.Stream(StreamKind.DataEpisode, Seed, index);
        var classes = rng.ChooseWithoutReplacement(ClassPool, Ways);
        var train = new Sample[Ways * TrainPerClass];
        var query = new Sample[Ways * QueryPerClass];
        for (int m = 0; m < Ways; m++)
        {
            var members = Data.IndicesOfClass(classes[m]);
            var pick = rng.ChooseWithoutReplacement(members.Count, TrainPerClass + QueryPerClass);
            for (int k = 0; k < TrainPerClass; k++)
            {
                int src = members[pick[k]];
                train[m * TrainPerClass + k] = new Sample(Data.Images[src], m, src);
            }
            for (int q = 0; q < QueryPerClass; q++)
            {
                int src = members[pick[TrainPerClass + q]];
                query[m * QueryPerClass + q] = new Sample(Data.Images[src], m, src);
            }
        }
        rng.Shuffle(train);
        rng.Shuffle(query);
        return new Episode(index, classes, classes.Select(c => Data.ClassNames[c]).ToArray(), train, query);
    }
}
