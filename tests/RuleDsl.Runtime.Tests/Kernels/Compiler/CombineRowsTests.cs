using RuleDsl.Runtime.Kernels.Compiler;

namespace RuleDsl.Runtime.Tests.Kernels.Compiler;

/// RowOps.CombineRows (four rows at a time where its sources are vectors, or vectors and then a matrix row) writes every row exactly as
/// RowOps.Combine writes it alone.
public class CombineRowsTests
{
    [Theory]
    [InlineData(1, 1)]
    [InlineData(5, 3)]
    [InlineData(9, 7)]
    [InlineData(11, 784)]
    [InlineData(13, 130)]
    public void CombineRows_equals_Combine_row_by_row_bit_for_bit(int rows, int n)
    {
        var rng = new Random(rows * 1000 + n);
        double[] V(int len) => Enumerable.Range(0, len).Select(_ => rng.NextDouble() - 0.5).ToArray();
        for (int trial = 0; trial < 60; trial++)
        {
            int count = trial % 10;                       // 0..9: no source, one group, two and three groups
            // Matrix rows among the sources: none, the last of each group of four (shared path), or anywhere.
            var isRow = Enumerable.Range(0, count).Select(k => (trial % 3) switch
            {
                0 => 0,
                1 => k % 4 == 3 || k == count - 1 ? 1 : 0,
                _ => rng.Next(3) == 0 ? 1 : 0,
            }).ToArray();
            var srcs = isRow.Select(r => V(r != 0 ? rows * n : n)).ToArray();
            var table = V(count * rows);
            bool readDst = trial % 4 != 1;
            // keep: none, all 1 (no scaling), or some rows 1 and others not.
            double[]? keep = (trial / 10 % 3) switch
            {
                0 => null,
                1 => Enumerable.Repeat(1.0, rows).ToArray(),
                _ => Enumerable.Range(0, rows).Select(i => i % 3 == 0 ? 1.0 : 1 + rng.NextDouble()).ToArray(),
            };
            int first = trial % 2 == 0 ? 0 : rng.Next(rows), end = trial % 2 == 0 ? rows : first + rng.Next(rows - first + 1);
            var start = V(rows * n);
            var fast = (double[])start.Clone();
            RowOps<double>.CombineRows(fast, first, end, n, readDst, keep, srcs, isRow, table, rows, count);
            var slow = (double[])start.Clone();
            var offs = new int[count];
            var coefs = new double[count];
            for (int i = first; i < end; i++)
            {
                for (int k = 0; k < count; k++)
                {
                    offs[k] = isRow[k] != 0 ? i * n : 0;
                    coefs[k] = table[k * rows + i];
                }
                RowOps<double>.Combine(slow, i * n, readDst, keep?[i] ?? 1.0, srcs, offs, coefs, count, n);
            }
            Assert.Equal(slow, fast); // exact, not close (rows outside [first, end) untouched too)
        }
    }

    /// With AVX-512, four rows go one element at a time up to row i's 64-byte boundary, then in 512-bit vectors,
    /// then 256-bit and single elements: starting at every row from 0 to 7 with an odd row length puts row i at every
    /// alignment, so each split (peel 0..7 elements, leftover vectors and elements) is checked against Combine.
    [Theory]
    [InlineData(37)]
    [InlineData(45)]
    [InlineData(71)]
    [InlineData(101)]
    [InlineData(789)]
    public void CombineRows_at_every_alignment_equals_Combine_bit_for_bit(int n)
    {
        AtEveryAlignment<double>(n, 1e-3);
        AtEveryAlignment<float>(n, 1e-3f);
    }

    static void AtEveryAlignment<T>(int n, T small) where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
    {
        var rng = new Random(n);
        T[] V(int len) => Enumerable.Range(0, len).Select(_ => T.CreateTruncating(rng.NextDouble() - 0.5)).ToArray();
        const int rows = 19;
        for (int first = 0; first < 8; first++)
            for (int count = 1; count <= 5; count++)
                foreach (bool lastIsRow in new[] { false, true })
                {
                    var isRow = Enumerable.Range(0, count).Select(k => lastIsRow && k == count - 1 ? 1 : 0).ToArray();
                    var srcs = isRow.Select(r => V(r != 0 ? rows * n : n)).ToArray();
                    // Small coefficients next to the old value: a dropped or reordered term changes the bits.
                    var table = V(count * rows).Select(c => c * small).ToArray();
                    bool readDst = count != 2;
                    T[]? keep = count == 3 ? Enumerable.Range(0, rows).Select(i => i % 2 == 0 ? T.One : T.One + T.CreateTruncating(rng.NextDouble())).ToArray() : null;
                    int end = rows - (count % 3);
                    var start = V(rows * n);
                    var fast = (T[])start.Clone();
                    RowOps<T>.CombineRows(fast, first, end, n, readDst, keep, srcs, isRow, table, rows, count);
                    var slow = (T[])start.Clone();
                    var offs = new int[count];
                    var coefs = new T[count];
                    for (int i = first; i < end; i++)
                    {
                        for (int k = 0; k < count; k++)
                        {
                            offs[k] = isRow[k] != 0 ? i * n : 0;
                            coefs[k] = table[k * rows + i];
                        }
                        RowOps<T>.Combine(slow, i * n, readDst, keep?[i] ?? T.One, srcs, offs, coefs, count, n);
                    }
                    Assert.Equal(slow, fast);
                }
    }
}
