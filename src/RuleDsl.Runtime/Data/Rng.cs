namespace RuleDsl.Runtime.Data;

/// <summary>
/// The runtime's pseudo-random generator: xoshiro256** (Blackman &amp; Vigna, 2018) seeded through SplitMix64.
/// Written out here, not taken from System.Random, so that a seed gives the same sequence on every .NET
/// version and every machine; results files record seeds and must stay reproducible. The runtime's streams
/// are named by <see cref="StreamKind"/>; tests and benches may also seed one directly or derive their own.
/// </summary>
/// <remarks>
/// Derived streams: <see cref="For(ulong, ulong[])"/> mixes a seed with a path of indices (trial, episode, …)
/// through SplitMix64, so "episode 17 of trial 3" is one fixed stream independent of how many numbers
/// earlier episodes consumed.
/// Doubles take the top 53 bits (<c>(x &gt;&gt; 11) * 2^-53</c>), integers below a bound use Lemire's
/// multiply-and-reject method (unbiased). Normals use the Box–Muller transform, in two ways that are both in
/// recorded results: <see cref="Normal()"/> keeps the pair's second value for the next call,
/// <see cref="NormalFresh()"/> (the task streams') discards it. Not thread-safe; one instance per consumer.
/// </remarks>
public sealed class Rng
{
    private ulong s0, s1, s2, s3;
    private double spareNormal;
    private bool hasSpareNormal;

    /// <summary>A generator whose four state words are the first four SplitMix64 outputs from <paramref name="seed"/>.</summary>
    public Rng(ulong seed) => Seed(seed);

    void Seed(ulong seed)
    {
        ulong x = seed;
        s0 = SplitMix64(ref x);
        s1 = SplitMix64(ref x);
        s2 = SplitMix64(ref x);
        s3 = SplitMix64(ref x);
        // SplitMix64 never yields four zero words in a row, but guard the one forbidden state anyway.
        if ((s0 | s1 | s2 | s3) == 0) s0 = 1;
        hasSpareNormal = false;
        spareNormal = 0;
    }

    /// <summary>This generator, restarted at the beginning of the stream <see cref="Stream"/> would return
    /// for the same arguments (the same numbers, without a new object: a learner's per-trial streams).</summary>
    public Rng Restart(StreamKind kind, ulong seed, params ReadOnlySpan<int> indices)
    {
        Seed(StreamSeed(kind, seed, indices));
        return this;
    }

    /// <summary>A generator with the given xoshiro256** state (not all zero); for reproducing published test vectors.</summary>
    public static Rng FromState(ulong s0, ulong s1, ulong s2, ulong s3)
    {
        if ((s0 | s1 | s2 | s3) == 0) throw new ArgumentException("xoshiro256** state must not be all zero");
        var r = new Rng(0);
        (r.s0, r.s1, r.s2, r.s3) = (s0, s1, s2, s3);
        return r;
    }

    /// <summary>The stream of <paramref name="kind"/> for <paramref name="seed"/> and the kind's indices
    /// (non-negative; how many, and what they count, is said on each <see cref="StreamKind"/>).</summary>
    public static Rng Stream(StreamKind kind, ulong seed, params ReadOnlySpan<int> indices) => new(StreamSeed(kind, seed, indices));

    /// <summary>The seed of <see cref="Stream"/>'s generator: every stream is <c>new Rng(StreamSeed(…))</c>.</summary>
    static ulong StreamSeed(StreamKind kind, ulong seed, ReadOnlySpan<int> indices)
    {
        int wanted = kind switch
        {
            StreamKind.RecurrentTrial or StreamKind.TaskTrial => 2,
            StreamKind.FixedPointStarts => 0,
            _ => 1,
        };
        if (indices.Length != wanted)
            throw new ArgumentException($"a {kind} stream takes {wanted} indices, got {indices.Length}", nameof(indices));
        foreach (var i in indices)
            if (i < 0) throw new ArgumentOutOfRangeException(nameof(indices), $"stream index {i} is negative");
        return kind switch
        {
            StreamKind.DataEpisode or StreamKind.Bootstrap => Mix(seed, (ulong)indices[0]),
            StreamKind.FeedforwardWeights => Mix(seed, 0x3e1du, (ulong)indices[0]),
            StreamKind.Directions => Mix(seed, 0xd1u, (ulong)indices[0]),
            StreamKind.RecurrentWeights => Mix(seed, 0x1a7u, (ulong)indices[0]),
            StreamKind.RecurrentTrial => Mix(seed, 0x7015eu, (ulong)indices[0], (ulong)indices[1]),
            StreamKind.TestTrial => Mix(seed, 0x7e57u, (ulong)indices[0]),
            StreamKind.TaskTrial => NumberedSeed(seed, ((ulong)indices[0] << 20) + (ulong)indices[1]),
            StreamKind.FixedPointStarts => NumberedSeed(seed, 0xf1edu),
            _ => throw new ArgumentOutOfRangeException(nameof(kind), $"unknown stream kind {kind}"),
        };
    }

    /// <summary>The stream for <paramref name="seed"/> and a path of indices, e.g. <c>Rng.For(seed, trial, episode)</c>.</summary>
    public static Rng For(ulong seed, params ulong[] path) => new(Mix(seed, path));

    /// <summary>The seed of <see cref="For(ulong, ulong[])"/>'s generator.</summary>
    static ulong Mix(ulong seed, params ReadOnlySpan<ulong> path)
    {
        ulong h = seed;
        foreach (var p in path)
        {
            // Absorb each index through one SplitMix64 step so that (1,2) and (2,1) give unrelated streams.
            ulong x = h ^ (p * 0xD1B54A32D192ED03UL);
            h = SplitMix64(ref x);
        }
        return h;
    }

    /// <summary>Convenience overload for int indices (must be non-negative).</summary>
    public static Rng For(ulong seed, params int[] path)
    {
        var p = new ulong[path.Length];
        for (int i = 0; i < path.Length; i++)
        {
            if (path[i] < 0) throw new ArgumentOutOfRangeException(nameof(path), $"stream index {path[i]} is negative");
            p[i] = (ulong)path[i];
        }
        return For(seed, p);
    }

    /// <summary>
    /// Stream number <paramref name="stream"/> of <paramref name="seed"/>, the task kinds' derivation: the number
    /// goes through one SplitMix64 round of its own, so streams 0, 1, 2, … of one seed start far apart in
    /// SplitMix64's sequence rather than at neighbouring counters.
    /// </summary>
    public static Rng Numbered(ulong seed, ulong stream) => new(NumberedSeed(seed, stream));

    static ulong NumberedSeed(ulong seed, ulong stream)
    {
        ulong x = stream + 0x632BE59BD9B4E019UL;
        return seed ^ SplitMix64(ref x);
    }

    /// <summary>One SplitMix64 step (Steele, Lea &amp; Flood 2014): advances <paramref name="x"/> and returns the mixed output.</summary>
    public static ulong SplitMix64(ref ulong x)
    {
        x += 0x9E3779B97F4A7C15UL;
        ulong z = x;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>The next 64 random bits (xoshiro256**).</summary>
    public ulong NextUInt64() => Next(ref s0, ref s1, ref s2, ref s3);

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    static ulong Next(ref ulong s0, ref ulong s1, ref ulong s2, ref ulong s3)
    {
        ulong result = ulong.RotateLeft(s1 * 5, 7) * 9;
        ulong t = s1 << 17;
        s2 ^= s0;
        s3 ^= s1;
        s1 ^= s2;
        s0 ^= s3;
        s2 ^= t;
        s3 = ulong.RotateLeft(s3, 45);
        return result;
    }

    /// <summary>Uniform in [0, 1) with 53 random bits.</summary>
    public double NextDouble() => ToDouble(NextUInt64());

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    static double ToDouble(ulong bits) => (bits >> 11) * (1.0 / (1UL << 53));

    /// <summary>Sparse uniform kicks: element by element, with probability <paramref name="probability"/> a kick
    /// <c>amplitude · (2u − 1)</c>, else 0 — the numbers of <c>NextDouble() &lt; p ? amplitude * (2 * NextDouble() - 1) : 0</c>
    /// per element, in the same order. The state stays in registers across the span: drawn one call at a time
    /// through the fields, each draw waits on the store of the one before (≈ 4 ns against ≈ 1.5 here).</summary>
    public void Kicks(Span<double> into, double probability, double amplitude)
    {
        ulong x0 = s0, x1 = s1, x2 = s2, x3 = s3;
        for (int i = 0; i < into.Length; i++)
            into[i] = ToDouble(Next(ref x0, ref x1, ref x2, ref x3)) < probability
                ? amplitude * (2 * ToDouble(Next(ref x0, ref x1, ref x2, ref x3)) - 1) : 0;
        (s0, s1, s2, s3) = (x0, x1, x2, x3);
    }

    /// <summary>Uniform in [lo, hi).</summary>
    public double Uniform(double lo, double hi) => lo + (hi - lo) * NextDouble();

    /// <summary>Uniform integer in [0, n), unbiased (Lemire 2019).</summary>
    public int NextInt(int n)
    {
        if (n <= 0) throw new ArgumentOutOfRangeException(nameof(n), $"bound must be positive, was {n}");
        return (int)NextBelow((ulong)n);
    }

    /// <summary>Uniform integer in [lo, hi).</summary>
    public int NextInt(int lo, int hi)
    {
        if (hi <= lo) throw new ArgumentOutOfRangeException(nameof(hi), $"empty range [{lo}, {hi})");
        return lo + (int)NextBelow((ulong)((long)hi - lo));
    }

    private ulong NextBelow(ulong n)
    {
        ulong x = NextUInt64();
        UInt128 m = (UInt128)x * n;
        ulong low = (ulong)m;
        if (low < n)
        {
            ulong threshold = (0UL - n) % n;
            while (low < threshold)
            {
                x = NextUInt64();
                m = (UInt128)x * n;
                low = (ulong)m;
            }
        }
        return (ulong)(m >> 64);
    }

    /// <summary>Standard normal variate (Box–Muller; the second value of each pair is kept for the next call).</summary>
    public double Normal()
    {
        if (hasSpareNormal)
        {
            hasSpareNormal = false;
            return spareNormal;
        }
        // 1 - U lies in (0, 1], so the logarithm is finite.
        double u1 = 1.0 - NextDouble();
        double u2 = NextDouble();
        double r = Math.Sqrt(-2.0 * Math.Log(u1));
        double a = 2.0 * Math.PI * u2;
        spareNormal = r * Math.Sin(a);
        hasSpareNormal = true;
        return r * Math.Cos(a);
    }

    /// <summary>Normal with the given mean and standard deviation.</summary>
    public double Normal(double mean, double sd) => mean + sd * Normal();

    /// <summary>Standard normal variate from two fresh uniforms (Box–Muller, the pair's second value discarded);
    /// what the cognitive tasks and the fixed-point search draw, kept so their recorded trials stay the same.</summary>
    public double NormalFresh()
    {
        // 1 − u lies in (0, 1], so the logarithm is finite.
        double u1 = 1.0 - NextDouble();
        double u2 = NextDouble();
        return Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2.0 * Math.PI * u2);
    }

    /// <summary>True with probability <paramref name="p"/>.</summary>
    public bool Bernoulli(double p) => NextDouble() < p;

    /// <summary>Fisher–Yates shuffle in place.</summary>
    public void Shuffle<T>(Span<T> items)
    {
        for (int i = items.Length - 1; i > 0; i--)
        {
            int j = NextInt(i + 1);
            (items[i], items[j]) = (items[j], items[i]);
        }
    }

    /// <summary>Fisher–Yates shuffle in place.</summary>
    public void Shuffle<T>(T[] items) => Shuffle(items.AsSpan());

    /// <summary>
    /// <paramref name="k"/> distinct integers from [0, n) in random order (a partial Fisher–Yates shuffle),
    /// so the first j of the result are themselves a uniform draw of j.
    /// </summary>
    public int[] ChooseWithoutReplacement(int n, int k)
    {
        if (k < 0 || k > n) throw new ArgumentOutOfRangeException(nameof(k), $"cannot choose {k} distinct items out of {n}");
        var pool = new int[n];
        for (int i = 0; i < n; i++) pool[i] = i;
        for (int i = 0; i < k; i++)
        {
            int j = i + NextInt(n - i);
            (pool[i], pool[j]) = (pool[j], pool[i]);
        }
        return pool[..k];
    }

    /// <summary><paramref name="k"/> distinct items of <paramref name="items"/>, in random order.</summary>
    public T[] ChooseWithoutReplacement<T>(IReadOnlyList<T> items, int k)
    {
        var idx = ChooseWithoutReplacement(items.Count, k);
        var result = new T[k];
        for (int i = 0; i < k; i++) result[i] = items[idx[i]];
        return result;
    }

    /// <summary>The Xavier (Glorot) uniform bound √(6 / (fanIn + fanOut)).</summary>
    public static double XavierBound(int fanIn, int fanOut)
    {
        if (fanIn <= 0 || fanOut <= 0) throw new ArgumentOutOfRangeException(nameof(fanIn), $"fan-in and fan-out must be positive, were {fanIn}, {fanOut}");
        return Math.Sqrt(6.0 / (fanIn + fanOut));
    }

    /// <summary>
    /// Xavier-uniform fill, U(−√(6/(fanIn+fanOut)), +√(6/(fanIn+fanOut))) (Eq. S.4 of Shervani-Tabar &amp; Rosenbaum).
    /// Values are drawn in storage order.
    /// </summary>
    public void XavierUniform(Span<double> values, int fanIn, int fanOut)
    {
        double b = XavierBound(fanIn, fanOut);
        for (int i = 0; i < values.Length; i++) values[i] = Uniform(-b, b);
    }

    /// <summary>Xavier-uniform fill of a rows×cols matrix (fanOut = rows, fanIn = cols, as for W : post×pre), row-major draw order.</summary>
    public void XavierUniform(double[,] matrix)
    {
        int rows = matrix.GetLength(0), cols = matrix.GetLength(1);
        double b = XavierBound(cols, rows);
        for (int i = 0; i < rows; i++)
            for (int j = 0; j < cols; j++)
                matrix[i, j] = Uniform(-b, b);
    }

    /// <summary>Xavier-normal fill, N(0, 2/(fanIn+fanOut)) (Eq. S.5).</summary>
    public void XavierNormal(Span<double> values, int fanIn, int fanOut)
    {
        if (fanIn <= 0 || fanOut <= 0) throw new ArgumentOutOfRangeException(nameof(fanIn), $"fan-in and fan-out must be positive, were {fanIn}, {fanOut}");
        double sd = Math.Sqrt(2.0 / (fanIn + fanOut));
        for (int i = 0; i < values.Length; i++) values[i] = sd * Normal();
    }

    /// <summary>Xavier-normal fill of a rows×cols matrix (fanOut = rows, fanIn = cols), row-major draw order.</summary>
    public void XavierNormal(double[,] matrix)
    {
        int rows = matrix.GetLength(0), cols = matrix.GetLength(1);
        double sd = Math.Sqrt(2.0 / (rows + cols));
        for (int i = 0; i < rows; i++)
            for (int j = 0; j < cols; j++)
                matrix[i, j] = sd * Normal();
    }
}
