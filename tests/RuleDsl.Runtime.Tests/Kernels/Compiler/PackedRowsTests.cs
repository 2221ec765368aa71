using System.Numerics;
using RuleDsl.Runtime.Kernels.Compiler;

namespace RuleDsl.Runtime.Tests.Kernels.Compiler;

/// RowOps.MatVec from a copy in tiles of four rows (PackedRows, this thread's current one) gives every
/// element exactly as it does from the matrix, for shapes with leftover rows and columns; other matrices
/// are read as before, and the copy is used only for its own array.
public class PackedRowsTests
{
    static void Case<T>(int rows, int cols) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (!PackedRows<T>.Supported) return; // the machine has no 512-bit vectors: the path is never taken
        var rng = new Random(rows * 100 + cols);
        T[] V(int n) => Enumerable.Range(0, n).Select(_ => T.CreateTruncating(rng.NextDouble() - 0.5)).ToArray();
        var m = V(rows * cols);
        var x = V(cols);
        var plain = new T[rows];
        RowOps<T>.MatVec(m, rows, cols, x, plain);
        var tiles = new PackedRows<T>();
        tiles.Pack(m, rows, cols);
        var packed = new T[rows];
        var other = (T[])m.Clone();
        var fromOther = new T[rows];
        try
        {
            PackedRows<T>.Current = tiles;
            RowOps<T>.MatVec(m, rows, cols, x, packed);
            other[0] += T.One; // a different array of the same shape: not the copy
            RowOps<T>.MatVec(other, rows, cols, x, fromOther);
        }
        finally { PackedRows<T>.Current = null; }
        Assert.Equal(plain, packed);
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
    public void Packed_products_are_the_matrix_products_bit_for_bit(int rows, int cols)
    {
        Case<double>(rows, cols);
        Case<float>(rows, cols);
    }

    [Fact]
    public void Repacking_follows_the_matrix()
    {
        if (!PackedRows<double>.Supported) return;
        var m = Enumerable.Range(0, 64).Select(i => i * 0.25).ToArray();
        var x = Enumerable.Range(0, 8).Select(i => 1.0 / (i + 1)).ToArray();
        var tiles = new PackedRows<double>();
        tiles.Pack(m, 8, 8);
        m[9] = 100; // W changed between trials: the learner packs again
        tiles.Pack(m, 8, 8);
        var (expected, actual) = (new double[8], new double[8]);
        RowOps<double>.MatVec(m, 8, 8, x, expected);
        try { PackedRows<double>.Current = tiles; RowOps<double>.MatVec(m, 8, 8, x, actual); }
        finally { PackedRows<double>.Current = null; }
        Assert.Equal(expected, actual);
    }
}
