namespace RuleDsl.Runtime.Tasks.Cognitive;

/// <summary>
/// A small seeded pseudo-random generator whose sequences do not depend on the .NET version
/// (System.Random's algorithm is an implementation detail and has changed between releases).
///
/// Algorithm: xoshiro256** (Blackman and Vigna, 2018), 256 bits of state, period 2^256 − 1,
/// passes BigCrush. The state is filled from the (seed, stream) pair by SplitMix64, the seeding
/// procedure its authors recommend, so every seed — including 0 — gives a well-mixed, non-zero state.
/// Different streams of the same seed are decorrelated by hashing the stream id into the SplitMix64
/// start value (used to give a network's initialisation and a task's trial noise their own sequences).
///
/// Derived draws, fixed here so results are reproducible bit for bit:
///   NextDouble  = (next() >> 11) · 2^−53, uniform on [0, 1) with 53 random bits;
///   Gaussian    = Box–Muller, exactly two NextDouble draws per normal number, no cached spare.
/// Not thread-safe; one instance per sequential consumer.
/// </summary>
public sealed class TaskRng
{
    private ulong _s0, _s1, _s2, _s3;

    public TaskRng(ulong seed, ulong stream = 0)
    {
        // The stream id goes through one SplitMix64 round of its own so streams 0,1,2,… of one seed
        // start far apart in SplitMix64's sequence rather than at neighbouring counters.
        ulong sm = seed ^ Mix(stream + 0x632BE59BD9B4E019UL);
        _s0 = SplitMix64(ref sm);
        _s1 = SplitMix64(ref sm);
        _s2 = SplitMix64(ref sm);
        _s3 = SplitMix64(ref sm);
    }

    /// <summary>Builds a generator from an explicit xoshiro256** state (for test vectors).</summary>
    public static TaskRng FromState(ulong s0, ulong s1, ulong s2, ulong s3)
    {
        if ((s0 | s1 | s2 | s3) == 0)
            throw new ArgumentException("xoshiro256** state must not be all zero.");
        var r = new TaskRng(0);
        r._s0 = s0; r._s1 = s1; r._s2 = s2; r._s3 = s3;
        return r;
    }

    /// <summary>One step of SplitMix64 (Steele, Lea and Flood, 2014): advances x and returns a mixed value.</summary>
    public static ulong SplitMix64(ref ulong x)
    {
        ulong z = x += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    private static ulong Mix(ulong v) => SplitMix64(ref v);

    private static ulong Rotl(ulong x, int k) => (x << k) | (x >> (64 - k));

    /// <summary>The next 64 random bits (xoshiro256**).</summary>
    public ulong NextUInt64()
    {
        ulong result = Rotl(_s1 * 5, 7) * 9;
        ulong t = _s1 << 17;
        _s2 ^= _s0;
        _s3 ^= _s1;
        _s1 ^= _s2;
        _s0 ^= _s3;
        _s2 ^= t;
        _s3 = Rotl(_s3, 45);
        return result;
    }

    /// <summary>Uniform on [0, 1).</summary>
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    /// <summary>Uniform on [lo, hi).</summary>
    public double Uniform(double lo, double hi) => lo + (hi - lo) * NextDouble();

    /// <summary>True with probability p.</summary>
    public bool Bernoulli(double p) => NextDouble() < p;

    /// <summary>Uniform integer in [0, n), by Lemire's multiply-shift with rejection (no modulo bias).</summary>
    public int NextInt(int n)
    {
        if (n <= 0) throw new ArgumentOutOfRangeException(nameof(n), "n must be positive.");
        ulong bound = (ulong)n;
        ulong threshold = (0UL - bound) % bound;
        while (true)
        {
            ulong x = NextUInt64();
            ulong hi = Math.BigMul(x, bound, out ulong lo);
            if (lo >= threshold) return (int)hi;
        }
    }

    /// <summary>Standard normal by Box–Muller; consumes exactly two uniforms.</summary>
    public double Gaussian()
    {
        // 1 − u lies in (0, 1], so the logarithm is finite.
        double u1 = 1.0 - NextDouble();
        double u2 = NextDouble();
        return Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2.0 * Math.PI * u2);
    }

    /// <summary>Normal with the given mean and standard deviation.</summary>
    public double Gaussian(double mean, double std) => mean + std * Gaussian();
}
