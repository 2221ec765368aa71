using RuleDsl.Runtime.Kernels.Compiler;

namespace RuleDsl.Runtime.Tests.Kernels.Compiler;

/// Deferred rows applied k steps at once equal RowOps.Combine applied step by step, bit for bit, for every
/// shape of step a kernel can hand over (AddRows: the same sources for every row, a coefficient per row and
/// source): one term (the fast path), several (more than Combine's four per pass), none, a keep ≠ 1 on some
/// rows, an assignment that does not read the old row; across flushes forced by capacity.
public class DeferredRowsTests
{
    /// <summary>A step's shape: its number of terms, whether it reads the old rows, and keep for row i (null: 1 for every row).</summary>
    static void Compare(int rows, int cols, int steps, int capacity, Func<Random, int, (int Terms, bool Read, Func<int, double>? Keep)> shape, int seed)
    {
        var rng = new Random(seed);
        var plain = Enumerable.Range(0, rows * cols).Select(_ => rng.NextDouble() - 0.5).ToArray();
        var deferred = (double[])plain.Clone();
        var sink = new DeferredRows<double>(capacity);
        for (int t = 0; t < steps; t++)
        {
            // A step's vectors (shared by its rows, as a kernel's Phase A computes them).
            var (terms, read, keepOf) = shape(rng, t);
            var srcs = Enumerable.Range(0, terms).Select(_ => Enumerable.Range(0, cols).Select(_ => rng.NextDouble() - 0.5).ToArray()).ToArray();
            var table = Enumerable.Range(0, terms * rows).Select(_ => rng.NextDouble() * 3 - 1.5).ToArray();
            var keep = keepOf is null ? null : Enumerable.Range(0, rows).Select(keepOf).ToArray();
            for (int i = 0; i < rows; i++)
            {
                var coefs = Enumerable.Range(0, terms).Select(q => table[q * rows + i]).ToArray();
                RowOps<double>.Combine(plain, i * cols, read, keep?[i] ?? 1.0, srcs, new int[terms], coefs, terms, cols);
            }
            sink.AddRows(deferred, cols, read, keep, srcs, table, rows, terms);
            // The kernel's vectors are its scratch, overwritten next step: the sink must have copied them.
            foreach (var v in srcs) Array.Fill(v, double.NaN);
        }
        sink.Flush();
        Assert.Equal(0, sink.Pending);
        Assert.Equal(plain, deferred);
    }

    [Theory]
    [InlineData(7, 37, 16, 16)]
    [InlineData(5, 200, 21, 16)]   // more steps than the capacity: a flush mid-way
    [InlineData(3, 3, 5, 4)]       // rows shorter than a vector
    public void Rank_one_rows_deferred_equal_the_per_step_update(int rows, int cols, int steps, int capacity) =>
        Compare(rows, cols, steps, capacity, (_, _) => (1, true, null), seed: rows * cols + steps);

    [Theory]
    [InlineData(6, 40, 16, 16)]
    [InlineData(4, 101, 19, 8)]
    public void Rows_of_any_shape_deferred_equal_the_per_step_update(int rows, int cols, int steps, int capacity) =>
        Compare(rows, cols, steps, capacity, (rng, _) => (rng.Next(0, 7), rng.Next(4) > 0, rng.Next(3) == 0 ? i => i % 2 == 0 ? 0.75 : 1.0 : null), seed: cols);

    // Every row of a step takes the step's one vector (E += outer(a, b), Miconi's trace): the flush's
    // four-rows-at-a-time path; rows and columns not multiples of the tile, and (mixed) steps that are not
    // shared among them: two vectors, or a keep ≠ 1 on one row.
    [Theory]
    [InlineData(7, 37, 16, 16, false)]
    [InlineData(200, 200, 35, 16, false)]
    [InlineData(13, 203, 21, 16, true)]
    [InlineData(9, 5, 19, 8, true)]
    public void Rows_sharing_their_vector_deferred_equal_the_per_step_update(int rows, int cols, int steps, int capacity, bool mixed) =>
        Compare(rows, cols, steps, capacity,
            (_, t) => mixed && t % 5 == 2 ? (2, true, null) : mixed && t % 7 == 3 ? (1, true, i => i == rows / 2 ? 0.5 : 1.0) : (1, true, null),
            seed: rows + cols);

    [Fact]
    public void A_kernel_with_deferred_rows_refuses_to_run_without_a_sink()
    {
        DeferredRows<double>.Current = null;
        Assert.Throws<InvalidOperationException>(() => DeferredRows<double>.OfThisThread());
    }

    [Fact]
    public void A_step_of_another_height_than_its_matrix_is_refused() =>
        Assert.Throws<ArgumentException>(() => new DeferredRows<double>().AddRows(new double[6], 2, true, null, [new double[2]], new double[2], 2, 1));
}
