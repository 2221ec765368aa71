using RuleDsl.Runtime.Kernels.Compiler;
using Xunit.Abstractions;

namespace RuleDsl.Runtime.Tests.Kernels.Compiler;

/// The compiler's vector tanh against the C library's scalar Math.Tanh: within 2 ulp over every range
/// (tiny and subnormal arguments, the polynomial's range, both sides of its 0.625 boundary, up to the
/// saturation at ±1), exact at 0, −0, ±∞, NaN in NaN out; single precision within 1 ulp of the double
/// result rounded.
public class VectorMathTests(ITestOutputHelper output)
{
    static long Ulps(double a, double b) =>
        a == b ? 0 : Math.Abs(BitConverter.DoubleToInt64Bits(a) - BitConverter.DoubleToInt64Bits(b));

    static double[] Arguments(int seed)
    {
        var rng = new Random(seed);
        var xs = new List<double> { 0.0, -0.0, 0.625, -0.625, Math.BitDecrement(0.625), Math.BitIncrement(0.625), 22, 19.0, 44, 1e-320, -5e-324, 1e-300 };
        foreach (var (lo, hi) in new[] { (1e-300, 1e-8), (1e-8, 0.1), (0.1, 0.625), (0.55, 0.7), (0.625, 3), (3, 20), (20, 1000) })
            for (int k = 0; k < 20000; k++)
            {
                double x = lo * Math.Pow(hi / lo, rng.NextDouble());
                xs.Add(k % 2 == 0 ? x : -x);
            }
        return [.. xs];
    }

    [Fact]
    public void Vector_tanh_is_within_two_ulp_of_the_C_library()
    {
        var x = Arguments(1);
        var y = new double[x.Length];
        VectorMath.Tanh(x, y, x.Length);
        long worst = 0; int differ = 0;
        for (int k = 0; k < x.Length; k++)
        {
            long u = Ulps(y[k], Math.Tanh(x[k]));
            worst = Math.Max(worst, u);
            if (u > 0) differ++;
            Assert.True(u <= 2, $"tanh({x[k]:R}) = {y[k]:R}, Math.Tanh {Math.Tanh(x[k]):R}: {u} ulp");
        }
        output.WriteLine($"{x.Length} arguments: {differ} differ from Math.Tanh, worst {worst} ulp");
        Assert.True(double.IsNegative(y[1]) && y[1] == 0, "tanh(−0) = −0");
    }

    [Fact]
    public void Vector_tanh_keeps_the_special_values()
    {
        double[] x = [double.NaN, double.PositiveInfinity, double.NegativeInfinity, 0.0, 1e308, -1e308, double.NaN, 0.3, 5];
        var y = new double[x.Length];
        VectorMath.Tanh(x, y, x.Length);
        Assert.True(double.IsNaN(y[0]) && double.IsNaN(y[6]));
        Assert.Equal([1.0, -1.0, 0.0, 1.0, -1.0], y[1..6]);
        // In place, and only the first n elements.
        var z = (double[])x.Clone();
        VectorMath.Tanh(z, z, 8);
        Assert.Equal(y[7], z[7]);
        Assert.Equal(5.0, z[8]);
    }

    [Fact]
    public void Single_precision_tanh_is_the_double_result_rounded()
    {
        var x = Arguments(2).Select(v => (float)v).ToArray();
        var y = new float[x.Length];
        VectorMath.Tanh(x, y, x.Length);
        for (int k = 0; k < x.Length; k++)
        {
            float expected = (float)Math.Tanh(x[k]);
            long u = Math.Abs(BitConverter.SingleToInt32Bits(y[k]) - BitConverter.SingleToInt32Bits(expected));
            Assert.True(u <= 1 || y[k] == expected, $"tanh({x[k]:R}f) = {y[k]:R}, (float)Math.Tanh {expected:R}");
        }
    }
}
