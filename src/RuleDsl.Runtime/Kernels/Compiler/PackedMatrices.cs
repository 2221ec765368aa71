using System.Numerics;
using System.Runtime.Intrinsics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace RuleDsl.Runtime.Kernels.Compiler;

/// <summary>
/// Copies of matrices laid out for <see cref="RowOps{T}.MatVec"/>, for a stretch of steps in which they do
/// not change (a recurrent learner's W and W_in within a trial):
/// <list type="bullet">
/// <item>a wide matrix in tiles of four rows: tile t holds rows 4t..4t+3 chunk by chunk (one 512-bit chunk of
/// row 4t, then of 4t+1, 4t+2, 4t+3, then the next chunk), so M x reads one sequential stream instead of four
/// rows at once, from a 64-byte boundary (each load one cache line). W·r at N = 200 went from ≈ 2.5 to ≈ 2.1 µs
/// inside Miconi's learner (bench/README.md).</item>
/// <item>a narrow matrix (fewer columns than two vectors: W_in @ u) by columns, so that M x is Σ_j x_j · column j
/// over all rows at once instead of a short scalar sum per row.</item>
/// </list>
/// Each element is summed exactly as <see cref="RowOps{T}.MatVec"/> sums it (Rows4Wide's lanes, Dot's scalar
/// order; columns after the last whole chunk and rows after the last whole tile come from the matrix itself),
/// so the products are bit-identical.
/// <para>Whoever packs owns the promise: while the copies are this thread's <see cref="Current"/>, the matrices
/// are not written. MatVec uses a copy for its own array (same array, same shape) and reads every other one
/// as before.</para>
/// </summary>
public sealed class PackedMatrices<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>The copies this thread's matrix–vector products use (null: none).</summary>
    public static PackedMatrices<T>? Current { get => PackedMatricesOfThread.Current as PackedMatrices<T>; set => PackedMatricesOfThread.Current = value; }

    /// <summary>Whether this machine takes the packed path (512-bit vectors, each holding two of
    /// <see cref="Vector{T}"/>: Dot's two accumulators side by side).</summary>
    public static bool Supported => Vector512.IsHardwareAccelerated && Vector512<T>.Count == 2 * Vector<T>.Count;

    sealed class Copy
    {
        public T[]? Source;
        public int Rows, Cols, Start;
        public T[] Data = [];
        public bool Narrow => Cols < 2 * Vector<T>.Count;
    }

    readonly List<Copy> copies = [];

    /// <summary>Copies <paramref name="m"/> (rows × cols, row-major) into its layout; a matrix packed before
    /// (the same array) is copied again into the same buffer.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Pack(T[] m, int rows, int cols)
    {
        if (!Supported) throw new PlatformNotSupportedException("packed matrices need 512-bit vectors");
        if (rows < 0 || cols < 0 || m.Length < rows * cols) throw new ArgumentException("matrix shorter than rows × cols");
        Copy? c = null;
        foreach (var x in copies) if (ReferenceEquals(x.Source, m)) c = x;
        if (c is null) copies.Add(c = new Copy());
        (c.Source, c.Rows, c.Cols) = (m, rows, cols);
        int w = Vector512<T>.Count, chunks = cols / w;
        int size = c.Narrow ? rows * cols : rows / 4 * 4 * chunks * w;
        if (c.Data.Length != size + w)
        {
            // Pinned, so that the copy can start on a 64-byte boundary and stay there.
            c.Data = GC.AllocateArray<T>(size + w, pinned: true);
            c.Start = RowOps<T>.Peel(ref c.Data[0]);
        }
        if (c.Narrow)
        {
            for (int i = 0; i < rows; i++)
                for (int j = 0; j < cols; j++)
                    c.Data[c.Start + j * rows + i] = m[i * cols + j];
            return;
        }
        // One 512-bit load and store per chunk (200 × 200: 6–11 µs per pack, against 30 µs with Array.Copy per chunk).
        ref T src = ref MemoryMarshal.GetArrayDataReference(m);
        ref T dst = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(c.Data), c.Start);
        for (int i = 0; i + 4 <= rows; i += 4)
            for (int k = 0; k < chunks; k++)
                for (int r = 0; r < 4; r++)
                    Vector512.LoadUnsafe(ref src, (nuint)((i + r) * cols + k * w)).StoreUnsafe(ref dst, (nuint)((i * chunks + 4 * k + r) * w));
    }

    /// <summary>y = M x from the copy of <paramref name="m"/>, as <see cref="RowOps{T}.MatVec"/> computes it
    /// (the caller has checked the ranges); false when <paramref name="m"/> (this shape) has no copy here.</summary>
    internal bool TryMatVec(T[] m, int rows, int cols, T[] x, T[] y)
    {
        foreach (var c in copies)
            if (ReferenceEquals(c.Source, m) && c.Rows == rows && c.Cols == cols)
            {
                if (c.Narrow) ByColumns(c, x, y);
                else ByTiles(c, x, y);
                return true;
            }
        return false;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void ByTiles(Copy c, T[] x, T[] y)
    {
        int rows = c.Rows, cols = c.Cols, w = Vector512<T>.Count, chunks = cols / w, i = 0;
        ref T q = ref MemoryMarshal.GetArrayDataReference(x);
        ref T m = ref MemoryMarshal.GetArrayDataReference(c.Source!);
        for (; i + 4 <= rows; i += 4)
        {
            ref T p = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(c.Data), c.Start + i * chunks * w);
            var s0 = Vector512<T>.Zero; var s1 = Vector512<T>.Zero; var s2 = Vector512<T>.Zero; var s3 = Vector512<T>.Zero;
            for (int k = 0; k < chunks; k++)
            {
                var xu = Vector512.LoadUnsafe(ref q, (nuint)(k * w));
                nuint u = (nuint)(4 * k * w);
                s0 += Vector512.LoadUnsafe(ref p, u) * xu;
                s1 += Vector512.LoadUnsafe(ref p, u + (nuint)w) * xu;
                s2 += Vector512.LoadUnsafe(ref p, u + (nuint)(2 * w)) * xu;
                s3 += Vector512.LoadUnsafe(ref p, u + (nuint)(3 * w)) * xu;
            }
            ref T r0 = ref Unsafe.Add(ref m, i * cols);
            RowOps<T>.ScalarTail4(ref r0, ref Unsafe.Add(ref r0, cols), ref Unsafe.Add(ref r0, 2 * cols), ref Unsafe.Add(ref r0, 3 * cols), ref q,
                chunks * w, cols, RowOps<T>.Half(s0), RowOps<T>.Half(s1), RowOps<T>.Half(s2), RowOps<T>.Half(s3), y, i);
        }
        for (; i < rows; i++) y[i] = RowOps<T>.Dot(c.Source!, i * cols, x, 0, cols);
    }

    /// <summary>Every row's sum 0 + m[i, 0]·x_0 + m[i, 1]·x_1 + …, in that order (Dot's scalar order for a
    /// narrow row), a vector of rows at a time.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void ByColumns(Copy c, T[] x, T[] y)
    {
        int rows = c.Rows, cols = c.Cols, w = Vector512<T>.Count, i = 0;
        ref T d = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(c.Data), c.Start);
        ref T dst = ref MemoryMarshal.GetArrayDataReference(y);
        for (; i + w <= rows; i += w)
        {
            var s = Vector512<T>.Zero;
            for (int j = 0; j < cols; j++) s += Vector512.LoadUnsafe(ref d, (nuint)(j * rows + i)) * Vector512.Create(x[j]);
            s.StoreUnsafe(ref dst, (nuint)i);
        }
        for (; i < rows; i++)
        {
            T s = T.Zero;
            for (int j = 0; j < cols; j++) s += Unsafe.Add(ref d, j * rows + i) * x[j];
            y[i] = s;
        }
    }
}

/// <summary>The thread's <see cref="PackedMatrices{T}.Current"/>, in a non-generic class (read inline, as
/// <see cref="DeferredRowsOfThread"/>).</summary>
static class PackedMatricesOfThread
{
    [ThreadStatic] internal static object? Current;
}
