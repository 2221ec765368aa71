using Microsoft.FSharp.Collections;
using RuleDsl.Runtime.Data;
using RuleDsl.Runtime.Kernels;
using RuleDsl.Symbolic;
using static RuleDsl.Runtime.Kernels.Ir;

namespace RuleDsl.Runtime.Tests.Kernels;

/// Every entry of the one built-in table, compiled and interpreted: the interpreter evaluates an entry
/// through its Eval, the compiler through its Linq (elementwise) or its emitter for that structural
/// built-in. A built-in added to the table without a lowering in the compiler fails here, by name.
public class BuiltinCoverageTests
{
    public static TheoryData<string> Names()
    {
        var d = new TheoryData<string>();
        foreach (var b in Builtins.table) d.Add(b.Name);
        return d;
    }

    // Argument shapes tried in this order; the first combination the entry's own shape rule accepts is used.
    static readonly Shape[] Candidates = [Vec("post"), Vec("pre"), Mat("pre", "post"), Mat("post", "pre"), Shape.Scalar];

    static IEnumerable<Shape[]> Combinations(int n) =>
        n == 0 ? [[]] : Combinations(n - 1).SelectMany(rest => Candidates.Select(c => rest.Append(c).ToArray()));

    /// The built-in applied to symbols (literal numbers where the table says an argument must be one).
    static Expr Applied(Builtin b)
    {
        int n = b.Arity is { } a ? a.Value : 2;
        foreach (var shapes in Combinations(n))
        {
            if (b.ShapeRule.Invoke(ListModule.OfSeq(shapes)) is not { IsOk: true }) continue;
            var args = shapes.Select((s, i) => b.ConstantArgs.Contains(i)
                ? Expr.NewNum(i == 1 ? 0.5 : 0.75)
                : Sym($"a{i}", s)).ToArray();
            if (b.ConstantArgs.Any(i => !shapes[i].IsScalar)) continue;
            return Call(b.Fn, args);
        }
        throw new InvalidOperationException($"no argument shapes found for {b.Name}");
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void The_compiler_lowers_every_builtin_of_the_table_as_the_interpreter_does(string name)
    {
        var b = Builtins.tryFind(name)!.Value;
        var value = Applied(b);
        var shape = Typing.shapeOf(value);
        // A scalar result scales a vector so that the kernel writes an array.
        if (shape.IsScalar) { value = Expr.NewMul(ListModule.OfSeq(new[] { value, Sym("v", Vec("post")) })); shape = Vec("post"); }
        var wrt = ExprModule.symbols(value).Select(s => s.Name).Where(s => s.StartsWith('a')).ToArray();
        KernelOutput[] outputs =
        [
            Set("out", shape, value),
            Set("d_out", shape, Tangent(value, wrt)),
        ];
        var compiled = new SimdBackend().Compile("builtin_" + name, outputs);
        var interpreted = new InterpretedBackend().Compile("builtin_" + name, outputs);
        var dims = new Dictionary<string, int> { ["post"] = 7, ["pre"] = 5 };
        var rng = new Rng(11);
        var env = new Dictionary<string, Tensor>();
        foreach (var s in compiled.Inputs.Concat(interpreted.Inputs).Concat(outputs.Select(o => o.Target)).DistinctBy(s => s.Name))
        {
            Tensor t = s.Shape.IsScalar ? Tensor.Scalar()
                : s.Shape is Shape.Vector v ? Tensor.Vector(dims[v.Item])
                : Tensor.Matrix(dims[((Shape.Matrix)s.Shape).rows], dims[((Shape.Matrix)s.Shape).cols]);
            // Values in ±(0.05, 1), away from the kink of sign/step/abs; positive where log needs it.
            for (int i = 0; i < t.Data.Length; i++) t.Data[i] = rng.Uniform(0.05, 1) * (name != "log" && rng.Uniform(0, 1) < 0.5 ? -1 : 1);
            env[s.Name] = t;
        }
        Tensor Copy(Tensor t) { var c = t.IsScalar ? Tensor.Scalar() : t.IsVector ? Tensor.Vector(t.Rows) : Tensor.Matrix(t.Rows, t.Cols); t.Data.CopyTo(c.Data, 0); return c; }
        var x = env.ToDictionary(kv => kv.Key, kv => Copy(kv.Value));
        var y = env.ToDictionary(kv => kv.Key, kv => Copy(kv.Value));
        compiled.Run(compiled.Inputs.Select(s => x[s.Name]).ToArray(), outputs.Select(o => x[o.Target.Name]).ToArray());
        interpreted.Run(interpreted.Inputs.Select(s => y[s.Name]).ToArray(), outputs.Select(o => y[o.Target.Name]).ToArray());
        foreach (var o in outputs)
        {
            var a = x[o.Target.Name].Data;
            var e = y[o.Target.Name].Data;
            double err = 0, scale = 1e-300;
            for (int i = 0; i < a.Length; i++) { err = Math.Max(err, Math.Abs(a[i] - e[i])); scale = Math.Max(scale, Math.Abs(e[i])); }
            Assert.True(err <= 1e-12 * scale, $"{name}: {o.Target.Name} = {o.Value} differs by {err:G3} (scale {scale:G3})");
            Assert.False(env[o.Target.Name].Data.SequenceEqual(a), $"{name}: {o.Target.Name} was not written");
        }
    }
}
