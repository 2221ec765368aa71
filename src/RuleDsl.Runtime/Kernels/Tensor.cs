using System.Runtime.CompilerServices;
using RuleDsl.Symbolic;
using Precision = RuleDsl.Syntax.Precision;

namespace RuleDsl.Runtime.Kernels;

/// <summary>A named quantity's storage: a flat array, row-major for matrices (rows = first dimension).
/// Scalars are 1×1, vectors n×1. Vectors and matrices are stored in the run's precision (double[] or
/// float[]); scalars are always double (a kernel reads them into its argument block either way).</summary>
public sealed class Tensor
{
    // Exactly one is set. Fields, not properties, so that SimdBackend binds them with one load as before.
    internal readonly double[]? Doubles;
    internal readonly float[]? Singles;

    /// <summary>The numbers of a double tensor (float64: every scalar, and vectors and matrices of a
    /// float64 run); a float32 tensor has none — read it through the indexers, <see cref="CopyTo"/> or
    /// <see cref="ToArray"/>.</summary>
    public double[] Data => Doubles ?? throw new InvalidOperationException("a float32 tensor has no double[] storage (use Single, the indexers or ToArray)");
    /// <summary>The numbers of a float32 tensor.</summary>
    public float[] Single => Singles ?? throw new InvalidOperationException("a float64 tensor has no float[] storage (use Data)");
    public Precision Precision => Singles is null ? Precision.Float64 : Precision.Float32;
    public int Length => Rows * Cols;
    public int Rows { get; }
    public int Cols { get; }
    public bool IsScalar { get; }
    public bool IsVector { get; }

    Tensor(double[]? data, float[]? single, int rows, int cols, bool scalar, bool vector)
    {
        Doubles = data; Singles = single; Rows = rows; Cols = cols; IsScalar = scalar; IsVector = vector;
    }

    public static Tensor Scalar(double value = 0) => new([value], null, 1, 1, true, false);
    public static Tensor Vector(int n) => new(new double[n], null, n, 1, false, true);
    public static Tensor Matrix(int rows, int cols) => new(new double[rows * cols], null, rows, cols, false, false);
    public static Tensor Vector(int n, Precision precision) =>
        precision.IsFloat32 ? new(null, new float[n], n, 1, false, true) : Vector(n);
    public static Tensor Matrix(int rows, int cols, Precision precision) =>
        precision.IsFloat32 ? new(null, new float[rows * cols], rows, cols, false, false) : Matrix(rows, cols);

    // Outside the kernels (set-up, a trial's inputs, checks): a float32 tensor rounds what it is given.
    public double this[int i]
    {
        // Inlined: loops over units outside the kernels (a trial's initial state, set-up) index through it.
        [MethodImpl(MethodImplOptions.AggressiveInlining)] get => Doubles is { } d ? d[i] : Singles![i];
        [MethodImpl(MethodImplOptions.AggressiveInlining)] set { if (Doubles is { } d) d[i] = value; else Singles![i] = (float)value; }
    }
    public double this[int i, int j] { get => this[i * Cols + j]; set => this[i * Cols + j] = value; }
    public double Value { get => this[0]; set => this[0] = value; }

    public void Clear() { if (Doubles is { } d) Array.Clear(d); else Array.Clear(Singles!); }
    public void Fill(double value) { if (Doubles is { } d) Array.Fill(d, value); else Array.Fill(Singles!, (float)value); }

    public void CopyFrom(ReadOnlySpan<double> source)
    {
        if (Doubles is { } d) { source.CopyTo(d); return; }
        var f = Singles!;
        if (source.Length > f.Length) throw new ArgumentException("source too long");
        for (int i = 0; i < source.Length; i++) f[i] = (float)source[i];
    }

    /// <summary>Copies another tensor of the same size and precision.</summary>
    public void CopyFrom(Tensor source)
    {
        if (Doubles is { } d) source.Data.CopyTo(d, 0); else source.Single.CopyTo(Singles!, 0);
    }

    public void CopyTo(double[] target)
    {
        if (Doubles is { } d) { d.CopyTo(target, 0); return; }
        var f = Singles!;
        for (int i = 0; i < f.Length; i++) target[i] = f[i];
    }

    /// <summary>The numbers as a new double array.</summary>
    public double[] ToArray()
    {
        var a = new double[Length];
        CopyTo(a);
        return a;
    }

    /// <summary>For the reference interpreter: the same numbers as an F# value.</summary>
    public Value ToValue()
    {
        if (IsScalar) return RuleDsl.Symbolic.Value.NewScalar(this[0]);
        if (IsVector) return RuleDsl.Symbolic.Value.NewVector(ToArray());
        var m = new double[Rows, Cols];
        for (int i = 0; i < Rows; i++) for (int j = 0; j < Cols; j++) m[i, j] = this[i * Cols + j];
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
                if (accumulate) this[i * Cols + j] += x; else this[i * Cols + j] = x;
            }
    }

    public bool AllFinite()
    {
        if (Doubles is { } d)
        {
            foreach (var x in d) if (!double.IsFinite(x)) return false;
            return true;
        }
        foreach (var x in Singles!) if (!float.IsFinite(x)) return false;
        return true;
    }

    public double MaxAbs()
    {
        double m = 0;
        if (Doubles is { } d) foreach (var x in d) m = Math.Max(m, Math.Abs(x));
        else foreach (var x in Singles!) m = Math.Max(m, Math.Abs(x));
        return m;
    }
}
