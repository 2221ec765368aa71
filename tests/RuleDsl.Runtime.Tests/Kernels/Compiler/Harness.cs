using Microsoft.FSharp.Collections;
using Microsoft.FSharp.Core;
using RuleDsl.Runtime.Kernels.Compiler;
using RuleDsl.Symbolic;

namespace RuleDsl.Runtime.Tests.Kernels.Compiler;

/// <summary>Concrete values for symbols, for the interpreter and for compiled kernels alike.</summary>
public sealed class Env
{
    public readonly Dictionary<string, int> Sizes = new();
    public readonly Dictionary<string, double[]> Data = new(); // flat, row-major; scalars have length 1
    public readonly Dictionary<string, Shape> Shapes = new();

    public Env(params (string Dim, int Size)[] sizes)
    {
        foreach (var (d, n) in sizes) Sizes[d] = n;
        // ones_<dim>: the simplifier writes a constant vector as c · ones_<dim>; the runtime binds ones.
        foreach (var (d, n) in sizes) Set(new Symbol("ones_" + d, Shape.NewVector(d)), Enumerable.Repeat(1.0, n).ToArray());
    }

    public int Length(Shape s) => s switch
    {
        Shape.Vector v => Sizes[v.Item],
        Shape.Matrix m => Sizes[m.rows] * Sizes[m.cols],
        _ => 1,
    };

    public Env Set(Symbol s, double[] data)
    {
        if (data.Length != Length(s.Shape)) throw new ArgumentException($"{s.Name}: {data.Length} values for a {s.Shape}");
        Data[s.Name] = data;
        Shapes[s.Name] = s.Shape;
        return this;
    }

    public Env Set(Symbol s, double v) => Set(s, [v]);

    public Env Random(Symbol s, Random rng, double scale = 1.0)
    {
        var a = new double[Length(s.Shape)];
        for (int k = 0; k < a.Length; k++) a[k] = scale * (2 * rng.NextDouble() - 1);
        return Set(s, a);
    }

    public Env Clone()
    {
        var e = new Env(Sizes.Select(kv => (kv.Key, kv.Value)).ToArray());
        foreach (var (k, v) in Data) e.Data[k] = (double[])v.Clone();
        foreach (var (k, v) in Shapes) e.Shapes[k] = v;
        return e;
    }

    public Value ValueOf(Symbol s)
    {
        if (!Data.TryGetValue(s.Name, out var a)) throw new ArgumentException($"no value for {s.Name}");
        return s.Shape switch
        {
            Shape.Vector => Value.NewVector((double[])a.Clone()),
            Shape.Matrix m => Value.NewMatrix(ToMatrix(a, Sizes[m.rows], Sizes[m.cols])),
            _ => Value.NewScalar(a[0]),
        };
    }

    static double[,] ToMatrix(double[] a, int r, int c)
    {
        var m = new double[r, c];
        for (int i = 0; i < r; i++)
            for (int j = 0; j < c; j++)
                m[i, j] = a[i * c + j];
        return m;
    }

    /// <summary>The reference interpreter's value of e, flattened row-major.</summary>
    public double[] Eval(Expr e) =>
        ValueModule.toArray(RuleDsl.Symbolic.Eval.eval(FuncConvert.FromFunc<Symbol, Value>(ValueOf), e));

    /// <summary>Arguments for a kernel: sizes and (copies of) every buffer the layout names.</summary>
    public KernelArgs<double> Args(Kernel<double> k)
    {
        var args = k.CreateArgs();
        foreach (var d in k.Layout.Dims) args.Size(d, Sizes[d]);
        foreach (var s in k.Layout.ScalarSymbols) args.Set(s.Name, Data.TryGetValue(s.Name, out var v) ? v[0] : 0.0);
        foreach (var s in k.Layout.ArraySymbols)
            args.Set(s.Name, Data.TryGetValue(s.Name, out var v) ? (double[])v.Clone() : new double[Length(s.Shape)]);
        return args;
    }

    public KernelArgs<float> ArgsF(Kernel<float> k)
    {
        var args = k.CreateArgs();
        foreach (var d in k.Layout.Dims) args.Size(d, Sizes[d]);
        foreach (var s in k.Layout.ScalarSymbols) args.Set(s.Name, Data.TryGetValue(s.Name, out var v) ? (float)v[0] : 0f);
        foreach (var s in k.Layout.ArraySymbols)
            args.Set(s.Name, Data.TryGetValue(s.Name, out var v) ? v.Select(x => (float)x).ToArray() : new float[Length(s.Shape)]);
        return args;
    }
}

public static class Check
{
    /// <summary>RULEDSL_LONG=1 runs the long variants (more random cases).</summary>
    public static bool Long => Environment.GetEnvironmentVariable("RULEDSL_LONG") == "1";

    public static int Cases(int normal) => Long ? normal * 20 : normal;

    /// <summary>max |a − b| relative to max |b| (the size of the reference), or absolute below 1.</summary>
    public static double RelErr(double[] a, double[] b)
    {
        Assert.Equal(b.Length, a.Length);
        double diff = 0, scale = 0;
        for (int k = 0; k < a.Length; k++)
        {
            if (double.IsNaN(a[k]) != double.IsNaN(b[k])) return double.PositiveInfinity;
            if (double.IsNaN(b[k])) continue;
            diff = Math.Max(diff, Math.Abs(a[k] - b[k]));
            scale = Math.Max(scale, Math.Abs(b[k]));
        }
        return diff / Math.Max(scale, 1e-300);
    }

    public static void Close(double[] actual, double[] expected, double tol, string what)
    {
        var err = RelErr(actual, expected);
        Assert.True(err <= tol, $"{what}: relative error {err:E3} > {tol:E1} (max |ref| = {expected.Select(Math.Abs).DefaultIfEmpty(0).Max():E3})");
    }

    public static double[] Minus(double[] a, double[] b) => a.Select((x, k) => x - b[k]).ToArray();
}

/// <summary>Random well-typed expressions over a fixed pool of symbols (dims post, pre).</summary>
public sealed class RandomExpr(int seed)
{
    readonly Random rng = new(seed);
    static readonly string[] DimNames = ["post", "pre"];

    public static readonly Symbol[] Pool =
    [
        new("a", Shape.Scalar), new("b", Shape.Scalar),
        new("u", Shape.NewVector("post")), new("v", Shape.NewVector("post")),
        new("p", Shape.NewVector("pre")), new("q", Shape.NewVector("pre")),
        new("W", Shape.NewMatrix("post", "pre")), new("U", Shape.NewMatrix("post", "pre")),
        new("B", Shape.NewMatrix("pre", "post")),
        new("Q", Shape.NewMatrix("post", "post")), new("S", Shape.NewMatrix("pre", "pre")),
    ];

    Expr Leaf(Shape s)
    {
        var cands = Pool.Where(x => x.Shape.Equals(s)).ToArray();
        if (s.IsScalar && rng.Next(3) == 0) return Expr.NewNum(Math.Round(4 * rng.NextDouble() - 2, 2));
        return Expr.NewSym(cands[rng.Next(cands.Length)]);
    }

    static Expr Call(Fn f, params Expr[] xs) => Expr.NewCall(f, ListModule.OfSeq(xs));
    string OtherDim() => DimNames[rng.Next(2)];

    public Expr Gen(Shape s, int depth)
    {
        if (depth <= 0 || rng.Next(5) == 0) return Leaf(s);
        int d = depth - 1;
        int pick = rng.Next(10);
        switch (pick)
        {
            case 0: return Expr.NewAdd(ListModule.OfSeq([Gen(s, d), Gen(rng.Next(3) == 0 ? Shape.Scalar : s, d)]));
            case 1: return Expr.NewMul(ListModule.OfSeq([Gen(Shape.Scalar, d), Gen(s, d)]));
            case 2: return Expr.NewMul(ListModule.OfSeq([Gen(s, d), Gen(s, d)]));
            case 3: return Expr.NewPow(Gen(s, d), Expr.NewNum(rng.Next(4)));
            case 4:
                return rng.Next(3) switch
                {
                    0 => Call(Fn.Tanh, Gen(s, d)),
                    1 => Call(Fn.Sigmoid, Gen(s, d)),
                    _ => Call(Fn.Softplus, Gen(s, d), Expr.NewNum(10)),
                };
        }
        switch (s)
        {
            case Shape.Vector v:
                {
                    var k = OtherDim();
                    return pick switch
                    {
                        5 or 6 => Call(Fn.MatMul, Gen(Shape.NewMatrix(v.Item, k), d), Gen(Shape.NewVector(k), d)),
                        7 => Call(Fn.MatMul, Gen(Shape.NewMatrix(v.Item, k), d), Gen(Shape.NewMatrix(k, OtherDimFor(out var k2)), d), Gen(Shape.NewVector(k2), d)),
                        8 => Call(Fn.Softmax, Gen(s, d)),
                        _ => Expr.NewMul(ListModule.OfSeq([Call(Fn.Dot, Gen(Shape.NewVector(k), d), Gen(Shape.NewVector(k), d)), Gen(s, d)])),
                    };
                }
            case Shape.Matrix m:
                {
                    var k = OtherDim();
                    return pick switch
                    {
                        5 => Call(Fn.Outer, Gen(Shape.NewVector(m.rows), d), Gen(Shape.NewVector(m.cols), d)),
                        6 => Call(Fn.Transpose, Gen(Shape.NewMatrix(m.cols, m.rows), d)),
                        7 => Call(Fn.MatMul, Gen(Shape.NewMatrix(m.rows, k), d), Gen(Shape.NewMatrix(k, m.cols), d)),
                        8 => Call(Fn.MatMul, Call(Fn.Outer, Gen(Shape.NewVector(m.rows), d), Gen(Shape.NewVector(k), d)),
                            Gen(Shape.NewMatrix(k, OtherDimFor(out var k2)), d), Call(Fn.Outer, Gen(Shape.NewVector(k2), d), Gen(Shape.NewVector(m.cols), d))),
                        _ => Call(Fn.MatMul, Gen(Shape.NewMatrix(m.rows, k), d), Call(Fn.Outer, Gen(Shape.NewVector(k), d), Gen(Shape.NewVector(m.cols), d))),
                    };
                }
            default:
                {
                    var sh = rng.Next(3) switch { 0 => Shape.NewVector(OtherDim()), 1 => Shape.NewMatrix(OtherDim(), OtherDim()), _ => Shape.NewVector(OtherDim()) };
                    return pick switch
                    {
                        5 or 6 or 7 => Call(Fn.Dot, Gen(sh, d), Gen(sh, d)),
                        _ => Call(Fn.SumAll, Gen(sh, d)),
                    };
                }
        }
    }

    string OtherDimFor(out string k)
    {
        k = OtherDim();
        return k;
    }

    public Env RandomEnv(int post, int pre)
    {
        var env = new Env(("post", post), ("pre", pre));
        foreach (var s in Pool) env.Random(s, rng, 0.8);
        return env;
    }
}

/// <summary>A compact printer for test messages (independent of Print, which is being written).</summary>
public static class Show
{
    public static string Text(Expr e) => e switch
    {
        Expr.Num n => n.Item.ToString("R", System.Globalization.CultureInfo.InvariantCulture),
        Expr.Sym s => s.Item.Name,
        Expr.Add a => "(" + string.Join(" + ", a.Item.Select(Text)) + ")",
        Expr.Mul m => "(" + string.Join(" * ", m.Item.Select(Text)) + ")",
        Expr.Pow p => Text(p.Item1) + "^" + Text(p.Item2),
        Expr.Call c when c.Item1.IsMatMul => "(" + string.Join(" @ ", c.Item2.Select(Text)) + ")",
        Expr.Call c when c.Item1.IsTranspose => Text(c.Item2.Head) + "'",
        Expr.Call c => c.Item1.ToString().ToLowerInvariant() + "(" + string.Join(", ", c.Item2.Select(Text)) + ")",
        _ => e.ToString(),
    };
}
