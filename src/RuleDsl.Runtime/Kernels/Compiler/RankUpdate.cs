using System.Numerics;
using System.Runtime.Intrinsics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace RuleDsl.Runtime.Kernels.Compiler;

/// <summary>
/// The rows of a matrix update held back and applied many steps at once (a rank-k update). A kernel
/// compiled with <see cref="KernelSpec.DeferRows"/> writes no matrix row: each step it hands over, in one
/// call (<see cref="AddRows"/>), what <see cref="RowOps{T}.CombineRows"/> would have computed from (keep(i),
/// read, c_q(i), vector_q) for every row i, and <see cref="Flush"/> later computes, per element, exactly the sums Combine would have computed step
/// after step, in the same order and without FMA, so the matrix is bit-identical to the per-step one.
/// What it saves is memory traffic: an eligibility trace E += outer(a, b) over an N×N matrix is read and
/// written once per <see cref="Capacity"/> steps instead of once per step, while each element stays in a
/// register across those steps.
/// A kernel finds its DeferredRows through <see cref="Current"/> (set by the caller on its thread, as a
/// learner runs its kernels on one thread); whoever reads the matrix flushes first.
/// </summary>
public sealed class DeferredRows<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Where this thread's deferred-row kernels send their rows.</summary>
    public static DeferredRows<T>? Current { get => (DeferredRows<T>?)DeferredRowsOfThread.Current; set => DeferredRowsOfThread.Current = value; }

    public DeferredRows(int capacity = 16)
    {
        if (capacity is < 1 or > 64) throw new ArgumentOutOfRangeException(nameof(capacity), "between 1 and 64 steps");
        Capacity = capacity;
        rowSources = new T[capacity][];
    }

    readonly T[][] rowSources;

    /// <summary>Steps held before they are applied (the k of the rank-k update).</summary>
    public int Capacity { get; }
    /// <summary>Steps recorded and not yet applied.</summary>
    public int Pending => steps;

    T[]? target;
    int rows, cols, steps, maxTerms = 4;
    // Per step: the source vectors (copies) and the arrays they were copied from (to find them again).
    T[][][] sources = [];
    object?[][] sourceRefs = [];
    int[] sourceCount = [];
    // Per step: whether every row is old + c(i) · the step's one vector (a "shared" step: the trace
    // E += outer(a, b) of Miconi's rule). Its rows keep only c(i), in sharedCoef[t * rows + i]; the full
    // record below is written for the other steps.
    bool[] shared = [];
    T[] sharedCoef = [];
    // Per (step, row) of the other steps: the number of terms, keep, whether the old row is read, and per
    // term its coefficient and source slot.
    int[] count = [];
    T[] keep = [];
    bool[] read = [];
    T[] coef = [];
    int[] slot = [];
    // Per row: whether every pending step is old + c · vector (the fast path of the flush).
    bool[] simple = [];

    /// <summary>This thread's DeferredRows, for a kernel about to record a step (once per step, not per row).</summary>
    public static DeferredRows<T> OfThisThread() =>
        (DeferredRows<T>?)DeferredRowsOfThread.Current ?? throw new InvalidOperationException("a kernel with deferred rows ran without DeferredRows<T>.Current set");

    /// <summary>A whole step, as RowOps.CombineRows would have written it: row i becomes keep(i) · old row
    /// (the old row read only if <paramref name="readDst"/>; keep 1 when <paramref name="keepRows"/> is null)
    /// + Σ_q table[q · rows + i] · srcs[q]. A step of one vector, read and keep 1 (E += outer(a, b)) keeps only
    /// its coefficients (a "shared" step, the flush's fast path).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void AddRows(T[] dst, int n, bool readDst, T[]? keepRows, T[][] srcs, T[] table, int rowCount, int terms)
    {
        BeginStep(dst, n);
        if (rowCount != rows) throw new ArgumentException($"deferred rows: a step of {rowCount} rows for a matrix of {rows}");
        int t = steps - 1;
        if (terms == 1 && readDst && keepRows is null)
        {
            SlotOf(t, srcs[0]);
            Array.Copy(table, 0, sharedCoef, t * rows, rows);
            return;
        }
        shared[t] = false;
        if (terms > maxTerms) Grow(terms);
        Span<int> slots = stackalloc int[terms];
        for (int q = 0; q < terms; q++) slots[q] = SlotOf(t, srcs[q]);
        for (int i = 0; i < rows; i++)
        {
            int idx = t * rows + i;
            T kp = keepRows is null ? T.One : keepRows[i];
            count[idx] = terms;
            keep[idx] = kp;
            read[idx] = readDst;
            if (!(terms == 1 && readDst && kp == T.One)) simple[i] = false;
            for (int q = 0; q < terms; q++)
            {
                coef[idx * maxTerms + q] = table[q * rowCount + i];
                slot[idx * maxTerms + q] = slots[q];
            }
        }
    }

    int SlotOf(int t, T[] src)
    {
        var refs = sourceRefs[t];
        int m = sourceCount[t];
        if (m > 0 && ReferenceEquals(refs[0], src)) return 0;
        for (int k = 0; k < m; k++)
            if (ReferenceEquals(refs[k], src)) return k;
        if (m == refs.Length)
        {
            Array.Resize(ref sourceRefs[t], 2 * m);
            Array.Resize(ref sources[t], 2 * m);
            refs = sourceRefs[t];
        }
        var copy = sources[t][m] ??= new T[cols];
        Array.Copy(src, copy, cols);
        refs[m] = src;
        sourceCount[t] = m + 1;
        return m;
    }

    void BeginStep(T[] dst, int n)
    {
        if (steps == Capacity || (steps > 0 && !ReferenceEquals(dst, target))) Flush();
        if (!ReferenceEquals(dst, target) || n != cols)
        {
            if (target is not null && steps > 0) Flush();
            target = dst;
            cols = n;
            rows = dst.Length / n;
            Allocate();
        }
        if (steps == 0) Array.Fill(simple, true);
        sourceCount[steps] = 0;
        shared[steps] = true;
        Array.Clear(sourceRefs[steps]);
        steps++;
    }

    /// <summary>One allocation per matrix, none per step.</summary>
    void Allocate()
    {
        sources = Enumerable.Range(0, Capacity).Select(_ => new T[4][]).ToArray();
        sourceRefs = Enumerable.Range(0, Capacity).Select(_ => new object?[4]).ToArray();
        sourceCount = new int[Capacity];
        shared = new bool[Capacity];
        sharedCoef = new T[Capacity * rows];
        count = new int[Capacity * rows];
        keep = new T[Capacity * rows];
        read = new bool[Capacity * rows];
        coef = new T[Capacity * rows * maxTerms];
        slot = new int[Capacity * rows * maxTerms];
        simple = new bool[rows];
    }

    /// <summary>Room for more terms per row (the first steps only: a kernel's most sources per row).</summary>
    void Grow(int terms)
    {
        int old = maxTerms;
        maxTerms = Math.Max(terms, 2 * old);
        var c = new T[Capacity * rows * maxTerms];
        var s = new int[Capacity * rows * maxTerms];
        for (int idx = 0; idx < Capacity * rows; idx++)
        {
            Array.Copy(coef, idx * old, c, idx * maxTerms, old);
            Array.Copy(slot, idx * old, s, idx * maxTerms, old);
        }
        coef = c;
        slot = s;
    }

    /// <summary>Applies the pending steps to the matrix (a no-op when none are pending).</summary>
    public void Flush()
    {
        if (steps == 0 || target is null) return;
        for (int t = 0; t < steps; t++) rowSources[t] = sources[t][0];
        if (!shared.AsSpan(0, steps).Contains(false))
            // Every step E += outer(c, v_t): a rank-k update over blocks of rows.
            RankUpdate<T>.SharedRows(target, rows, cols, sharedCoef, rowSources, steps);
        else
        {
            Span<T> c = stackalloc T[Capacity];
            for (int i = 0; i < rows; i++)
            {
                if (!simple[i]) { GeneralRow(i); continue; }
                for (int t = 0; t < steps; t++)
                {
                    int at = t * rows + i;
                    if (shared[t]) { c[t] = sharedCoef[at]; rowSources[t] = sources[t][0]; continue; }
                    int idx = at * maxTerms;
                    c[t] = coef[idx];
                    rowSources[t] = sources[t][slot[idx]];
                }
                RankUpdate<T>.SimpleRow(target.AsSpan(i * cols, cols), c[..steps], rowSources);
            }
        }
        steps = 0;
    }

    /// <summary>Row i as Combine would have written it step after step (any keep, read flag and term
    /// count): per element, each step's terms summed in groups of four, then the old value added (scaled
    /// by keep), exactly Combine's order; a chunk of the row stays in a register across the steps.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    void GeneralRow(int i)
    {
        ref T d = ref MemoryMarshal.GetArrayDataReference(target!);
        d = ref Unsafe.Add(ref d, i * cols);
        int j = 0;
        if (Vector512.IsHardwareAccelerated)
            for (; j <= cols - Vector512<T>.Count; j += Vector512<T>.Count)
            {
                var e = Vector512.LoadUnsafe(ref d, (nuint)j);
                for (int t = 0; t < steps; t++)
                {
                    int idx = t * rows + i;
                    var src = sources[t];
                    if (shared[t])
                    {
                        e = Vector512.Create(sharedCoef[idx]) * Vector512.LoadUnsafe(ref MemoryMarshal.GetArrayDataReference(src[0]), (nuint)j) + e;
                        continue;
                    }
                    int m = count[idx], at = idx * maxTerms;
                    T kp = keep[idx];
                    if (m == 0)
                    {
                        if (!read[idx]) e = Vector512<T>.Zero;
                        else if (kp != T.One) e = Vector512.Create(kp) * e;
                        continue;
                    }
                    for (int k0 = 0; k0 < m; k0 += 4)
                    {
                        int g = Math.Min(4, m - k0);
                        var acc = Vector512.Create(coef[at + k0]) * Vector512.LoadUnsafe(ref MemoryMarshal.GetArrayDataReference(src[slot[at + k0]]), (nuint)j);
                        for (int q = 1; q < g; q++)
                            acc += Vector512.Create(coef[at + k0 + q]) * Vector512.LoadUnsafe(ref MemoryMarshal.GetArrayDataReference(src[slot[at + k0 + q]]), (nuint)j);
                        bool first = k0 == 0;
                        if (!first || read[idx]) acc += first && kp != T.One ? Vector512.Create(kp) * e : e;
                        e = acc;
                    }
                }
                e.StoreUnsafe(ref d, (nuint)j);
            }
        for (; j < cols; j++)
        {
            T e = Unsafe.Add(ref d, j);
            for (int t = 0; t < steps; t++)
            {
                int idx = t * rows + i;
                var src = sources[t];
                if (shared[t]) { e = sharedCoef[idx] * src[0][j] + e; continue; }
                int m = count[idx], at = idx * maxTerms;
                T kp = keep[idx];
                if (m == 0)
                {
                    if (!read[idx]) e = T.Zero;
                    else if (kp != T.One) e = kp * e;
                    continue;
                }
                for (int k0 = 0; k0 < m; k0 += 4)
                {
                    int g = Math.Min(4, m - k0);
                    T acc = coef[at + k0] * src[slot[at + k0]][j];
                    for (int q = 1; q < g; q++) acc += coef[at + k0 + q] * src[slot[at + k0 + q]][j];
                    bool first = k0 == 0;
                    if (!first || read[idx]) acc += first && kp != T.One ? kp * e : e;
                    e = acc;
                }
            }
            Unsafe.Add(ref d, j) = e;
        }
    }
}

/// <summary>The thread's <see cref="DeferredRows{T}.Current"/>, in a non-generic class: a thread-static of a
/// generic class is reached through a runtime helper on every call, this one inline (a kernel records
/// every row of every step through it).</summary>
static class DeferredRowsOfThread
{
    [ThreadStatic] internal static object? Current;
}

/// <summary>The inner loop of a rank-k update: one row, every element kept in a register across the k steps.</summary>
public static class RankUpdate<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Every row of a matrix at once when the steps share their vectors: m[i, j] ← c[t·rows + i] ·
    /// v_t[j] + m[i, j] for t = 0, 1, …, steps − 1 in turn — <see cref="SimpleRow"/>'s arithmetic per element.
    /// Four rows share each load of v_t (a 4 × 32 tile of doubles in sixteen registers), so the loop is
    /// bound by the multiplies and adds, not by loads.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void SharedRows(T[] m, int rows, int cols, T[] c, T[][] v, int steps)
    {
        if (m.Length < rows * cols || c.Length < steps * rows || v.Length < steps) throw new ArgumentException("matrix, coefficients or vectors too short");
        for (int t = 0; t < steps; t++)
            if (v[t].Length < cols) throw new ArgumentException("a vector shorter than the row");
        int i = 0;
        if (Vector512.IsHardwareAccelerated)
            for (; i <= rows - 4; i += 4) FourRows(m, i, rows, cols, c, v, steps);
        Span<T> ci = stackalloc T[steps];
        for (; i < rows; i++)
        {
            for (int t = 0; t < steps; t++) ci[t] = c[t * rows + i];
            SimpleRow(m.AsSpan(i * cols, cols), ci, v);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void FourRows(T[] m, int i, int rows, int cols, T[] c, T[][] v, int steps)
    {
        ref T r0 = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(m), i * cols);
        ref T r1 = ref Unsafe.Add(ref r0, cols);
        ref T r2 = ref Unsafe.Add(ref r1, cols);
        ref T r3 = ref Unsafe.Add(ref r2, cols);
        ref T cc = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(c), i);
        int w = Vector512<T>.Count, j = 0;
        for (; j <= cols - 4 * w; j += 4 * w)
        {
            nuint j0 = (nuint)j, j1 = (nuint)(j + w), j2 = (nuint)(j + 2 * w), j3 = (nuint)(j + 3 * w);
            Vector512<T> a0 = Vector512.LoadUnsafe(ref r0, j0), a1 = Vector512.LoadUnsafe(ref r0, j1), a2 = Vector512.LoadUnsafe(ref r0, j2), a3 = Vector512.LoadUnsafe(ref r0, j3);
            Vector512<T> b0 = Vector512.LoadUnsafe(ref r1, j0), b1 = Vector512.LoadUnsafe(ref r1, j1), b2 = Vector512.LoadUnsafe(ref r1, j2), b3 = Vector512.LoadUnsafe(ref r1, j3);
            Vector512<T> d0 = Vector512.LoadUnsafe(ref r2, j0), d1 = Vector512.LoadUnsafe(ref r2, j1), d2 = Vector512.LoadUnsafe(ref r2, j2), d3 = Vector512.LoadUnsafe(ref r2, j3);
            Vector512<T> e0 = Vector512.LoadUnsafe(ref r3, j0), e1 = Vector512.LoadUnsafe(ref r3, j1), e2 = Vector512.LoadUnsafe(ref r3, j2), e3 = Vector512.LoadUnsafe(ref r3, j3);
            for (int t = 0; t < steps; t++)
            {
                ref T s = ref MemoryMarshal.GetArrayDataReference(v[t]);
                var v0 = Vector512.LoadUnsafe(ref s, j0); var v1 = Vector512.LoadUnsafe(ref s, j1);
                var v2 = Vector512.LoadUnsafe(ref s, j2); var v3 = Vector512.LoadUnsafe(ref s, j3);
                ref T ct = ref Unsafe.Add(ref cc, t * rows);
                var k = Vector512.Create(ct);
                a0 = k * v0 + a0; a1 = k * v1 + a1; a2 = k * v2 + a2; a3 = k * v3 + a3;
                k = Vector512.Create(Unsafe.Add(ref ct, 1));
                b0 = k * v0 + b0; b1 = k * v1 + b1; b2 = k * v2 + b2; b3 = k * v3 + b3;
                k = Vector512.Create(Unsafe.Add(ref ct, 2));
                d0 = k * v0 + d0; d1 = k * v1 + d1; d2 = k * v2 + d2; d3 = k * v3 + d3;
                k = Vector512.Create(Unsafe.Add(ref ct, 3));
                e0 = k * v0 + e0; e1 = k * v1 + e1; e2 = k * v2 + e2; e3 = k * v3 + e3;
            }
            a0.StoreUnsafe(ref r0, j0); a1.StoreUnsafe(ref r0, j1); a2.StoreUnsafe(ref r0, j2); a3.StoreUnsafe(ref r0, j3);
            b0.StoreUnsafe(ref r1, j0); b1.StoreUnsafe(ref r1, j1); b2.StoreUnsafe(ref r1, j2); b3.StoreUnsafe(ref r1, j3);
            d0.StoreUnsafe(ref r2, j0); d1.StoreUnsafe(ref r2, j1); d2.StoreUnsafe(ref r2, j2); d3.StoreUnsafe(ref r2, j3);
            e0.StoreUnsafe(ref r3, j0); e1.StoreUnsafe(ref r3, j1); e2.StoreUnsafe(ref r3, j2); e3.StoreUnsafe(ref r3, j3);
        }
        for (; j <= cols - w; j += w)
        {
            nuint j0 = (nuint)j;
            Vector512<T> a0 = Vector512.LoadUnsafe(ref r0, j0), b0 = Vector512.LoadUnsafe(ref r1, j0), d0 = Vector512.LoadUnsafe(ref r2, j0), e0 = Vector512.LoadUnsafe(ref r3, j0);
            for (int t = 0; t < steps; t++)
            {
                var v0 = Vector512.LoadUnsafe(ref MemoryMarshal.GetArrayDataReference(v[t]), j0);
                ref T ct = ref Unsafe.Add(ref cc, t * rows);
                a0 = Vector512.Create(ct) * v0 + a0;
                b0 = Vector512.Create(Unsafe.Add(ref ct, 1)) * v0 + b0;
                d0 = Vector512.Create(Unsafe.Add(ref ct, 2)) * v0 + d0;
                e0 = Vector512.Create(Unsafe.Add(ref ct, 3)) * v0 + e0;
            }
            a0.StoreUnsafe(ref r0, j0); b0.StoreUnsafe(ref r1, j0); d0.StoreUnsafe(ref r2, j0); e0.StoreUnsafe(ref r3, j0);
        }
        for (; j < cols; j++)
        {
            T a = Unsafe.Add(ref r0, j), b = Unsafe.Add(ref r1, j), d = Unsafe.Add(ref r2, j), e = Unsafe.Add(ref r3, j);
            for (int t = 0; t < steps; t++)
            {
                T x = v[t][j];
                ref T ct = ref Unsafe.Add(ref cc, t * rows);
                a = ct * x + a; b = Unsafe.Add(ref ct, 1) * x + b; d = Unsafe.Add(ref ct, 2) * x + d; e = Unsafe.Add(ref ct, 3) * x + e;
            }
            Unsafe.Add(ref r0, j) = a; Unsafe.Add(ref r1, j) = b; Unsafe.Add(ref r2, j) = d; Unsafe.Add(ref r3, j) = e;
        }
    }

    /// <summary>d[j] ← c_t · v_t[j] + d[j] for t = 0, 1, …, steps − 1 in turn (each step's product rounded,
    /// then added: the per-step update's arithmetic exactly), over a row of <paramref name="n"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void SimpleRow(Span<T> row, ReadOnlySpan<T> c, T[][] v)
    {
        int n = row.Length, steps = c.Length;
        if (v.Length < steps) throw new ArgumentException("fewer vectors than coefficients");
        for (int t = 0; t < steps; t++)
            if (v[t].Length < n) throw new ArgumentException("a vector shorter than the row");
        ref T d = ref MemoryMarshal.GetReference(row);
        int j = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            int w = Vector512<T>.Count;
            // Four independent chains per pass: one chain is bound by the add's latency, four by throughput.
            for (; j <= n - 4 * w; j += 4 * w)
            {
                var e0 = Vector512.LoadUnsafe(ref d, (nuint)j);
                var e1 = Vector512.LoadUnsafe(ref d, (nuint)(j + w));
                var e2 = Vector512.LoadUnsafe(ref d, (nuint)(j + 2 * w));
                var e3 = Vector512.LoadUnsafe(ref d, (nuint)(j + 3 * w));
                for (int t = 0; t < steps; t++)
                {
                    var vc = Vector512.Create(c[t]);
                    ref T s = ref MemoryMarshal.GetArrayDataReference(v[t]);
                    e0 = vc * Vector512.LoadUnsafe(ref s, (nuint)j) + e0;
                    e1 = vc * Vector512.LoadUnsafe(ref s, (nuint)(j + w)) + e1;
                    e2 = vc * Vector512.LoadUnsafe(ref s, (nuint)(j + 2 * w)) + e2;
                    e3 = vc * Vector512.LoadUnsafe(ref s, (nuint)(j + 3 * w)) + e3;
                }
                e0.StoreUnsafe(ref d, (nuint)j);
                e1.StoreUnsafe(ref d, (nuint)(j + w));
                e2.StoreUnsafe(ref d, (nuint)(j + 2 * w));
                e3.StoreUnsafe(ref d, (nuint)(j + 3 * w));
            }
            for (; j <= n - w; j += w)
            {
                var e0 = Vector512.LoadUnsafe(ref d, (nuint)j);
                for (int t = 0; t < steps; t++)
                    e0 = Vector512.Create(c[t]) * Vector512.LoadUnsafe(ref MemoryMarshal.GetArrayDataReference(v[t]), (nuint)j) + e0;
                e0.StoreUnsafe(ref d, (nuint)j);
            }
        }
        int vw = Vector<T>.Count;
        for (; j <= n - vw; j += vw)
        {
            var e0 = Vector.LoadUnsafe(ref d, (nuint)j);
            for (int t = 0; t < steps; t++)
                e0 = new Vector<T>(c[t]) * Vector.LoadUnsafe(ref MemoryMarshal.GetArrayDataReference(v[t]), (nuint)j) + e0;
            e0.StoreUnsafe(ref d, (nuint)j);
        }
        for (; j < n; j++)
        {
            T e = Unsafe.Add(ref d, j);
            for (int t = 0; t < steps; t++) e = c[t] * v[t][j] + e;
            Unsafe.Add(ref d, j) = e;
        }
    }
}
