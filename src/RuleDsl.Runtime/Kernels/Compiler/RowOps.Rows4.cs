using System.Numerics;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace RuleDsl.Runtime.Kernels.Compiler;

/// <summary>
/// <see cref="CombineRows"/> four rows at a time: a group of sources that are all vectors (no matrix row)
/// is loaded once per element for four rows instead of once per row. Each element gets the arithmetic of
/// <see cref="Combine"/> in its order (Σ c_k·s_k left to right, then the old value added), so the rows
/// are bit-identical to writing them one at a time; only the loads are shared.
/// </summary>
public static partial class RowOps<T>
{
    /// <summary>Rows i, i + q, i + 2q, i + 3q of <see cref="CombineRows"/> (count &gt; 0; ranges checked by the caller).
    /// Rows q apart, one from each quarter of the range: each quarter is then written front to back as one
    /// stream (four neighbouring rows made each stream restart every row, which the hardware prefetcher
    /// follows worse when the matrices come from memory).</summary>
    static void Rows4(T[] dst, int i, int q, int n, bool readDst, T[]? keep, T[][] srcs, int[] isRow, T[] table, int rows, int count)
    {
        int off = i * n;
        ref T d = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(dst), off);
        ref T tab = ref MemoryMarshal.GetArrayDataReference(table);
        T k0 = T.One, k1 = T.One, k2 = T.One, k3 = T.One;
        if (keep is not null) { k0 = keep[i]; k1 = keep[i + q]; k2 = keep[i + 2 * q]; k3 = keep[i + 3 * q]; }
        for (int g = 0; g < count; g += 4)
        {
            int m = Math.Min(4, count - g);
            bool firstGroup = g == 0;
            bool read = !firstGroup || readDst;
            bool rowLast = isRow[g + m - 1] != 0, rowBefore = false;
            for (int k = g; k < g + m - 1; k++) rowBefore |= isRow[k] != 0;
            if (rowBefore)
            {
                // A matrix row before a vector (the builder lists rows last): each row as CombineRows writes it.
                for (int r = 0; r < 4; r++)
                {
                    int o = off + r * q * n;
                    T kq = !firstGroup ? T.One : r == 0 ? k0 : r == 1 ? k1 : r == 2 ? k2 : k3;
                    ref T s0 = ref RowOf(srcs, isRow, g, o);
                    ref T s1 = ref RowOf(srcs, isRow, m > 1 ? g + 1 : g, o);
                    ref T s2 = ref RowOf(srcs, isRow, m > 2 ? g + 2 : g, o);
                    ref T s3 = ref RowOf(srcs, isRow, m > 3 ? g + 3 : g, o);
                    int at = i + r * q;
                    T c0 = table[g * rows + at], c1 = m > 1 ? table[(g + 1) * rows + at] : T.Zero;
                    T c2 = m > 2 ? table[(g + 2) * rows + at] : T.Zero, c3 = m > 3 ? table[(g + 3) * rows + at] : T.Zero;
                    Group(ref Unsafe.Add(ref d, r * q * n), read, kq, ref s0, ref s1, ref s2, ref s3, c0, c1, c2, c3, m, n);
                }
                continue;
            }
            // Multiplying by a keep of 1 is exact, so one row's keep ≠ 1 scales all four with the same bits.
            bool scale = firstGroup && (k0 != T.One || k1 != T.One || k2 != T.One || k3 != T.One);
            ref T c = ref Unsafe.Add(ref tab, g * rows + i);
            // A matrix row as the last source: row i's, read for each of the four rows (stride qn).
            ref T v0 = ref RowOf(srcs, isRow, g, off);
            ref T v1 = ref RowOf(srcs, isRow, m > 1 ? g + 1 : g, off);
            ref T v2 = ref RowOf(srcs, isRow, m > 2 ? g + 2 : g, off);
            ref T v3 = ref RowOf(srcs, isRow, m > 3 ? g + 3 : g, off);
            if (rowLast) Read4<Yes>(ref d, q, n, ref c, rows, read, scale, k0, k1, k2, k3, ref v0, ref v1, ref v2, ref v3, m);
            else Read4<No>(ref d, q, n, ref c, rows, read, scale, k0, k1, k2, k3, ref v0, ref v1, ref v2, ref v3, m);
        }
    }

    static void Read4<TRow>(ref T d, int q, int n, ref T c, int rows, bool read, bool scale, T k0, T k1, T k2, T k3,
        ref T s0, ref T s1, ref T s2, ref T s3, int m) where TRow : struct, IFlag
    {
        if (!read) Pass4<No, No, TRow>(ref d, q, n, ref c, rows, k0, k1, k2, k3, ref s0, ref s1, ref s2, ref s3, m);
        else if (scale) Pass4<Yes, Yes, TRow>(ref d, q, n, ref c, rows, k0, k1, k2, k3, ref s0, ref s1, ref s2, ref s3, m);
        else Pass4<Yes, No, TRow>(ref d, q, n, ref c, rows, k0, k1, k2, k3, ref s0, ref s1, ref s2, ref s3, m);
    }

    static void Pass4<TRead, TScale, TRow>(ref T d, int q, int n, ref T c, int rows, T k0, T k1, T k2, T k3, ref T s0, ref T s1, ref T s2, ref T s3, int m)
        where TRead : struct, IFlag where TScale : struct, IFlag where TRow : struct, IFlag
    {
        switch (m)
        {
            case 1: Loop4<TRead, TScale, No, No, No, TRow>(ref d, q, n, ref c, rows, k0, k1, k2, k3, ref s0, ref s1, ref s2, ref s3); break;
            case 2: Loop4<TRead, TScale, Yes, No, No, TRow>(ref d, q, n, ref c, rows, k0, k1, k2, k3, ref s0, ref s1, ref s2, ref s3); break;
            case 3: Loop4<TRead, TScale, Yes, Yes, No, TRow>(ref d, q, n, ref c, rows, k0, k1, k2, k3, ref s0, ref s1, ref s2, ref s3); break;
            default: Loop4<TRead, TScale, Yes, Yes, Yes, TRow>(ref d, q, n, ref c, rows, k0, k1, k2, k3, ref s0, ref s1, ref s2, ref s3); break;
        }
    }

    /// <summary>Four rows q apart (d, d + qn, d + 2qn, d + 3qn); source k's coefficient for row r at c[k·rows + rq].
    /// TRow: the last source is a matrix row (row r's at its rqn), the others vectors loaded once for the four rows.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void Loop4<TRead, TScale, T1, T2, T3, TRow>(ref T d, int q, int n, ref T c, int rows, T k0, T k1, T k2, T k3, ref T s0, ref T s1, ref T s2, ref T s3)
        where TRead : struct, IFlag where TScale : struct, IFlag where T1 : struct, IFlag where T2 : struct, IFlag where T3 : struct, IFlag
        where TRow : struct, IFlag
    {
        int rs = q * n;
        ref T d1 = ref Unsafe.Add(ref d, rs);
        ref T d2 = ref Unsafe.Add(ref d, 2 * rs);
        ref T d3 = ref Unsafe.Add(ref d, 3 * rs);
        // The last active source (the row, with TRow) and its rows for rows 1..3.
        int last = T3.On ? 3 : T2.On ? 2 : T1.On ? 1 : 0;
        ref T l0 = ref T3.On ? ref s3 : ref T2.On ? ref s2 : ref T1.On ? ref s1 : ref s0;
        // (Only a row has rows 1..3: no reference past the end of a vector.)
        ref T l1 = ref TRow.On ? ref Unsafe.Add(ref l0, rs) : ref l0;
        ref T l2 = ref TRow.On ? ref Unsafe.Add(ref l0, 2 * rs) : ref l0;
        ref T l3 = ref TRow.On ? ref Unsafe.Add(ref l0, 3 * rs) : ref l0;
        T a00 = c, a01 = Unsafe.Add(ref c, q), a02 = Unsafe.Add(ref c, 2 * q), a03 = Unsafe.Add(ref c, 3 * q);
        T a10 = T.Zero, a11 = T.Zero, a12 = T.Zero, a13 = T.Zero, a20 = T.Zero, a21 = T.Zero, a22 = T.Zero, a23 = T.Zero;
        T a30 = T.Zero, a31 = T.Zero, a32 = T.Zero, a33 = T.Zero;
        if (T1.On) { ref T p = ref Unsafe.Add(ref c, rows); a10 = p; a11 = Unsafe.Add(ref p, q); a12 = Unsafe.Add(ref p, 2 * q); a13 = Unsafe.Add(ref p, 3 * q); }
        if (T2.On) { ref T p = ref Unsafe.Add(ref c, 2 * rows); a20 = p; a21 = Unsafe.Add(ref p, q); a22 = Unsafe.Add(ref p, 2 * q); a23 = Unsafe.Add(ref p, 3 * q); }
        if (T3.On) { ref T p = ref Unsafe.Add(ref c, 3 * rows); a30 = p; a31 = Unsafe.Add(ref p, q); a32 = Unsafe.Add(ref p, 2 * q); a33 = Unsafe.Add(ref p, 3 * q); }
        bool shared0 = !(TRow.On && last == 0), shared1 = T1.On && !(TRow.On && last == 1);
        bool shared2 = T2.On && !(TRow.On && last == 2), shared3 = T3.On && !(TRow.On && last == 3);
        int j = 0;
        // With AVX-512: a few elements one at a time until row i is on a 64-byte boundary, then 512-bit vectors,
        // each load and store of row i one whole cache line (rows 1..3 as well when qn is a multiple of 64 bytes,
        // as for 784 columns). The same operations per element, so the same bits as the 256-bit loop below.
        if (Vector512.IsHardwareAccelerated && !Only256 && n >= 4 * Vector512<T>.Count)
        {
            int peel = Peel(ref d);
            for (; j < peel; j++)
            {
                T x0 = shared0 ? Unsafe.Add(ref s0, j) : T.Zero, x1 = shared1 ? Unsafe.Add(ref s1, j) : T.Zero;
                T x2 = shared2 ? Unsafe.Add(ref s2, j) : T.Zero, x3 = shared3 ? Unsafe.Add(ref s3, j) : T.Zero;
                Elem<TRead, TScale, T1, T2, T3, TRow>(ref Unsafe.Add(ref d, j), Unsafe.Add(ref l0, j), a00, a10, a20, a30, k0, x0, x1, x2, x3);
                Elem<TRead, TScale, T1, T2, T3, TRow>(ref Unsafe.Add(ref d1, j), Unsafe.Add(ref l1, j), a01, a11, a21, a31, k1, x0, x1, x2, x3);
                Elem<TRead, TScale, T1, T2, T3, TRow>(ref Unsafe.Add(ref d2, j), Unsafe.Add(ref l2, j), a02, a12, a22, a32, k2, x0, x1, x2, x3);
                Elem<TRead, TScale, T1, T2, T3, TRow>(ref Unsafe.Add(ref d3, j), Unsafe.Add(ref l3, j), a03, a13, a23, a33, k3, x0, x1, x2, x3);
            }
            var b00 = Vector512.Create(a00); var b01 = Vector512.Create(a01); var b02 = Vector512.Create(a02); var b03 = Vector512.Create(a03);
            var b10 = Vector512.Create(a10); var b11 = Vector512.Create(a11); var b12 = Vector512.Create(a12); var b13 = Vector512.Create(a13);
            var b20 = Vector512.Create(a20); var b21 = Vector512.Create(a21); var b22 = Vector512.Create(a22); var b23 = Vector512.Create(a23);
            var b30 = Vector512.Create(a30); var b31 = Vector512.Create(a31); var b32 = Vector512.Create(a32); var b33 = Vector512.Create(a33);
            var e0 = Vector512.Create(k0); var e1 = Vector512.Create(k1); var e2 = Vector512.Create(k2); var e3 = Vector512.Create(k3);
            bool prefetch = Prefetch && Sse.IsSupported;
            int ahead = PrefetchBytes / Unsafe.SizeOf<T>();
            for (; j <= n - Vector512<T>.Count; j += Vector512<T>.Count)
            {
                nuint u = (nuint)j;
                if (prefetch) Ahead(ref d, ref d1, ref d2, ref d3, j + ahead);
                var x0 = shared0 ? Vector512.LoadUnsafe(ref s0, u) : default;
                var x1 = shared1 ? Vector512.LoadUnsafe(ref s1, u) : default;
                var x2 = shared2 ? Vector512.LoadUnsafe(ref s2, u) : default;
                var x3 = shared3 ? Vector512.LoadUnsafe(ref s3, u) : default;
                Row512<TRead, TScale, T1, T2, T3, TRow>(ref d, ref l0, u, b00, b10, b20, b30, e0, x0, x1, x2, x3);
                Row512<TRead, TScale, T1, T2, T3, TRow>(ref d1, ref l1, u, b01, b11, b21, b31, e1, x0, x1, x2, x3);
                Row512<TRead, TScale, T1, T2, T3, TRow>(ref d2, ref l2, u, b02, b12, b22, b32, e2, x0, x1, x2, x3);
                Row512<TRead, TScale, T1, T2, T3, TRow>(ref d3, ref l3, u, b03, b13, b23, b33, e3, x0, x1, x2, x3);
            }
        }
        if (Vector.IsHardwareAccelerated && n - j >= Vector<T>.Count)
        {
            Vector<T> b00 = new(a00), b01 = new(a01), b02 = new(a02), b03 = new(a03);
            Vector<T> b10 = new(a10), b11 = new(a11), b12 = new(a12), b13 = new(a13);
            Vector<T> b20 = new(a20), b21 = new(a21), b22 = new(a22), b23 = new(a23);
            Vector<T> b30 = new(a30), b31 = new(a31), b32 = new(a32), b33 = new(a33);
            Vector<T> e0 = new(k0), e1 = new(k1), e2 = new(k2), e3 = new(k3);
            for (; j <= n - Vector<T>.Count; j += Vector<T>.Count)
            {
                nuint u = (nuint)j;
                var x0 = shared0 ? Vector.LoadUnsafe(ref s0, u) : default;
                var x1 = shared1 ? Vector.LoadUnsafe(ref s1, u) : default;
                var x2 = shared2 ? Vector.LoadUnsafe(ref s2, u) : default;
                var x3 = shared3 ? Vector.LoadUnsafe(ref s3, u) : default;
                Row<TRead, TScale, T1, T2, T3, TRow>(ref d, ref l0, u, b00, b10, b20, b30, e0, x0, x1, x2, x3);
                Row<TRead, TScale, T1, T2, T3, TRow>(ref d1, ref l1, u, b01, b11, b21, b31, e1, x0, x1, x2, x3);
                Row<TRead, TScale, T1, T2, T3, TRow>(ref d2, ref l2, u, b02, b12, b22, b32, e2, x0, x1, x2, x3);
                Row<TRead, TScale, T1, T2, T3, TRow>(ref d3, ref l3, u, b03, b13, b23, b33, e3, x0, x1, x2, x3);
            }
        }
        for (; j < n; j++)
        {
            T x0 = shared0 ? Unsafe.Add(ref s0, j) : T.Zero, x1 = shared1 ? Unsafe.Add(ref s1, j) : T.Zero;
            T x2 = shared2 ? Unsafe.Add(ref s2, j) : T.Zero, x3 = shared3 ? Unsafe.Add(ref s3, j) : T.Zero;
            Elem<TRead, TScale, T1, T2, T3, TRow>(ref Unsafe.Add(ref d, j), Unsafe.Add(ref l0, j), a00, a10, a20, a30, k0, x0, x1, x2, x3);
            Elem<TRead, TScale, T1, T2, T3, TRow>(ref Unsafe.Add(ref d1, j), Unsafe.Add(ref l1, j), a01, a11, a21, a31, k1, x0, x1, x2, x3);
            Elem<TRead, TScale, T1, T2, T3, TRow>(ref Unsafe.Add(ref d2, j), Unsafe.Add(ref l2, j), a02, a12, a22, a32, k2, x0, x1, x2, x3);
            Elem<TRead, TScale, T1, T2, T3, TRow>(ref Unsafe.Add(ref d3, j), Unsafe.Add(ref l3, j), a03, a13, a23, a33, k3, x0, x1, x2, x3);
        }
    }

    /// <summary>256-bit vectors only, as before the 512-bit path (the same bits): an A/B switch for timing, `bench … ratio-parts ab512`.</summary>
    public static bool Only256 { get; set; }

    /// <summary>With the 512-bit path, each of the four rows' lines PrefetchBytes ahead is asked for (a hint: no values change).
    /// The network's step streams its matrices from memory, and the four streams are not fetched early enough by the
    /// hardware alone; off: an A/B switch for timing, `bench … ratio-parts abprefetch`.</summary>
    public static bool Prefetch { get; set; } = true;

    const int PrefetchBytes = 2048;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static unsafe void Ahead(ref T d0, ref T d1, ref T d2, ref T d3, int j)
    {
        // Past a row's end is the next row of the same quarter (or nothing: a prefetch never faults).
        Sse.Prefetch0(Unsafe.AsPointer(ref Unsafe.Add(ref d0, j)));
        Sse.Prefetch0(Unsafe.AsPointer(ref Unsafe.Add(ref d1, j)));
        Sse.Prefetch0(Unsafe.AsPointer(ref Unsafe.Add(ref d2, j)));
        Sse.Prefetch0(Unsafe.AsPointer(ref Unsafe.Add(ref d3, j)));
    }

    /// <summary>How many elements from d to the next 64-byte boundary (0 when d is on one); also where
    /// <see cref="PackedMatrices{T}"/> starts its pinned copies.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static unsafe int Peel(ref T d) => (int)((64 - (nuint)Unsafe.AsPointer(ref d) % 64) % 64 / (nuint)sizeof(T));

    // Row's body in 512-bit vectors: the same operations in the same order, lane by lane.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void Row512<TRead, TScale, T1, T2, T3, TRow>(ref T d, ref T l, nuint u, Vector512<T> c0, Vector512<T> c1, Vector512<T> c2, Vector512<T> c3,
        Vector512<T> k, Vector512<T> x0, Vector512<T> x1, Vector512<T> x2, Vector512<T> x3)
        where TRead : struct, IFlag where TScale : struct, IFlag where T1 : struct, IFlag where T2 : struct, IFlag where T3 : struct, IFlag
        where TRow : struct, IFlag
    {
        if (TRow.On)
        {
            var r = Vector512.LoadUnsafe(ref l, u);
            if (T3.On) x3 = r; else if (T2.On) x2 = r; else if (T1.On) x1 = r; else x0 = r;
        }
        var acc = c0 * x0;
        if (T1.On) acc += c1 * x1;
        if (T2.On) acc += c2 * x2;
        if (T3.On) acc += c3 * x3;
        if (TRead.On) acc += TScale.On ? k * Vector512.LoadUnsafe(ref d, u) : Vector512.LoadUnsafe(ref d, u);
        acc.StoreUnsafe(ref d, u);
    }

    // Loop's body for one row: the same operations in the same order (with TRow the last source is this row's).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void Row<TRead, TScale, T1, T2, T3, TRow>(ref T d, ref T l, nuint u, Vector<T> c0, Vector<T> c1, Vector<T> c2, Vector<T> c3, Vector<T> k,
        Vector<T> x0, Vector<T> x1, Vector<T> x2, Vector<T> x3)
        where TRead : struct, IFlag where TScale : struct, IFlag where T1 : struct, IFlag where T2 : struct, IFlag where T3 : struct, IFlag
        where TRow : struct, IFlag
    {
        if (TRow.On)
        {
            var r = Vector.LoadUnsafe(ref l, u);
            if (T3.On) x3 = r; else if (T2.On) x2 = r; else if (T1.On) x1 = r; else x0 = r;
        }
        var acc = c0 * x0;
        if (T1.On) acc += c1 * x1;
        if (T2.On) acc += c2 * x2;
        if (T3.On) acc += c3 * x3;
        if (TRead.On) acc += TScale.On ? k * Vector.LoadUnsafe(ref d, u) : Vector.LoadUnsafe(ref d, u);
        acc.StoreUnsafe(ref d, u);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void Elem<TRead, TScale, T1, T2, T3, TRow>(ref T d, T l, T c0, T c1, T c2, T c3, T k, T x0, T x1, T x2, T x3)
        where TRead : struct, IFlag where TScale : struct, IFlag where T1 : struct, IFlag where T2 : struct, IFlag where T3 : struct, IFlag
        where TRow : struct, IFlag
    {
        if (TRow.On) { if (T3.On) x3 = l; else if (T2.On) x2 = l; else if (T1.On) x1 = l; else x0 = l; }
        T acc = c0 * x0;
        if (T1.On) acc += c1 * x1;
        if (T2.On) acc += c2 * x2;
        if (T3.On) acc += c3 * x3;
        if (TRead.On) acc += TScale.On ? k * d : d;
        d = acc;
    }
}
