using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace RuleDsl.Runtime.Reference;

/// <summary>
/// The two dense kernels of the reference simulation, SIMD over System.Numerics.Vector&lt;double&gt;:
/// the recurrent matrix-vector product and the batched eligibility update carry nearly all of its cost.
/// </summary>
internal static class DenseKernels
{
    /// <summary>Σ a[k]·b[k].</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static double Dot(ReadOnlySpan<double> a, ReadOnlySpan<double> b)
    {
        int n = a.Length, k = 0;
        double sum = 0;
        if (Vector.IsHardwareAccelerated && n >= 2 * Vector<double>.Count)
        {
            var va = MemoryMarshal.Cast<double, Vector<double>>(a);
            var vb = MemoryMarshal.Cast<double, Vector<double>>(b);
            // Two accumulators hide the latency of the dependent adds.
            Vector<double> s0 = Vector<double>.Zero, s1 = Vector<double>.Zero;
            int v = 0;
            for (; v + 1 < va.Length; v += 2)
            {
                s0 = Vector.FusedMultiplyAdd(va[v], vb[v], s0);
                s1 = Vector.FusedMultiplyAdd(va[v + 1], vb[v + 1], s1);
            }
            if (v < va.Length) s0 = Vector.FusedMultiplyAdd(va[v], vb[v], s0);
            sum = Vector.Sum(s0 + s1);
            k = va.Length * Vector<double>.Count;
        }
        for (; k < n; k++) sum += a[k] * b[k];
        return sum;
    }

    /// <summary>
    /// E[i, j] += Σ_s b[s, i]·a[s, j] for s &lt; count (row-major, n columns): a rank-count update of the
    /// n×n matrix E. Batching the per-step rank-one eligibility increments this way reads and writes E
    /// once per batch instead of once per step, which is what bounds the cost (E does not fit in L1/L2
    /// together with J). Columns go in blocks of four vectors held in registers across the batch.
    /// </summary>
    public static void RankUpdate(Span<double> e, int n, ReadOnlySpan<double> b, ReadOnlySpan<double> a, int count)
    {
        if (count == 0) return;
        int w = Vector<double>.Count;
        for (int i = 0; i < n; i++)
        {
            var row = e.Slice(i * n, n);
            int j = 0;
            if (Vector.IsHardwareAccelerated)
            {
                for (; j + 4 * w <= n; j += 4 * w)
                {
                    var acc0 = new Vector<double>(row.Slice(j));
                    var acc1 = new Vector<double>(row.Slice(j + w));
                    var acc2 = new Vector<double>(row.Slice(j + 2 * w));
                    var acc3 = new Vector<double>(row.Slice(j + 3 * w));
                    for (int s = 0; s < count; s++)
                    {
                        var bs = new Vector<double>(b[s * n + i]);
                        var aRow = a.Slice(s * n + j, 4 * w);
                        acc0 = Vector.FusedMultiplyAdd(bs, new Vector<double>(aRow), acc0);
                        acc1 = Vector.FusedMultiplyAdd(bs, new Vector<double>(aRow.Slice(w)), acc1);
                        acc2 = Vector.FusedMultiplyAdd(bs, new Vector<double>(aRow.Slice(2 * w)), acc2);
                        acc3 = Vector.FusedMultiplyAdd(bs, new Vector<double>(aRow.Slice(3 * w)), acc3);
                    }
                    acc0.CopyTo(row.Slice(j));
                    acc1.CopyTo(row.Slice(j + w));
                    acc2.CopyTo(row.Slice(j + 2 * w));
                    acc3.CopyTo(row.Slice(j + 3 * w));
                }
                for (; j + w <= n; j += w)
                {
                    var acc = new Vector<double>(row.Slice(j));
                    for (int s = 0; s < count; s++)
                        acc = Vector.FusedMultiplyAdd(new Vector<double>(b[s * n + i]), new Vector<double>(a.Slice(s * n + j, w)), acc);
                    acc.CopyTo(row.Slice(j));
                }
            }
            for (; j < n; j++)
            {
                double acc = row[j];
                for (int s = 0; s < count; s++) acc += b[s * n + i] * a[s * n + j];
                row[j] = acc;
            }
        }
    }
}
