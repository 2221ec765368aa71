using System.Numerics;
using System.Runtime.Intrinsics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace RuleDsl.Runtime.Kernels.Compiler;

/// <summary>
/// The vector primitives compiled kernels call on one matrix row (or one vector) at a time:
/// a row is in L1 while several of these run over it, so a step still makes one pass over memory.
/// SIMD via <see cref="Vector{T}"/>; every method checks its ranges once, then runs unchecked.
/// AggressiveOptimization: fully optimised from the first call (no tier-0 code in the first steps).
/// </summary>
public static partial class RowOps<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    // Inlined: called per row by every primitive, so only the test stays in the caller.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void Check(T[] a, int off, int n)
    {
        if ((uint)off > (uint)a.Length || (uint)n > (uint)(a.Length - off)) OutOfRange(a, off, n);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    static void OutOfRange(T[] a, int off, int n) =>
        throw new ArgumentOutOfRangeException(nameof(n), $"range [{off}, {off + n}) outside a buffer of {a.Length}");

    /// <summary>dst[dOff + j] += c · x[xOff + j], j &lt; n.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Axpy(T[] dst, int dOff, T c, T[] x, int xOff, int n)
    {
        Check(dst, dOff, n);
        Check(x, xOff, n);
        ref T d = ref MemoryMarshal.GetArrayDataReference(dst);
        ref T s = ref MemoryMarshal.GetArrayDataReference(x);
        d = ref Unsafe.Add(ref d, dOff);
        s = ref Unsafe.Add(ref s, xOff);
        int j = 0;
        if (Vector.IsHardwareAccelerated && n >= Vector<T>.Count)
        {
            var vc = new Vector<T>(c);
            for (; j <= n - Vector<T>.Count; j += Vector<T>.Count)
            {
                var r = Vector.LoadUnsafe(ref d, (nuint)j) + vc * Vector.LoadUnsafe(ref s, (nuint)j);
                r.StoreUnsafe(ref d, (nuint)j);
            }
        }
        for (; j < n; j++) Unsafe.Add(ref d, j) += c * Unsafe.Add(ref s, j);
    }

    /// <summary>
    /// y[j] += c0 · m[o0 + j], then += c1 · m[o1 + j], += c2 · m[o2 + j], += c3 · m[o3 + j]: four
    /// <see cref="Axpy"/> calls in a row (each element summed in the same order, the same bits) with y
    /// loaded and stored once (Mᵀx four rows at a time).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Axpy4(T[] y, T c0, T c1, T c2, T c3, T[] m, int o0, int o1, int o2, int o3, int n)
    {
        Check(y, 0, n);
        Check(m, o0, n); Check(m, o1, n); Check(m, o2, n); Check(m, o3, n);
        ref T d = ref MemoryMarshal.GetArrayDataReference(y);
        ref T p0 = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(m), o0);
        ref T p1 = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(m), o1);
        ref T p2 = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(m), o2);
        ref T p3 = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(m), o3);
        int j = 0;
        if (Vector.IsHardwareAccelerated && n >= Vector<T>.Count)
        {
            Vector<T> v0 = new(c0), v1 = new(c1), v2 = new(c2), v3 = new(c3);
            for (; j <= n - Vector<T>.Count; j += Vector<T>.Count)
            {
                nuint u = (nuint)j;
                var r = Vector.LoadUnsafe(ref d, u) + v0 * Vector.LoadUnsafe(ref p0, u);
                r += v1 * Vector.LoadUnsafe(ref p1, u);
                r += v2 * Vector.LoadUnsafe(ref p2, u);
                r += v3 * Vector.LoadUnsafe(ref p3, u);
                r.StoreUnsafe(ref d, u);
            }
        }
        for (; j < n; j++)
        {
            T r = Unsafe.Add(ref d, j) + c0 * Unsafe.Add(ref p0, j);
            r += c1 * Unsafe.Add(ref p1, j);
            r += c2 * Unsafe.Add(ref p2, j);
            r += c3 * Unsafe.Add(ref p3, j);
            Unsafe.Add(ref d, j) = r;
        }
    }

    /// <summary>dst[dOff + j] = c · dst[dOff + j].</summary>
    /// <summary>
    /// dst[dOff + j] = keep · dst[dOff + j] + Σ_{k &lt; count} coefs[k] · srcs[k][offs[k] + j] in one pass
    /// over dst per four sources (dst is not read when <paramref name="readDst"/> is false: assignment).
    /// The compiled step lists only the active terms of a row here, so a zero term costs nothing.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Combine(T[] dst, int dOff, bool readDst, T keep, T[][] srcs, int[] offs, T[] coefs, int count, int n)
    {
        Check(dst, dOff, n);
        if ((uint)count > (uint)srcs.Length || count > offs.Length || count > coefs.Length)
            throw new ArgumentOutOfRangeException(nameof(count));
        for (int k = 0; k < count; k++) Check(srcs[k], offs[k], n);
        if (count == 0)
        {
            if (!readDst) Array.Clear(dst, dOff, n);
            else if (keep != T.One) Scale(dst, dOff, keep, n);
            return;
        }
        ref T d = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(dst), dOff);
        for (int k0 = 0; k0 < count; k0 += 4)
        {
            int m = Math.Min(4, count - k0);
            bool first = k0 == 0;
            T kp = first ? keep : T.One;
            bool read = !first || readDst;
            // Unused slots point at the first source with a zero coefficient.
            ref T s0 = ref Src(srcs, offs, k0);
            ref T s1 = ref Src(srcs, offs, m > 1 ? k0 + 1 : k0);
            ref T s2 = ref Src(srcs, offs, m > 2 ? k0 + 2 : k0);
            ref T s3 = ref Src(srcs, offs, m > 3 ? k0 + 3 : k0);
            T c0 = coefs[k0], c1 = m > 1 ? coefs[k0 + 1] : T.Zero, c2 = m > 2 ? coefs[k0 + 2] : T.Zero, c3 = m > 3 ? coefs[k0 + 3] : T.Zero;
            Group(ref d, read, kp, ref s0, ref s1, ref s2, ref s3, c0, c1, c2, c3, m, n);
        }
    }

    /// <summary>One group of up to four sources over a row: the pass for its read/keep case.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void Group(ref T d, bool read, T kp, ref T s0, ref T s1, ref T s2, ref T s3, T c0, T c1, T c2, T c3, int m, int n)
    {
        if (read)
        {
            if (kp == T.One) Pass<Yes, No>(ref d, kp, ref s0, ref s1, ref s2, ref s3, c0, c1, c2, c3, m, n);
            else Pass<Yes, Yes>(ref d, kp, ref s0, ref s1, ref s2, ref s3, c0, c1, c2, c3, m, n);
        }
        else Pass<No, No>(ref d, kp, ref s0, ref s1, ref s2, ref s3, c0, c1, c2, c3, m, n);
    }

    /// <summary>Row by row instead (the same bits): an A/B switch for timing, `bench … ratio-parts ab`.</summary>
    public static bool OneRowAtATime { get; set; }

    /// <summary>
    /// Rows [first, end) of a rows × n matrix dst, each written as <see cref="Combine"/> writes it (the same
    /// arithmetic in the same order): row i = keep[i] · row i + Σ_{k &lt; count} table[k·rows + i] · (row i of
    /// srcs[k] if isRow[k] = 1, else the vector srcs[k]); keep null: 1. The sources are listed once for all
    /// rows, so a row costs its pass and no call of its own.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void CombineRows(T[] dst, int first, int end, int n, bool readDst, T[]? keep, T[][] srcs, int[] isRow, T[] table, int rows, int count)
    {
        if (first < 0 || end > rows || first > end) throw new ArgumentOutOfRangeException(nameof(first));
        Check(dst, 0, rows * n);
        if (keep is not null) Check(keep, 0, rows);
        if ((uint)count > (uint)srcs.Length || count > isRow.Length) throw new ArgumentOutOfRangeException(nameof(count));
        Check(table, 0, count * rows);
        for (int k = 0; k < count; k++) Check(srcs[k], 0, isRow[k] != 0 ? rows * n : n);
        int i = first;
        // Four rows at a time share each load of a vector source (RowOps.Rows4.cs, the same bits).
        if (count > 0 && !OneRowAtATime && end - first >= 4)
        {
            int q = (end - first) / 4;
            for (; i < first + q; i++) Rows4(dst, i, q, n, readDst, keep, srcs, isRow, table, rows, count);
            i = first + 4 * q;
        }
        for (; i < end; i++)
        {
            int off = i * n;
            T kp = keep is null ? T.One : keep[i];
            if (count == 0)
            {
                if (!readDst) Array.Clear(dst, off, n);
                else if (kp != T.One) Scale(dst, off, kp, n);
                continue;
            }
            ref T d = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(dst), off);
            for (int k0 = 0; k0 < count; k0 += 4)
            {
                int m = Math.Min(4, count - k0);
                bool firstGroup = k0 == 0;
                T kq = firstGroup ? kp : T.One;
                bool read = !firstGroup || readDst;
                ref T s0 = ref RowOf(srcs, isRow, k0, off);
                ref T s1 = ref RowOf(srcs, isRow, m > 1 ? k0 + 1 : k0, off);
                ref T s2 = ref RowOf(srcs, isRow, m > 2 ? k0 + 2 : k0, off);
                ref T s3 = ref RowOf(srcs, isRow, m > 3 ? k0 + 3 : k0, off);
                T c0 = table[k0 * rows + i], c1 = m > 1 ? table[(k0 + 1) * rows + i] : T.Zero;
                T c2 = m > 2 ? table[(k0 + 2) * rows + i] : T.Zero, c3 = m > 3 ? table[(k0 + 3) * rows + i] : T.Zero;
                Group(ref d, read, kq, ref s0, ref s1, ref s2, ref s3, c0, c1, c2, c3, m, n);
            }
        }
    }

    static ref T RowOf(T[][] srcs, int[] isRow, int k, int off) =>
        ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(srcs[k]), isRow[k] != 0 ? off : 0);

    interface IFlag { static abstract bool On { get; } }
    struct Yes : IFlag { public static bool On => true; }
    struct No : IFlag { public static bool On => false; }

    // One pass over dst with m ≤ 4 sources; the flags and m are constants per specialisation, so each
    // loop body is straight-line code (the JIT folds the generic flags, the switch picks the body).
    static void Pass<TRead, TScale>(ref T d, T kp, ref T s0, ref T s1, ref T s2, ref T s3, T c0, T c1, T c2, T c3, int m, int n)
        where TRead : struct, IFlag where TScale : struct, IFlag
    {
        switch (m)
        {
            case 1: Loop<TRead, TScale, No, No, No>(ref d, kp, ref s0, ref s1, ref s2, ref s3, c0, c1, c2, c3, n); break;
            case 2: Loop<TRead, TScale, Yes, No, No>(ref d, kp, ref s0, ref s1, ref s2, ref s3, c0, c1, c2, c3, n); break;
            case 3: Loop<TRead, TScale, Yes, Yes, No>(ref d, kp, ref s0, ref s1, ref s2, ref s3, c0, c1, c2, c3, n); break;
            default: Loop<TRead, TScale, Yes, Yes, Yes>(ref d, kp, ref s0, ref s1, ref s2, ref s3, c0, c1, c2, c3, n); break;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void Loop<TRead, TScale, T1, T2, T3>(ref T d, T kp, ref T s0, ref T s1, ref T s2, ref T s3, T c0, T c1, T c2, T c3, int n)
        where TRead : struct, IFlag where TScale : struct, IFlag where T1 : struct, IFlag where T2 : struct, IFlag where T3 : struct, IFlag
    {
        int j = 0;
        if (Vector.IsHardwareAccelerated && n >= Vector<T>.Count)
        {
            var v0 = new Vector<T>(c0);
            var v1 = new Vector<T>(c1);
            var v2 = new Vector<T>(c2);
            var v3 = new Vector<T>(c3);
            var vk = new Vector<T>(kp);
            int w = Vector<T>.Count;
            // Two vectors per iteration (independent elements: the same bits).
            for (; j <= n - 2 * w; j += 2 * w)
            {
                nuint u = (nuint)j, v = (nuint)(j + w);
                var acc = v0 * Vector.LoadUnsafe(ref s0, u);
                var acc2 = v0 * Vector.LoadUnsafe(ref s0, v);
                if (T1.On) { acc += v1 * Vector.LoadUnsafe(ref s1, u); acc2 += v1 * Vector.LoadUnsafe(ref s1, v); }
                if (T2.On) { acc += v2 * Vector.LoadUnsafe(ref s2, u); acc2 += v2 * Vector.LoadUnsafe(ref s2, v); }
                if (T3.On) { acc += v3 * Vector.LoadUnsafe(ref s3, u); acc2 += v3 * Vector.LoadUnsafe(ref s3, v); }
                if (TRead.On)
                {
                    acc += TScale.On ? vk * Vector.LoadUnsafe(ref d, u) : Vector.LoadUnsafe(ref d, u);
                    acc2 += TScale.On ? vk * Vector.LoadUnsafe(ref d, v) : Vector.LoadUnsafe(ref d, v);
                }
                acc.StoreUnsafe(ref d, u);
                acc2.StoreUnsafe(ref d, v);
            }
            for (; j <= n - w; j += w)
            {
                var acc = v0 * Vector.LoadUnsafe(ref s0, (nuint)j);
                if (T1.On) acc += v1 * Vector.LoadUnsafe(ref s1, (nuint)j);
                if (T2.On) acc += v2 * Vector.LoadUnsafe(ref s2, (nuint)j);
                if (T3.On) acc += v3 * Vector.LoadUnsafe(ref s3, (nuint)j);
                if (TRead.On) acc += TScale.On ? vk * Vector.LoadUnsafe(ref d, (nuint)j) : Vector.LoadUnsafe(ref d, (nuint)j);
                acc.StoreUnsafe(ref d, (nuint)j);
            }
        }
        for (; j < n; j++)
        {
            T acc = c0 * Unsafe.Add(ref s0, j);
            if (T1.On) acc += c1 * Unsafe.Add(ref s1, j);
            if (T2.On) acc += c2 * Unsafe.Add(ref s2, j);
            if (T3.On) acc += c3 * Unsafe.Add(ref s3, j);
            if (TRead.On) acc += TScale.On ? kp * Unsafe.Add(ref d, j) : Unsafe.Add(ref d, j);
            Unsafe.Add(ref d, j) = acc;
        }
    }

    static ref T Src(T[][] srcs, int[] offs, int k) =>
        ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(srcs[k]), offs[k]);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Scale(T[] dst, int dOff, T c, int n)
    {
        Check(dst, dOff, n);
        ref T d = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(dst), dOff);
        int j = 0;
        if (Vector.IsHardwareAccelerated && n >= Vector<T>.Count)
        {
            var vc = new Vector<T>(c);
            for (; j <= n - Vector<T>.Count; j += Vector<T>.Count)
                (vc * Vector.LoadUnsafe(ref d, (nuint)j)).StoreUnsafe(ref d, (nuint)j);
        }
        for (; j < n; j++) Unsafe.Add(ref d, j) *= c;
    }

    /// <summary>dst[dOff + j] += x[xOff + j].</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Add(T[] dst, int dOff, T[] x, int xOff, int n)
    {
        Check(dst, dOff, n);
        Check(x, xOff, n);
        ref T d = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(dst), dOff);
        ref T s = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(x), xOff);
        int j = 0;
        if (Vector.IsHardwareAccelerated && n >= Vector<T>.Count)
        {
            for (; j <= n - Vector<T>.Count; j += Vector<T>.Count)
                (Vector.LoadUnsafe(ref d, (nuint)j) + Vector.LoadUnsafe(ref s, (nuint)j)).StoreUnsafe(ref d, (nuint)j);
        }
        for (; j < n; j++) Unsafe.Add(ref d, j) += Unsafe.Add(ref s, j);
    }

    /// <summary>dst[dOff + j] = x[xOff + j].</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Copy(T[] dst, int dOff, T[] x, int xOff, int n)
    {
        Check(dst, dOff, n);
        Check(x, xOff, n);
        Array.Copy(x, xOff, dst, dOff, n);
    }

    /// <summary>dst[dOff + j] = c.</summary>
    public static void Fill(T[] dst, int dOff, T c, int n)
    {
        Check(dst, dOff, n);
        Array.Fill(dst, c, dOff, n);
    }

    /// <summary>dst[dOff + j] = 0.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Clear(T[] dst, int dOff, int n)
    {
        Check(dst, dOff, n);
        Array.Clear(dst, dOff, n);
    }

    /// <summary>Σ_j a[aOff + j] · b[bOff + j].</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static T Dot(T[] a, int aOff, T[] b, int bOff, int n)
    {
        Check(a, aOff, n);
        Check(b, bOff, n);
        ref T x = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(a), aOff);
        ref T y = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(b), bOff);
        int j = 0;
        T sum = T.Zero;
        if (Vector.IsHardwareAccelerated && n >= 2 * Vector<T>.Count)
        {
            // Two accumulators hide the add latency.
            var s0 = Vector<T>.Zero;
            var s1 = Vector<T>.Zero;
            int w = Vector<T>.Count;
            for (; j <= n - 2 * w; j += 2 * w)
            {
                s0 += Vector.LoadUnsafe(ref x, (nuint)j) * Vector.LoadUnsafe(ref y, (nuint)j);
                s1 += Vector.LoadUnsafe(ref x, (nuint)(j + w)) * Vector.LoadUnsafe(ref y, (nuint)(j + w));
            }
            sum = Vector.Sum(s0 + s1);
        }
        for (; j < n; j++) sum += Unsafe.Add(ref x, j) * Unsafe.Add(ref y, j);
        return sum;
    }

    /// <summary>
    /// Up to four dot products at once, res[k] = Σ_j a_k[o_k + j] · x_k[j] for k &lt; count (1..4), each
    /// summed in exactly <see cref="Dot"/>'s order (so the results are bit-identical to four calls of
    /// Dot): one Dot is bound by the latency of its adds, four independent chains overlap.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Dots(T[] a0, int o0, T[] x0, T[] a1, int o1, T[] x1, T[] a2, int o2, T[] x2, T[] a3, int o3, T[] x3,
        int count, int n, T[] res)
    {
        if (count < 4)
        {
            // Fewer than four: pairs, then a single one.
            if (count >= 2) Dot2(a0, o0, x0, a1, o1, x1, n, res, 0);
            if (count == 3) res[2] = Dot(a2, o2, x2, 0, n);
            else if (count == 1) res[0] = Dot(a0, o0, x0, 0, n);
            return;
        }
        Check(a0, o0, n); Check(a1, o1, n); Check(a2, o2, n); Check(a3, o3, n);
        Check(x0, 0, n); Check(x1, 0, n); Check(x2, 0, n); Check(x3, 0, n);
        Check(res, 0, 4);
        ref T p0 = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(a0), o0);
        ref T p1 = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(a1), o1);
        ref T p2 = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(a2), o2);
        ref T p3 = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(a3), o3);
        ref T q0 = ref MemoryMarshal.GetArrayDataReference(x0);
        ref T q1 = ref MemoryMarshal.GetArrayDataReference(x1);
        ref T q2 = ref MemoryMarshal.GetArrayDataReference(x2);
        ref T q3 = ref MemoryMarshal.GetArrayDataReference(x3);
        int j = 0;
        T r0 = T.Zero, r1 = T.Zero, r2 = T.Zero, r3 = T.Zero;
        if (Vector.IsHardwareAccelerated && n >= 2 * Vector<T>.Count)
        {
            var s00 = Vector<T>.Zero; var s01 = Vector<T>.Zero;
            var s10 = Vector<T>.Zero; var s11 = Vector<T>.Zero;
            var s20 = Vector<T>.Zero; var s21 = Vector<T>.Zero;
            var s30 = Vector<T>.Zero; var s31 = Vector<T>.Zero;
            int w = Vector<T>.Count;
            for (; j <= n - 2 * w; j += 2 * w)
            {
                nuint u = (nuint)j, v = (nuint)(j + w);
                s00 += Vector.LoadUnsafe(ref p0, u) * Vector.LoadUnsafe(ref q0, u);
                s01 += Vector.LoadUnsafe(ref p0, v) * Vector.LoadUnsafe(ref q0, v);
                s10 += Vector.LoadUnsafe(ref p1, u) * Vector.LoadUnsafe(ref q1, u);
                s11 += Vector.LoadUnsafe(ref p1, v) * Vector.LoadUnsafe(ref q1, v);
                s20 += Vector.LoadUnsafe(ref p2, u) * Vector.LoadUnsafe(ref q2, u);
                s21 += Vector.LoadUnsafe(ref p2, v) * Vector.LoadUnsafe(ref q2, v);
                s30 += Vector.LoadUnsafe(ref p3, u) * Vector.LoadUnsafe(ref q3, u);
                s31 += Vector.LoadUnsafe(ref p3, v) * Vector.LoadUnsafe(ref q3, v);
            }
            r0 = Vector.Sum(s00 + s01); r1 = Vector.Sum(s10 + s11);
            r2 = Vector.Sum(s20 + s21); r3 = Vector.Sum(s30 + s31);
        }
        for (; j < n; j++)
        {
            r0 += Unsafe.Add(ref p0, j) * Unsafe.Add(ref q0, j);
            r1 += Unsafe.Add(ref p1, j) * Unsafe.Add(ref q1, j);
            r2 += Unsafe.Add(ref p2, j) * Unsafe.Add(ref q2, j);
            r3 += Unsafe.Add(ref p3, j) * Unsafe.Add(ref q3, j);
        }
        res[0] = r0; res[1] = r1; res[2] = r2; res[3] = r3;
    }

    /// <summary>Two dot products at once into res[at], res[at + 1], each in <see cref="Dot"/>'s order.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void Dot2(T[] a0, int o0, T[] x0, T[] a1, int o1, T[] x1, int n, T[] res, int at)
    {
        Check(a0, o0, n); Check(a1, o1, n); Check(x0, 0, n); Check(x1, 0, n); Check(res, at, 2);
        ref T p0 = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(a0), o0);
        ref T p1 = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(a1), o1);
        ref T q0 = ref MemoryMarshal.GetArrayDataReference(x0);
        ref T q1 = ref MemoryMarshal.GetArrayDataReference(x1);
        int j = 0;
        T r0 = T.Zero, r1 = T.Zero;
        if (Vector.IsHardwareAccelerated && n >= 2 * Vector<T>.Count)
        {
            var s00 = Vector<T>.Zero; var s01 = Vector<T>.Zero;
            var s10 = Vector<T>.Zero; var s11 = Vector<T>.Zero;
            int w = Vector<T>.Count;
            for (; j <= n - 2 * w; j += 2 * w)
            {
                nuint u = (nuint)j, v = (nuint)(j + w);
                s00 += Vector.LoadUnsafe(ref p0, u) * Vector.LoadUnsafe(ref q0, u);
                s01 += Vector.LoadUnsafe(ref p0, v) * Vector.LoadUnsafe(ref q0, v);
                s10 += Vector.LoadUnsafe(ref p1, u) * Vector.LoadUnsafe(ref q1, u);
                s11 += Vector.LoadUnsafe(ref p1, v) * Vector.LoadUnsafe(ref q1, v);
            }
            r0 = Vector.Sum(s00 + s01); r1 = Vector.Sum(s10 + s11);
        }
        for (; j < n; j++)
        {
            r0 += Unsafe.Add(ref p0, j) * Unsafe.Add(ref q0, j);
            r1 += Unsafe.Add(ref p1, j) * Unsafe.Add(ref q1, j);
        }
        res[at] = r0; res[at + 1] = r1;
    }

    /// <summary>Σ_j a[aOff + j].</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static T Sum(T[] a, int aOff, int n)
    {
        Check(a, aOff, n);
        ref T x = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(a), aOff);
        int j = 0;
        T sum = T.Zero;
        if (Vector.IsHardwareAccelerated && n >= Vector<T>.Count)
        {
            var s0 = Vector<T>.Zero;
            for (; j <= n - Vector<T>.Count; j += Vector<T>.Count) s0 += Vector.LoadUnsafe(ref x, (nuint)j);
            sum = Vector.Sum(s0);
        }
        for (; j < n; j++) sum += Unsafe.Add(ref x, j);
        return sum;
    }

    /// <summary>C = A B, A rows × inner, B inner × cols, all row-major (i-k-j order). O(n³).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void MatMul(T[] a, T[] b, T[] c, int rows, int inner, int cols)
    {
        Check(a, 0, rows * inner);
        Check(b, 0, inner * cols);
        Check(c, 0, rows * cols);
        Array.Clear(c, 0, rows * cols);
        for (int i = 0; i < rows; i++)
            for (int k = 0; k < inner; k++)
                Axpy(c, i * cols, a[i * inner + k], b, k * cols, cols);
    }

    /// <summary>softmax over x[0..n) into y, as the interpreter computes it (max-shifted).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Softmax(T[] x, T[] y, int n)
    {
        Check(x, 0, n);
        Check(y, 0, n);
        T m = T.NegativeInfinity;
        for (int k = 0; k < n; k++) m = T.Max(m, x[k]);
        T s = T.Zero;
        for (int k = 0; k < n; k++) { y[k] = T.Exp(x[k] - m); s += y[k]; }
        for (int k = 0; k < n; k++) y[k] /= s;
    }

    /// <summary>log softmax, as the interpreter computes it (log of the softmax).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void LogSoftmax(T[] x, T[] y, int n)
    {
        Softmax(x, y, n);
        for (int k = 0; k < n; k++) y[k] = T.Log(y[k]);
    }
}
