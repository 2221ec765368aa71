using RuleDsl.Runtime.Tasks.Cognitive;

namespace RuleDsl.Runtime.Tests.Tasks;

public class TaskRngTests
{
    [Fact]
    public void Xoshiro256StarStar_matches_the_reference_sequence()
    {
        // Reference implementation (xoshiro256starstar.c) from state {1, 2, 3, 4}.
        var rng = TaskRng.FromState(1, 2, 3, 4);
        Assert.Equal(11520UL, rng.NextUInt64());
        Assert.Equal(0UL, rng.NextUInt64());
        Assert.Equal(1509978240UL, rng.NextUInt64());
        Assert.Equal(1215971899390074240UL, rng.NextUInt64());
    }

    [Fact]
    public void SplitMix64_matches_the_reference_sequence()
    {
        ulong x = 0;
        Assert.Equal(0xE220A8397B1DCDAFUL, TaskRng.SplitMix64(ref x));
        Assert.Equal(0x6E789E6AA1B965F4UL, TaskRng.SplitMix64(ref x));
        Assert.Equal(0x06C45D188009454FUL, TaskRng.SplitMix64(ref x));
    }

    [Fact]
    public void Same_seed_and_stream_give_the_same_sequence_others_differ()
    {
        ulong[] Seq(ulong seed, ulong stream)
        {
            var r = new TaskRng(seed, stream);
            return Enumerable.Range(0, 16).Select(_ => r.NextUInt64()).ToArray();
        }
        Assert.Equal(Seq(42, 0), Seq(42, 0));
        Assert.NotEqual(Seq(42, 0), Seq(43, 0));
        Assert.NotEqual(Seq(42, 0), Seq(42, 1));
        Assert.NotEqual(Seq(0, 0), Seq(0, 1));
    }

    [Fact]
    public void Uniform_and_gaussian_have_the_right_moments()
    {
        var r = new TaskRng(7);
        const int n = 200_000;
        double su = 0, su2 = 0, sg = 0, sg2 = 0, sg4 = 0;
        for (int i = 0; i < n; i++)
        {
            double u = r.NextDouble();
            Assert.InRange(u, 0.0, 1.0 - 1e-17);
            su += u; su2 += u * u;
            double g = r.Gaussian();
            sg += g; sg2 += g * g; sg4 += g * g * g * g;
        }
        Assert.InRange(su / n, 0.5 - 0.003, 0.5 + 0.003);              // SE 0.00065
        Assert.InRange(su2 / n - Math.Pow(su / n, 2), 1 / 12.0 - 0.002, 1 / 12.0 + 0.002);
        Assert.InRange(sg / n, -0.01, 0.01);                           // SE 0.0022
        Assert.InRange(sg2 / n, 0.985, 1.015);                         // SE 0.0032
        Assert.InRange(sg4 / n, 2.9, 3.1);                             // kurtosis of a normal: 3
    }

    [Fact]
    public void NextInt_covers_its_range_evenly()
    {
        var r = new TaskRng(9);
        var counts = new int[7];
        for (int i = 0; i < 70_000; i++) counts[r.NextInt(7)]++;
        Assert.All(counts, c => Assert.InRange(c, 9_600, 10_400));     // SD ≈ 93
        Assert.Throws<ArgumentOutOfRangeException>(() => r.NextInt(0));
    }
}
