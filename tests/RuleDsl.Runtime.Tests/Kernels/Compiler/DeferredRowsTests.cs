using RuleDsl.Runtime.Kernels.Compiler;

namespace RuleDsl.Runtime.Tests.Kernels.Compiler;

/// Deferred rows applied k steps at once equal RowOps.Combine applied step by step, bit for bit, for every
/// shape of row a kernel can hand over: one term (the fast path), several (more than Combine's four per
/// pass), none, a keep ≠ 1, an assignment that does not read the old row; across flushes forced by capacity.
public class DeferredRowsTests
{
    static void Compare(int rows, int cols, int steps, int capacity, Func<Random, int, int, (int Terms, bool Read, double Keep)> shape, int seed, bool shared = false)
    {
        var rng = new Random(seed);
        var plain = Enumerable.Range(0, rows * cols).Select(_ => rng.NextDouble() - 0.5).ToArray();
        var deferred = (double[])plain.Clone();
        var sink = new DeferredRows<double>(capacity);
        DeferredRows<double>.Current = sink;
        try
        {
            for (int t = 0; t < steps; t++)
            {
                // A step's vectors (shared by its rows, as a kernel's Phase A computes them), reused buffers.
                var vectors = Enumerable.Range(0, 7).Select(_ => Enumerable.Range(0, cols).Select(_ => rng.NextDouble() - 0.5).ToArray()).ToArray();
                for (int i = 0; i < rows; i++)
                {
                    var (terms, read, keep) = shape(rng, t, i);
                    var srcs = Enumerable.Range(0, terms).Select(q => vectors[shared ? q : (q + i) % vectors.Length]).ToArray();
                    var coefs = Enumerable.Range(0, terms).Select(_ => rng.NextDouble() * 3 - 1.5).ToArray();
                    RowOps<double>.Combine(plain, i * cols, read, keep, srcs, new int[terms], coefs, terms, cols);
                    DeferredRows<double>.Record(deferred, i, read, keep, srcs, coefs, terms, cols);
                }
            }
            sink.Flush();
        }
        finally
        {
            DeferredRows<double>.Current = null;
        }
        Assert.Equal(0, sink.Pending);
        Assert.Equal(plain, deferred);
    }

    [Theory]
    [InlineData(7, 37, 16, 16)]
    [InlineData(5, 200, 21, 16)]   // more steps than the capacity: a flush mid-way
    [InlineData(3, 3, 5, 4)]       // rows shorter than a vector
    public void Rank_one_rows_deferred_equal_the_per_step_update(int rows, int cols, int steps, int capacity) =>
        Compare(rows, cols, steps, capacity, (_, _, _) => (1, true, 1.0), seed: rows * cols + steps);

    [Theory]
    [InlineData(6, 40, 16, 16)]
    [InlineData(4, 101, 19, 8)]
    public void Rows_of_any_shape_deferred_equal_the_per_step_update(int rows, int cols, int steps, int capacity) =>
        Compare(rows, cols, steps, capacity, (rng, _, _) => (rng.Next(0, 7), rng.Next(4) > 0, rng.Next(3) == 0 ? 0.75 : 1.0), seed: cols);

    // Every row of a step takes the step's one vector (E += outer(a, b), Miconi's trace): the flush's
    // four-rows-at-a-time path; rows and columns not multiples of the tile, a step that stops being shared
    // half-way (its earlier rows re-recorded in full) and steps that never were.
    [Theory]
    [InlineData(7, 37, 16, 16, false)]
    [InlineData(200, 200, 35, 16, false)]
    [InlineData(13, 203, 21, 16, true)]
    [InlineData(9, 5, 19, 8, true)]
    public void Rows_sharing_their_vector_deferred_equal_the_per_step_update(int rows, int cols, int steps, int capacity, bool mixed) =>
        Compare(rows, cols, steps, capacity,
            (rng, t, i) => mixed && t % 5 == 2 && i == rows / 2 ? (2, true, 1.0) : mixed && t % 7 == 3 && i == 0 ? (1, true, 0.5) : (1, true, 1.0),
            seed: rows + cols, shared: true);

    [Fact]
    public void A_kernel_with_deferred_rows_refuses_to_run_without_a_sink()
    {
        DeferredRows<double>.Current = null;
        Assert.Throws<InvalidOperationException>(() =>
            DeferredRows<double>.Record(new double[4], 0, true, 1.0, [new double[2]], [1.0], 1, 2));
    }
}
