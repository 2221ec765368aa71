using System.Numerics;
using System.Runtime.Intrinsics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace RuleDsl.Runtime.Kernels.Compiler;

/// <summary>Matrix–vector products of <see cref="RowOps{T}"/>: each row summed in <see cref="RowOps{T}.Dot"/>'s order.</summary>
public static partial class RowOps<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>y = M x for a row-major rows × cols matrix M.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void MatVec(T[] m, int rows, int cols, T[] x, T[] y)
    {
        Check(m, 0, rows * cols);
        Check(x, 0, cols);
        Check(y, 0, rows);
        int i = 0;
        // Four rows at a time share each load of x; each row is summed in Dot's order (bit-identical).
        if (Vector.IsHardwareAccelerated && cols >= 2 * Vector<T>.Count)
            for (; i <= rows - 4; i += 4) Rows4(m, i, cols, x, y);
        else if (cols < 2 * Vector<T>.Count)
        {
            // Narrow (W_in @ u, a few inputs): Dot's scalar sum inline, four rows at a time (four independent
            // add chains: one row's chain is bound by the add's latency), not a call per row.
            ref T q = ref MemoryMarshal.GetArrayDataReference(x);
            for (; i <= rows - 4; i += 4)
            {
                ref T r0 = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(m), i * cols);
                ref T r1 = ref Unsafe.Add(ref r0, cols);
                ref T r2 = ref Unsafe.Add(ref r1, cols);
                ref T r3 = ref Unsafe.Add(ref r2, cols);
                ScalarTail4(ref r0, ref r1, ref r2, ref r3, ref q, 0, cols, T.Zero, T.Zero, T.Zero, T.Zero, y, i);
            }
        }
        for (; i < rows; i++) y[i] = Dot(m, i * cols, x, 0, cols);
    }

    /// <summary>Rows4 with one 512-bit register holding Dot's two accumulators side by side (lanes
    /// [0, w) are s0, [w, 2w) are s1): the same sums, added in the same order, half the instructions.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void Rows4Wide(ref T p0, ref T p1, ref T p2, ref T p3, ref T q, int cols, T[] y, int i)
    {
        var s0 = Vector512<T>.Zero; var s1 = Vector512<T>.Zero; var s2 = Vector512<T>.Zero; var s3 = Vector512<T>.Zero;
        int w2 = Vector512<T>.Count, j = 0;
        for (; j <= cols - w2; j += w2)
        {
            nuint u = (nuint)j;
            var xu = Vector512.LoadUnsafe(ref q, u);
            s0 += Vector512.LoadUnsafe(ref p0, u) * xu;
            s1 += Vector512.LoadUnsafe(ref p1, u) * xu;
            s2 += Vector512.LoadUnsafe(ref p2, u) * xu;
            s3 += Vector512.LoadUnsafe(ref p3, u) * xu;
        }
        T r0 = Vector.Sum((s0.GetLower() + s0.GetUpper()).AsVector()), r1 = Vector.Sum((s1.GetLower() + s1.GetUpper()).AsVector());
        T r2 = Vector.Sum((s2.GetLower() + s2.GetUpper()).AsVector()), r3 = Vector.Sum((s3.GetLower() + s3.GetUpper()).AsVector());
        ScalarTail4(ref p0, ref p1, ref p2, ref p3, ref q, j, cols, r0, r1, r2, r3, y, i);
    }

    /// <summary>y[i..i+4) = rows i..i+4 of M · x, each exactly as <see cref="Dot"/> sums it.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void Rows4(T[] m, int i, int cols, T[] x, T[] y)
    {
        ref T p0 = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(m), i * cols);
        ref T p1 = ref Unsafe.Add(ref p0, cols);
        ref T p2 = ref Unsafe.Add(ref p1, cols);
        ref T p3 = ref Unsafe.Add(ref p2, cols);
        ref T q = ref MemoryMarshal.GetArrayDataReference(x);
        if (Vector512.IsHardwareAccelerated && Vector512<T>.Count == 2 * Vector<T>.Count)
        {
            Rows4Wide(ref p0, ref p1, ref p2, ref p3, ref q, cols, y, i);
            return;
        }
        var s00 = Vector<T>.Zero; var s01 = Vector<T>.Zero;
        var s10 = Vector<T>.Zero; var s11 = Vector<T>.Zero;
        var s20 = Vector<T>.Zero; var s21 = Vector<T>.Zero;
        var s30 = Vector<T>.Zero; var s31 = Vector<T>.Zero;
        int w = Vector<T>.Count, j = 0;
        for (; j <= cols - 2 * w; j += 2 * w)
        {
            nuint u = (nuint)j, v = (nuint)(j + w);
            var xu = Vector.LoadUnsafe(ref q, u);
            var xv = Vector.LoadUnsafe(ref q, v);
            s00 += Vector.LoadUnsafe(ref p0, u) * xu;
            s01 += Vector.LoadUnsafe(ref p0, v) * xv;
            s10 += Vector.LoadUnsafe(ref p1, u) * xu;
            s11 += Vector.LoadUnsafe(ref p1, v) * xv;
            s20 += Vector.LoadUnsafe(ref p2, u) * xu;
            s21 += Vector.LoadUnsafe(ref p2, v) * xv;
            s30 += Vector.LoadUnsafe(ref p3, u) * xu;
            s31 += Vector.LoadUnsafe(ref p3, v) * xv;
        }
        T r0 = Vector.Sum(s00 + s01), r1 = Vector.Sum(s10 + s11), r2 = Vector.Sum(s20 + s21), r3 = Vector.Sum(s30 + s31);
        ScalarTail4(ref p0, ref p1, ref p2, ref p3, ref q, j, cols, r0, r1, r2, r3, y, i);
    }

    /// <summary>y[i..i+4) = r_k + Σ_{j ∈ [from, cols)} row k · x, column after column: Dot's scalar sum, for four
    /// rows at once (the tail after Rows4's vectors, or a whole narrow row from r_k = 0).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void ScalarTail4(ref T p0, ref T p1, ref T p2, ref T p3, ref T q, int from, int cols, T r0, T r1, T r2, T r3, T[] y, int i)
    {
        for (int j = from; j < cols; j++)
        {
            T xj = Unsafe.Add(ref q, j);
            r0 += Unsafe.Add(ref p0, j) * xj;
            r1 += Unsafe.Add(ref p1, j) * xj;
            r2 += Unsafe.Add(ref p2, j) * xj;
            r3 += Unsafe.Add(ref p3, j) * xj;
        }
        y[i] = r0; y[i + 1] = r1; y[i + 2] = r2; y[i + 3] = r3;
    }

    /// <summary>y = Mᵀ x for a row-major rows × cols matrix M (row by row: contiguous reads).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void MatTVec(T[] m, int rows, int cols, T[] x, T[] y)
    {
        Check(m, 0, rows * cols);
        Check(x, 0, rows);
        Check(y, 0, cols);
        Array.Clear(y, 0, cols);
        for (int i = 0; i < rows; i++) Axpy(y, 0, x[i], m, i * cols, cols);
    }
}
