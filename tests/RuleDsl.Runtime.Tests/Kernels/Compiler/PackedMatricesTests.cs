using System.Numerics;
using RuleDsl.Runtime.Kernels.Compiler;

namespace RuleDsl.Runtime.Tests.Kernels.Compiler;

/// RowOps.MatVec from copies laid out for it (PackedMatrices, this thread's current ones: wide matrices in tiles
/// of four rows, narrow ones by columns) gives every element exactly as it does from the matrix, for shapes with
/// leftover rows and columns; other matrices are read as before, and a copy is used only for its own array.
public class PackedMatricesTests
{
    static void Case<T>(int rows, int cols) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (!PackedMatrices<T>.Supported) return; // the machine has no 512-bit vectors: the path is never taken
        var rng = new Random(rows * 100 + cols);
        T[] V(int n) => Enumerable.Range(0, n).Select(_ => T.CreateTruncating(rng.NextDouble() - 0.5)).ToArray();
        var m = V(rows * cols);
        var narrow = V(rows * 3); // packed beside it, as W_in beside W
        var x = V(cols);
        var x3 = V(3);
        var plain = new T[rows];
        var plainNarrow = new T[rows];
        RowOps<T>.MatVec(m, rows, cols, x, plain);
        RowOps<T>.MatVec(narrow, rows, 3, x3, plainNarrow);
        var copies = new PackedMatrices<T>();
        copies.Pack(m, rows, cols);
        copies.Pack(narrow, rows, 3);
        var packed = new T[rows];
        var packedNarrow = new T[rows];
        var other = (T[])m.Clone();
        var fromOther = new T[rows];
        try
        {
            PackedMatrices<T>.Current = copies;
            RowOps<T>.MatVec(m, rows, cols, x, packed);
            RowOps<T>.MatVec(narrow, rows, 3, x3, packedNarrow);
            other[0] += T.One; // a different array of the same shape: not the copy
            RowOps<T>.MatVec(other, rows, cols, x, fromOther);
        }
        finally { PackedMatrices<T>.Current = null; }
        Assert.Equal(plain, packed);
        Assert.Equal(plainNarrow, packedNarrow);
        var expectOther = new T[rows];
        RowOps<T>.MatVec(other, rows, cols, x, expectOther);
        Assert.Equal(expectOther, fromOther);
        Assert.NotEqual(plain[0], fromOther[0]);
    }

    [Theory]
    [InlineData(4, 8)]
    [InlineData(7, 9)]
    [InlineData(13, 70)]
    [InlineData(200, 200)]
    [InlineData(37, 37)]
    [InlineData(19, 1)]
    [InlineData(33, 5)]
    [InlineData(40, 7)]
    [InlineData(3, 2)]
    public void Packed_products_are_the_matrix_products_bit_for_bit(int rows, int cols)
    {
        Case<double>(rows, cols);
        Case<float>(rows, cols);
    }

    [Fact]
    public void Repacking_follows_the_matrix()
    {
        if (!PackedMatrices<double>.Supported) return;
        var m = Enumerable.Range(0, 64).Select(i => i * 0.25).ToArray();
        var x = Enumerable.Range(0, 8).Select(i => 1.0 / (i + 1)).ToArray();
        var copies = new PackedMatrices<double>();
        copies.Pack(m, 8, 8);
        m[9] = 100; // W changed between trials: the learner packs again
        copies.Pack(m, 8, 8);
        var (expected, actual) = (new double[8], new double[8]);
        RowOps<double>.MatVec(m, 8, 8, x, expected);
        try { PackedMatrices<double>.Current = copies; RowOps<double>.MatVec(m, 8, 8, x, actual); }
        finally { PackedMatrices<double>.Current = null; }
        Assert.Equal(expected, actual);
    }
}
