using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace RuleDsl.Runtime.Kernels.Compiler;

/// <summary>
/// Elementwise functions over a whole vector at once, for the compiler's vector nodes (a rate r = tanh(x)
/// is N calls of the C library's scalar tanh otherwise: a sixth of Miconi's step). tanh(x) is Cephes'
/// formula: x + x·z·P(z)/Q(z), z = x², for |x| &lt; 0.625 (no cancellation near 0), and
/// sign(x)·(1 − 2/(e^{2|x|} + 1)) above, with <see cref="TensorPrimitives.Exp{T}(ReadOnlySpan{T}, Span{T})"/>'s
/// vectorised exp. Not bit-identical to <see cref="Math.Tanh"/>: within 2 ulp of it (VectorMathTests
/// measures the bound over the whole range). Single precision is computed in double and rounded once.
/// </summary>
public static class VectorMath
{
    const int Chunk = 64;
    // Cephes tanh.c: tanh(x) = x + x·z·P(z)/Q(z) on |x| < 0.625, relative error 2.5e-16.
    const double P0 = -9.64399179425052238628E-1, P1 = -9.92877231001918586564E1, P2 = -1.61468768441708447952E3;
    const double Q0 = 1.12811678491632931402E2, Q1 = 2.23548839060100448583E3, Q2 = 4.84406305325125486048E3;

    /// <summary>y[k] = tanh(x[k]) for k &lt; n (x and y may be the same array).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Tanh(double[] x, double[] y, int n)
    {
        if (x.Length < n || y.Length < n) throw new ArgumentException("vector shorter than its dimension");
        Span<double> e = stackalloc double[Chunk];
        for (int k0 = 0; k0 < n; k0 += Chunk)
        {
            int m = Math.Min(Chunk, n - k0);
            Tanh(x.AsSpan(k0, m), y.AsSpan(k0, m), e[..m]);
        }
    }

    /// <summary>Single precision: each chunk widened to double, <see cref="Tanh(double[], double[], int)"/>'s
    /// arithmetic, rounded to float once (MathF.Tanh per element is slower than this and no more accurate).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Tanh(float[] x, float[] y, int n)
    {
        if (x.Length < n || y.Length < n) throw new ArgumentException("vector shorter than its dimension");
        Span<double> wide = stackalloc double[Chunk], e = stackalloc double[Chunk];
        for (int k0 = 0; k0 < n; k0 += Chunk)
        {
            int m = Math.Min(Chunk, n - k0);
            for (int k = 0; k < m; k++) wide[k] = x[k0 + k];
            Tanh(wide[..m], wide[..m], e[..m]);
            for (int k = 0; k < m; k++) y[k0 + k] = (float)wide[k];
        }
    }

    static void Tanh(ReadOnlySpan<double> x, Span<double> y, Span<double> e)
    {
        int m = x.Length, k = 0, w = Vector512<double>.Count;
        // e = exp(min(2|x|, 44)): beyond 22, tanh is ±1 in double; the cap keeps exp finite.
        for (; k <= m - w; k += w)
            Vector512.Min(Vector512.Abs(Vector512.Create(x[k..])) * 2.0, Vector512.Create(44.0)).CopyTo(e[k..]);
        for (; k < m; k++) e[k] = Math.Min(2 * Math.Abs(x[k]), 44.0);
        TensorPrimitives.Exp(e, e);
        var one = Vector512<double>.One;
        var two = Vector512.Create(2.0);
        var small = Vector512.Create(0.625);
        var signBit = Vector512.Create(-0.0);
        for (k = 0; k <= m - w; k += w)
        {
            var v = Vector512.Create(x[k..]);
            var z = v * v;
            var near = Vector512.LessThan(Vector512.Abs(v), small);
            // One division serves both branches: P(z)/Q(z) where |x| < 0.625, 2/(e + 1) elsewhere, each with
            // the operands it always had (so each lane's quotient, and the result, are what two divisions gave).
            var num = Vector512.ConditionalSelect(near, (Vector512.Create(P0) * z + Vector512.Create(P1)) * z + Vector512.Create(P2), two);
            var den = Vector512.ConditionalSelect(near, ((z + Vector512.Create(Q0)) * z + Vector512.Create(Q1)) * z + Vector512.Create(Q2),
                                                  Vector512.Create(e[k..]) + one);
            var q = num / den;
            var far = (one - q) | (v & signBit); // 1 − 2/(e + 1) ≥ 0: the sign of x
            var r = Vector512.ConditionalSelect(near, v + v * z * q, far);
            // NaN in, NaN out (the comparisons above are false for NaN, and the exp saw the capped 44); ±0 kept.
            var self = ~Vector512.Equals(v, v) | Vector512.Equals(v, Vector512<double>.Zero);
            Vector512.ConditionalSelect(self, v, r).CopyTo(y[k..]);
        }
        for (; k < m; k++) y[k] = One(x[k], e[k]);
    }

    static double One(double x, double e)
    {
        if (double.IsNaN(x) || x == 0) return x;
        if (Math.Abs(x) < 0.625)
        {
            double z = x * x;
            return x + x * z * (((P0 * z + P1) * z + P2) / (((z + Q0) * z + Q1) * z + Q2));
        }
        return Math.CopySign(1 - 2 / (e + 1), x);
    }
}
