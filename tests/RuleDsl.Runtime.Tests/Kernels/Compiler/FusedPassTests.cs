using System.Numerics;
using RuleDsl.Runtime.Kernels.Compiler;
using static RuleDsl.Runtime.Tests.Kernels.Compiler.TestRules;

namespace RuleDsl.Runtime.Tests.Kernels.Compiler;

/// Phase A's pass over a matrix makes all its products of four rows in one DotAxpys4 call (M x as Dots sums
/// it, each Mᵀx as Axpy4 does): every output must have the bits of those separate calls, at every width
/// (512-bit body, scalar tail, rows narrower than one vector) and with any slot left empty. (The switch
/// RowOps.FusedPasses is the process's; both settings give the same bits, so other tests may run meanwhile.)
public class FusedPassTests
{
    [Theory]
    [InlineData(3)]
    [InlineData(8)]
    [InlineData(13)]
    [InlineData(170)]
    [InlineData(2003)]
    public void One_pass_over_four_rows_equals_Dots_and_Axpy4_bit_for_bit(int cols)
    {
        Check<double>(cols);
        Check<float>(cols);
    }

    static void Check<T>(int cols) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var rng = new Random(cols);
        T[] V(int n) => Enumerable.Range(0, n).Select(_ => T.CreateTruncating(rng.NextDouble() - 0.5)).ToArray();
        int rows = 12, i = 4;
        var m = V(rows * cols);
        var dx = V(cols);
        var xs = Enumerable.Range(0, 4).Select(_ => V(rows)).ToArray();
        var start = Enumerable.Range(0, 4).Select(_ => V(cols)).ToArray();
        // Slot patterns: the dot alone, one Mᵀx, three with an empty slot between, all four and the dot.
        foreach (var (dot, used) in new (bool, bool[])[] { (true, [false, false, false, false]), (false, [true, false, false, false]),
                     (false, [true, false, true, true]), (true, [true, true, true, true]) })
        {
            var dy = new T[rows];
            var ys = start.Select(y => (T[])y.Clone()).ToArray();
            T[]? Y(int k) => used[k] ? ys[k] : null;
            T[]? X(int k) => used[k] ? xs[k] : null;
            RowOps<T>.DotAxpys4(m, i, cols, dot ? dx : null, dot ? dy : null, Y(0), X(0), Y(1), X(1), Y(2), X(2), Y(3), X(3));

            var res = new T[4];
            int o = i * cols;
            RowOps<T>.Dots(m, o, dx, m, o + cols, dx, m, o + 2 * cols, dx, m, o + 3 * cols, dx, 4, cols, res);
            for (int q = 0; q < 4; q++) Assert.Equal(dot ? res[q] : T.Zero, dy[i + q]);
            for (int k = 0; k < 4; k++)
            {
                var expect = (T[])start[k].Clone();
                if (used[k]) RowOps<T>.Axpy4(expect, xs[k][i], xs[k][i + 1], xs[k][i + 2], xs[k][i + 3], m, o, o + cols, o + 2 * cols, o + 3 * cols, cols);
                Assert.Equal(expect, ys[k]);
            }
        }
    }

    /// The guarded M x of a pass go four per call, the absent ones (guard off) skipped: each present output equals
    /// Dot over its rows, and an absent slot's output is not touched.
    [Theory]
    [InlineData(5)]
    [InlineData(70)]
    [InlineData(2003)]
    public void Guarded_products_four_per_call_equal_Dot_per_row(int cols)
    {
        var rng = new Random(cols);
        double[] V(int n) => Enumerable.Range(0, n).Select(_ => rng.NextDouble() - 0.5).ToArray();
        int rows = 8, i = 4;
        var m = V(rows * cols);
        var xs = Enumerable.Range(0, 4).Select(_ => V(cols)).ToArray();
        foreach (var used in new bool[][] { [true, false, true, true], [false, false, false, true], [true, true, true, true], [false, false, false, false] })
        {
            var ys = Enumerable.Range(0, 4).Select(_ => Enumerable.Repeat(7.0, rows).ToArray()).ToArray();
            double[]? X(int k) => used[k] ? xs[k] : null;
            RowOps<double>.MatVecs4OrFewer(m, i, cols, X(0), ys[0], X(1), ys[1], X(2), ys[2], X(3), ys[3]);
            for (int k = 0; k < 4; k++)
                for (int q = 0; q < 4; q++)
                    Assert.Equal(used[k] ? RowOps<double>.Dot(m, (i + q) * cols, xs[k], 0, cols) : 7.0, ys[k][i + q]);
        }
    }

    /// More than four Mᵀx over all rows at once, by blocks of columns (two outputs at a time, an odd one alone):
    /// each output equals Axpy4 over four rows at a time and Axpy over the last rows, bit for bit.
    [Theory]
    [InlineData(3, 6)]
    [InlineData(13, 5)]
    [InlineData(70, 9)]
    [InlineData(170, 130)]
    [InlineData(2003, 7)]
    public void Many_transposed_products_by_columns_equal_Axpy4_and_Axpy(int cols, int rows)
    {
        var rng = new Random(cols + rows);
        double[] V(int n) => Enumerable.Range(0, n).Select(_ => rng.NextDouble() - 0.5).ToArray();
        var m = V(rows * cols);
        foreach (int count in new[] { 5, 6 })
        {
            var xs = Enumerable.Range(0, count).Select(_ => V(rows)).ToArray();
            var start = Enumerable.Range(0, count).Select(_ => V(cols)).ToArray();
            var yx = new double[2 * count][];
            for (int k = 0; k < count; k++) (yx[2 * k], yx[2 * k + 1]) = ((double[])start[k].Clone(), xs[k]);
            RowOps<double>.AxpysColumns(m, rows, cols, yx, count);
            for (int k = 0; k < count; k++)
            {
                var expect = (double[])start[k].Clone();
                int i = 0;
                for (; i + 4 <= rows; i += 4)
                    RowOps<double>.Axpy4(expect, xs[k][i], xs[k][i + 1], xs[k][i + 2], xs[k][i + 3], m, i * cols, (i + 1) * cols, (i + 2) * cols, (i + 3) * cols, cols);
                for (; i < rows; i++) RowOps<double>.Axpy(expect, 0, xs[k][i], m, i * cols, cols);
                Assert.Equal(expect, yx[2 * k]);
            }
        }
    }

    /// The pool with ten tangents, every θ and direction component non-zero (so each of the eleven matrices has a
    /// pass with M x and two Mᵀx): the step with the fused passes writes the same bits as with separate calls.
    [Fact]
    public void The_pools_step_is_the_same_with_and_without_fused_passes()
    {
        var rule = Pool();
        var kernel = RuleKernels.Compile<double>(rule, RuleKernels.StepKind.Weight, 10).Value;
        Assert.Contains("one pass over the rows of δW#0", kernel.Plan);
        double[][] Run(bool fused)
        {
            var rng = new Random(3);
            var a = kernel.CreateArgs().Size("post", 37).Size("pre", 70);
            foreach (var s in kernel.Layout.ArraySymbols)
            {
                var x = a.Allocate(s.Name);
                for (int q = 0; q < x.Length; q++) x[q] = 0.1 * (rng.NextDouble() - 0.5);
            }
            foreach (var s in kernel.Layout.ScalarSymbols) a.Set(s.Name, rng.NextDouble() - 0.5);
            bool was = RowOps<double>.FusedPasses;
            RowOps<double>.FusedPasses = fused;
            try { kernel.Step(a); }
            finally { RowOps<double>.FusedPasses = was; }
            return kernel.Layout.ArraySymbols.Select(s => a.Array(s.Name)).ToArray();
        }
        var on = Run(true);
        var off = Run(false);
        for (int k = 0; k < on.Length; k++) Assert.Equal(off[k], on[k]);
    }
}
