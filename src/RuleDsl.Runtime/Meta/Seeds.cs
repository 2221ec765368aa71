namespace RuleDsl.Runtime.Meta;

/// <summary>Derives the seed of a sub-stream (an episode's weights, a trial's noise) from its
/// coordinates. Deterministic across processes and .NET versions (unlike HashCode.Combine, which is
/// randomised per process), so runs replay and resume exactly.</summary>
public static class Seeds
{
    /// <summary>SplitMix64 finaliser over the coordinates, folded to a non-negative int.</summary>
    public static int Derive(params long[] coordinates)
    {
        ulong h = 0x9E3779B97F4A7C15UL;
        foreach (var c in coordinates)
        {
            h ^= unchecked((ulong)c);
            h += 0x9E3779B97F4A7C15UL;
            h = (h ^ (h >> 30)) * 0xBF58476D1CE4E5B9UL;
            h = (h ^ (h >> 27)) * 0x94D049BB133111EBUL;
            h ^= h >> 31;
        }
        return (int)(h & 0x7FFFFFFF);
    }
}
