using System.Numerics;
using System.Runtime.Intrinsics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace RuleDsl.Runtime.Kernels.Compiler;

/// <summary>
/// The rows of a matrix update held back and applied many steps at once (a rank-k update). A kernel
/// compiled with <see cref="KernelSpec.DeferRows"/> writes no matrix row: for each row i it hands over
/// what <see cref="RowOps{T}.Combine"/> would have computed from (keep(i), read(i), c_q(i), vector_q),
/// and <see cref="Flush"/> later computes, per element, exactly the sums Combine would have computed step
/// after step, in the same order and without FMA, so the matrix is bit-identical to the per-step one.
/// What it saves is memory traffic: an eligibility trace E += outer(a, b) over an N×N matrix is read and
/// written once per <see cref="Capacity"/> steps instead of once per step, while each element stays in a
/// register across those steps.
/// A kernel finds its DeferredRows through <see cref="Current"/> (set by the caller on its thread, as a
/// learner runs its kernels on one thread); whoever reads the matrix flushes first.
/// </summary>
public sealed class DeferredRows<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    [ThreadStatic] static DeferredRows<T>? current;

    /// <summary>Where this thread's deferred-row kernels send their rows.</summary>
    public static DeferredRows<T>? Current { get => current; set => current = value; }

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
    // Per (step, row): the number of terms, keep, whether the old row is read, and per term its
    // coefficient and source slot.
    int[] count = [];
    T[] keep = [];
    bool[] read = [];
    T[] coef = [];
    int[] slot = [];
    // Per row: whether every pending step is old + c · vector (the fast path of the flush).
    bool[] simple = [];
    // The array the current step's first vector was copied from (the fast path of Add compares with it).
    object? firstSource;

    /// <summary>Called by a compiled kernel for each row i of a step (i = 0 starts a step).</summary>
    public static void Record(T[] dst, int row, bool readDst, T keepRow, T[][] srcs, T[] coefs, int terms, int n)
    {
        var s = current ?? throw new InvalidOperationException("a kernel with deferred rows ran without DeferredRows<T>.Current set");
        s.Add(dst, row, readDst, keepRow, srcs, coefs, terms, n);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    void Add(T[] dst, int row, bool readDst, T keepRow, T[][] srcs, T[] coefs, int terms, int n)
    {
        // The common row (old + c · the step's first vector): a few stores, no search.
        if (row != 0 && terms == 1 && readDst && keepRow == T.One && ReferenceEquals(dst, target) && ReferenceEquals(srcs[0], firstSource))
        {
            int at = (steps - 1) * rows + row;
            count[at] = 1;
            keep[at] = T.One;
            read[at] = true;
            coef[at * maxTerms] = coefs[0];
            slot[at * maxTerms] = 0;
            return;
        }
        if (row == 0) BeginStep(dst, n);
        else if (!ReferenceEquals(dst, target)) throw new InvalidOperationException("deferred rows: a step changed its matrix half-way");
        if (terms > maxTerms) Grow(terms);
        int t = steps - 1, idx = t * rows + row;
        count[idx] = terms;
        keep[idx] = keepRow;
        read[idx] = readDst;
        if (terms != 1 || !readDst || keepRow != T.One) simple[row] = false;
        for (int q = 0; q < terms; q++)
        {
            coef[idx * maxTerms + q] = coefs[q];
            slot[idx * maxTerms + q] = SlotOf(t, srcs[q]);
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
        if (m == 0) firstSource = src;
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
        firstSource = null;
        Array.Clear(sourceRefs[steps]);
        steps++;
    }

    /// <summary>One allocation per matrix, none per step.</summary>
    void Allocate()
    {
        sources = Enumerable.Range(0, Capacity).Select(_ => new T[4][]).ToArray();
        sourceRefs = Enumerable.Range(0, Capacity).Select(_ => new object?[4]).ToArray();
        sourceCount = new int[Capacity];
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
        Span<T> c = stackalloc T[Capacity];
        for (int i = 0; i < rows; i++)
        {
            if (!simple[i]) { GeneralRow(i); continue; }
            for (int t = 0; t < steps; t++)
            {
                int idx = (t * rows + i) * maxTerms;
                c[t] = coef[idx];
                rowSources[t] = sources[t][slot[idx]];
            }
            RankUpdate<T>.SimpleRow(target.AsSpan(i * cols, cols), c[..steps], rowSources);
        }
        steps = 0;
        firstSource = null;
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
                    int idx = t * rows + i, m = count[idx], at = idx * maxTerms;
                    T kp = keep[idx];
                    var src = sources[t];
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
                int idx = t * rows + i, m = count[idx], at = idx * maxTerms;
                T kp = keep[idx];
                var src = sources[t];
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

/// <summary>The inner loop of a rank-k update: one row, every element kept in a register across the k steps.</summary>
public static class RankUpdate<T> where T : unmanaged, IFloatingPointIeee754<T>
{
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
