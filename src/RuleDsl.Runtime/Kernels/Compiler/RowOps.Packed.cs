using System.Numerics;
using System.Runtime.Intrinsics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace RuleDsl.Runtime.Kernels.Compiler;

/// <summary>
/// A copy of a matrix in tiles of four rows, for the matrix–vector products of a stretch of steps in which
/// the matrix does not change (a recurrent learner's W·r within a trial). Tile t holds rows 4t..4t+3 chunk
/// by chunk (one 512-bit chunk of row 4t, then of 4t+1, 4t+2, 4t+3, then the next chunk), so
/// <see cref="RowOps{T}.MatVec"/> reads one sequential stream instead of four rows at once: at N = 200 W·r
/// went from ≈ 2.9 to ≈ 2.0 µs with the trace's rank-16 update between the products as in a trial
/// (bench/README.md). Each element is summed exactly as <see cref="RowOps{T}.MatVec"/> sums it (Rows4Wide's
/// lanes; the columns after the last whole chunk and the rows after the last whole tile come from the
/// matrix itself), so the products are bit-identical.
/// <para>Whoever packs owns the promise: while the copy is this thread's <see cref="Current"/>, the matrix
/// is not written. <see cref="RowOps{T}.MatVec"/> uses the copy for that matrix (same array, same shape)
/// and reads every other one as before.</para>
/// </summary>
public sealed class PackedRows<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>The packed copy this thread's matrix–vector products use (null: none).</summary>
    public static PackedRows<T>? Current { get => PackedRowsOfThread.Current as PackedRows<T>; set => PackedRowsOfThread.Current = value; }

    /// <summary>Whether this machine takes the packed path (512-bit vectors, each holding two of
    /// <see cref="Vector{T}"/>: Dot's two accumulators side by side).</summary>
    public static bool Supported => Vector512.IsHardwareAccelerated && Vector512<T>.Count == 2 * Vector<T>.Count;

    T[]? source;
    T[] tiles = [];
    int rows, cols;

    /// <summary>Copies <paramref name="m"/> (rows × cols, row-major) into tiles; the buffer is reused while the shape stays.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Pack(T[] m, int rows, int cols)
    {
        if (!Supported) throw new PlatformNotSupportedException("packed rows need 512-bit vectors");
        if (rows < 0 || cols < 0 || m.Length < rows * cols) throw new ArgumentException("matrix shorter than rows × cols");
        int w = Vector512<T>.Count, chunks = cols / w;
        int size = rows / 4 * 4 * chunks * w;
        if (tiles.Length != size) tiles = new T[size];
        for (int i = 0; i + 4 <= rows; i += 4)
            for (int c = 0; c < chunks; c++)
                for (int r = 0; r < 4; r++)
                    Array.Copy(m, (i + r) * cols + c * w, tiles, (i * chunks + 4 * c + r) * w, w);
        (source, this.rows, this.cols) = (m, rows, cols);
    }

    /// <summary>Whether the products on <paramref name="m"/> (this shape) come from this copy.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal bool Covers(T[] m, int rows, int cols) => ReferenceEquals(m, source) && rows == this.rows && cols == this.cols;

    /// <summary>y = M x, as <see cref="RowOps{T}.MatVec"/> computes it; the caller has checked the ranges.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal void MatVec(T[] x, T[] y)
    {
        int w = Vector512<T>.Count, chunks = cols / w, i = 0;
        ref T q = ref MemoryMarshal.GetArrayDataReference(x);
        ref T m = ref MemoryMarshal.GetArrayDataReference(source!);
        for (; i + 4 <= rows; i += 4)
        {
            ref T p = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(tiles), i * chunks * w);
            var s0 = Vector512<T>.Zero; var s1 = Vector512<T>.Zero; var s2 = Vector512<T>.Zero; var s3 = Vector512<T>.Zero;
            for (int c = 0; c < chunks; c++)
            {
                var xu = Vector512.LoadUnsafe(ref q, (nuint)(c * w));
                nuint u = (nuint)(4 * c * w);
                s0 += Vector512.LoadUnsafe(ref p, u) * xu;
                s1 += Vector512.LoadUnsafe(ref p, u + (nuint)w) * xu;
                s2 += Vector512.LoadUnsafe(ref p, u + (nuint)(2 * w)) * xu;
                s3 += Vector512.LoadUnsafe(ref p, u + (nuint)(3 * w)) * xu;
            }
            ref T r0 = ref Unsafe.Add(ref m, i * cols);
            RowOps<T>.ScalarTail4(ref r0, ref Unsafe.Add(ref r0, cols), ref Unsafe.Add(ref r0, 2 * cols), ref Unsafe.Add(ref r0, 3 * cols), ref q,
                chunks * w, cols, RowOps<T>.Half(s0), RowOps<T>.Half(s1), RowOps<T>.Half(s2), RowOps<T>.Half(s3), y, i);
        }
        for (; i < rows; i++) y[i] = RowOps<T>.Dot(source!, i * cols, x, 0, cols);
    }
}

/// <summary>The thread's <see cref="PackedRows{T}.Current"/>, in a non-generic class (read inline, as
/// <see cref="DeferredRowsOfThread"/>).</summary>
static class PackedRowsOfThread
{
    [ThreadStatic] internal static object? Current;
}
