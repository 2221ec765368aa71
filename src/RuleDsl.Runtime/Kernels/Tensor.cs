using RuleDsl.Symbolic;

namespace RuleDsl.Runtime.Kernels;

/// <summary>A named quantity's storage: a flat array, row-major for matrices (rows = first dimension).
/// Scalars are 1×1, vectors n×1.</summary>
public sealed class Tensor
{
    public double[] Data { get; }
    public int Rows { get; }
    public int Cols { get; }
    public bool IsScalar { get; }
    public bool IsVector { get; }

    Tensor(double[] data, int rows, int cols, bool scalar, bool vector)
    {
        Data = data; Rows = rows; Cols = cols; IsScalar = scalar; IsVector = vector;
    }

    public static Tensor Scalar(double value = 0) => new([value], 1, 1, true, false);
    public static Tensor Vector(int n) => new(new double[n], n, 1, false, true);
    public static Tensor Matrix(int rows, int cols) => new(new double[rows * cols], rows, cols, false, false);

    public double this[int i] { get => Data[i]; set => Data[i] = value; }
    public double this[int i, int j] { get => Data[i * Cols + j]; set => Data[i * Cols + j] = value; }
    public double Value { get => Data[0]; set => Data[0] = value; }

    public void Clear() => Array.Clear(Data);
    public void CopyFrom(ReadOnlySpan<double> source) => source.CopyTo(Data);

    /// <summary>For the reference interpreter: the same numbers as an F# value.</summary>
    public Value ToValue()
    {
        if (IsScalar) return RuleDsl.Symbolic.Value.NewScalar(Data[0]);
        if (IsVector) return RuleDsl.Symbolic.Value.NewVector((double[])Data.Clone());
        var m = new double[Rows, Cols];
        for (int i = 0; i < Rows; i++) for (int j = 0; j < Cols; j++) m[i, j] = Data[i * Cols + j];
        return RuleDsl.Symbolic.Value.NewMatrix(m);
    }

    /// <summary>Writes (or adds) a value; a scalar value broadcasts (a simplified zero is the scalar 0).</summary>
    public void Store(Value v, bool accumulate)
    {
        double Get(int i, int j) => v switch
        {
            Value.Scalar s => s.Item,
            Value.Vector a => a.Item[i],
            Value.Matrix m => m.Item[i, j],
            _ => throw new InvalidOperationException(),
        };
        if (v is Value.Vector vec && vec.Item.Length != Rows) throw new InvalidOperationException($"size mismatch: {vec.Item.Length} into {Rows}");
        if (v is Value.Matrix mm && (mm.Item.GetLength(0) != Rows || mm.Item.GetLength(1) != Cols)) throw new InvalidOperationException("size mismatch");
        for (int i = 0; i < Rows; i++)
            for (int j = 0; j < Cols; j++)
            {
                double x = Get(i, j);
                if (accumulate) Data[i * Cols + j] += x; else Data[i * Cols + j] = x;
            }
    }

    public bool AllFinite()
    {
        foreach (var x in Data) if (!double.IsFinite(x)) return false;
        return true;
    }

    public double MaxAbs()
    {
        double m = 0;
        foreach (var x in Data) m = Math.Max(m, Math.Abs(x));
        return m;
    }
}
