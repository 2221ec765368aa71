using RuleDsl.Runtime.Data;

namespace RuleDsl.Runtime.Tests.Data;

public class RngTests
{
    [Fact]
    public void SplitMix64_matches_the_published_sequence_for_seed_0()
    {
        ulong x = 0;
        Assert.Equal(0xE220A8397B1DCDAFUL, Rng.SplitMix64(ref x));
        Assert.Equal(0x6E789E6AA1B965F4UL, Rng.SplitMix64(ref x));
        Assert.Equal(0x06C45D188009454FUL, Rng.SplitMix64(ref x));
    }

    [Fact]
    public void Xoshiro256StarStar_matches_the_reference_vector_from_state_1_2_3_4()
    {
        // Output of the reference C implementation (Blackman & Vigna) from state {1, 2, 3, 4}.
        ulong[] expected = [11520, 0, 1509978240, 1215971899390074240, 1216172134540287360, 607988272756665600,
                            16172922978634559625, 8476171486693032832, 10595114339597558777, 2904607092377533576];
        var r = Rng.FromState(1, 2, 3, 4);
        foreach (var e in expected) Assert.Equal(e, r.NextUInt64());
    }

    [Fact]
    public void Seeded_sequence_is_pinned()
    {
        // Computed independently (Python) from SplitMix64(42) seeding + xoshiro256**; guards against any change.
        var r = new Rng(42);
        Assert.Equal(1546998764402558742UL, r.NextUInt64());
        Assert.Equal(0.3789802506626686, r.NextDouble());
        Assert.Equal(0.6800434110281394, r.NextDouble());
    }

    [Fact]
    public void Derived_streams_are_deterministic_and_distinct()
    {
        Assert.Equal(Rng.For(7, 3, 5).NextUInt64(), Rng.For(7, 3, 5).NextUInt64());
        var a = Rng.For(7, 3, 5).NextUInt64();
        Assert.NotEqual(a, Rng.For(7, 5, 3).NextUInt64());
        Assert.NotEqual(a, Rng.For(8, 3, 5).NextUInt64());
        Assert.NotEqual(a, Rng.For(7, 3).NextUInt64());
    }

    [Fact]
    public void Numbered_streams_are_deterministic_and_distinct()
    {
        ulong[] Seq(ulong seed, ulong stream)
        {
            var r = Rng.Numbered(seed, stream);
            return Enumerable.Range(0, 16).Select(_ => r.NextUInt64()).ToArray();
        }
        Assert.Equal(Seq(42, 0), Seq(42, 0));
        Assert.NotEqual(Seq(42, 0), Seq(43, 0));
        Assert.NotEqual(Seq(42, 0), Seq(42, 1));
        Assert.NotEqual(Seq(0, 0), Seq(0, 1));
    }

    [Fact]
    public void Uniform_ints_are_unbiased_and_in_range()
    {
        var r = new Rng(1);
        var counts = new int[6];
        const int n = 60000;
        for (int i = 0; i < n; i++) counts[r.NextInt(6)]++;
        // Chi-square with 5 degrees of freedom; 20.5 is the 0.999 quantile.
        double chi = counts.Sum(c => (c - n / 6.0) * (c - n / 6.0) / (n / 6.0));
        Assert.True(chi < 20.5, $"chi-square {chi}");
        for (int i = 0; i < 1000; i++)
        {
            int v = r.NextInt(-3, 4);
            Assert.InRange(v, -3, 3);
        }
    }

    [Fact]
    public void Normal_has_mean_0_and_variance_1()
    {
        var r = new Rng(2);
        const int n = 100000;
        double s = 0, s2 = 0;
        for (int i = 0; i < n; i++)
        {
            double z = r.Normal();
            s += z;
            s2 += z * z;
        }
        double mean = s / n, variance = s2 / n - mean * mean;
        Assert.InRange(mean, -0.015, 0.015);   // sd of the mean is 0.0032
        Assert.InRange(variance, 0.98, 1.02);  // sd of the variance is 0.0045
    }

    [Fact]
    public void Uniform_and_fresh_normal_have_the_right_moments()
    {
        var r = Rng.Numbered(7, 0);
        const int n = 200_000;
        double su = 0, su2 = 0, sg = 0, sg2 = 0, sg4 = 0;
        for (int i = 0; i < n; i++)
        {
            double u = r.NextDouble();
            Assert.InRange(u, 0.0, 1.0 - 1e-17);
            su += u; su2 += u * u;
            double g = r.NormalFresh();
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
        var r = Rng.Numbered(9, 0);
        var counts = new int[7];
        for (int i = 0; i < 70_000; i++) counts[r.NextInt(7)]++;
        Assert.All(counts, c => Assert.InRange(c, 9_600, 10_400));     // SD ≈ 93
        Assert.Throws<ArgumentOutOfRangeException>(() => r.NextInt(0));
    }

    [Fact]
    public void Choose_without_replacement_gives_distinct_items_and_every_item_equally_often()
    {
        var r = new Rng(3);
        var counts = new int[10];
        for (int t = 0; t < 20000; t++)
        {
            var pick = r.ChooseWithoutReplacement(10, 3);
            Assert.Equal(3, pick.Distinct().Count());
            foreach (var p in pick) counts[p]++;
        }
        foreach (var c in counts) Assert.InRange(c, 6000 - 400, 6000 + 400); // sd ≈ 65
        Assert.Throws<ArgumentOutOfRangeException>(() => r.ChooseWithoutReplacement(3, 4));
    }

    [Fact]
    public void Shuffle_is_a_permutation()
    {
        var r = new Rng(4);
        var a = Enumerable.Range(0, 100).ToArray();
        r.Shuffle(a);
        Assert.Equal(Enumerable.Range(0, 100), a.Order());
        Assert.NotEqual(Enumerable.Range(0, 100), a);
    }

    [Fact]
    public void Xavier_uniform_fills_within_the_bound_with_the_right_variance()
    {
        var r = new Rng(5);
        var w = new double[170, 784];
        r.XavierUniform(w);
        double b = Math.Sqrt(6.0 / (784 + 170));
        double s2 = 0;
        foreach (var v in w)
        {
            Assert.InRange(v, -b, b);
            s2 += v * v;
        }
        // Var U(-b, b) = b²/3 = 2/(fanIn+fanOut).
        Assert.Equal(2.0 / (784 + 170), s2 / w.Length, 2.0 / (784 + 170) * 0.02);

        var flat = new double[100 * 50];
        r.XavierNormal(flat, 100, 50);
        Assert.Equal(2.0 / 150, flat.Sum(v => v * v) / flat.Length, 2.0 / 150 * 0.06);
    }

    [Theory]
    [InlineData(0.003, 16.0)]   // Miconi's kicks: 3 Hz at dt = 1 ms, amplitude 16
    [InlineData(0.3, 1.5)]
    [InlineData(0.0, 1.0)]      // never: one draw per element
    [InlineData(1.0, 2.0)]      // always: two draws per element
    public void Kicks_draw_what_nextdouble_draws_element_by_element(double p, double amplitude)
    {
        var a = new Rng(11);
        var b = new Rng(11);
        var kicks = new double[1000];
        b.Kicks(kicks, p, amplitude);
        var expected = new double[1000];
        for (int i = 0; i < expected.Length; i++)
            expected[i] = a.NextDouble() < p ? amplitude * (2 * a.NextDouble() - 1) : 0;
        Assert.Equal(expected, kicks);
        // Both generators stand at the same point of the stream afterwards.
        Assert.Equal(a.NextUInt64(), b.NextUInt64());
        if (p > 0 && p < 1) Assert.Contains(kicks, k => k != 0);
    }
}
