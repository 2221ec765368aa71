using RuleDsl.Runtime.Data;
using RuleDsl.Runtime.Engine;
using RuleDsl.Runtime.Engine.Compiled;
using RuleDsl.Runtime.Tests.Engine;
using RuleDsl.Semantics;
using RuleDsl.Symbolic;
using static RuleDsl.Runtime.Engine.Ir;

namespace RuleDsl.Runtime.Tests.Compiled;

/// Compiled kernels against the reference interpreter: the update and every tangent of every rule,
/// at random points, on the layer shapes of the paper's network and on non-square layers.
public class CompiledKernelTests
{
    public static TheoryData<string, int, int> Cases()
    {
        var d = new TheoryData<string, int, int>();
        foreach (var rule in new[] { "fa", "bio", "pool", "neo_hebbian", "miconi" })
            foreach (var (post, pre) in new[] { (170, 784), (130, 170), (5, 70), (3, 4) })
                d.Add(rule, post, pre);
        return d;
    }

    static Rule RuleNamed(string name) => name switch
    {
        "fa" => TestRules.F0(),
        "bio" => TestRules.Bio(),
        "pool" => TestRules.PoolRule(),
        "neo_hebbian" => RecurrentRules.NeoHebbian(3, 0.1),
        "miconi" => RecurrentRules.Miconi(0.1),
        _ => throw new ArgumentException(name),
    };

    /// Random values for every symbol the equations read, sized by the dimensions.
    static Dictionary<string, Tensor> Point(IEnumerable<Symbol> symbols, Dictionary<string, int> dims, Rng rng)
    {
        var env = new Dictionary<string, Tensor>();
        foreach (var s in symbols.DistinctBy(s => s.Name))
        {
            Tensor t = s.Shape.IsScalar ? Tensor.Scalar()
                : s.Shape.IsVector ? Tensor.Vector(dims[((Shape.Vector)s.Shape).Item])
                : Tensor.Matrix(dims[((Shape.Matrix)s.Shape).rows], dims[((Shape.Matrix)s.Shape).cols]);
            for (int i = 0; i < t.Data.Length; i++) t.Data[i] = rng.Uniform(-1, 1);
            env[s.Name] = t;
        }
        return env;
    }

    static Dictionary<string, Tensor> Clone(Dictionary<string, Tensor> env) => env.ToDictionary(kv => kv.Key, kv =>
    {
        var t = kv.Value.IsScalar ? Tensor.Scalar() : kv.Value.IsVector ? Tensor.Vector(kv.Value.Rows) : Tensor.Matrix(kv.Value.Rows, kv.Value.Cols);
        kv.Value.Data.CopyTo(t.Data, 0);
        return t;
    });

    static double RelErr(double[] a, double[] b)
    {
        double d = 0, n = 0;
        for (int i = 0; i < a.Length; i++) { d = Math.Max(d, Math.Abs(a[i] - b[i])); n = Math.Max(n, Math.Max(Math.Abs(a[i]), Math.Abs(b[i]))); }
        return d / Math.Max(n, 1e-300);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Update_and_tangents_equal_the_interpreter(string ruleName, int post, int pre)
    {
        var rule = RuleNamed(ruleName);
        var rng = new Rng((ulong)(post * 1000 + pre));
        // The weight update, each trace's next value, and the forward differential of each, with
        // respect to every symbol they read, together in one kernel (as the engines ask for them).
        var outputs = new List<KernelOutput> { new(rule.Weight, rule.Update, true) };
        outputs.Add(new KernelOutput(Differentiate.tangentSymbol(rule.Weight),
            Tangent(rule.Update, ExprModule.symbols(rule.Update).Select(s => s.Name).ToArray()), true));
        foreach (var t in rule.Traces)
        {
            outputs.Add(new KernelOutput(t.Symbol, t.Next, false));
            outputs.Add(new KernelOutput(Differentiate.tangentSymbol(t.Symbol), Tangent(t.Next, ExprModule.symbols(t.Next).Select(s => s.Name).ToArray()), false));
        }
        var compiled = new CompiledBackend().Compile("test", outputs);
        var interpreted = new InterpretedBackend().Compile("test", outputs);
        var dims = new Dictionary<string, int> { ["post"] = post, ["pre"] = pre };
        var env = Point(compiled.Inputs.Concat(interpreted.Inputs).Concat(outputs.Select(o => o.Target)), dims, rng);
        // Half of the θ at exactly zero: the compiled kernel skips those terms, the sums must not change.
        foreach (var p in rule.Params.Where((_, i) => i % 2 == 1)) if (env.TryGetValue(p.Symbol.Name, out var z)) z.Value = 0;
        var a = Clone(env);
        var b = Clone(env);
        compiled.Run(compiled.Inputs.Select(s => a[s.Name]).ToArray(), outputs.Select(o => a[o.Target.Name]).ToArray());
        interpreted.Run(interpreted.Inputs.Select(s => b[s.Name]).ToArray(), outputs.Select(o => b[o.Target.Name]).ToArray());
        foreach (var o in outputs)
        {
            var err = RelErr(a[o.Target.Name].Data, b[o.Target.Name].Data);
            Assert.True(err <= 1e-12, $"{o.Target.Name}: relative error {err:G3}");
            Assert.NotEqual(env[o.Target.Name].Data, a[o.Target.Name].Data); // the kernel did write
        }
    }

    [Fact]
    public void A_kernel_compiles_once_per_process()
    {
        var backend = new CompiledBackend();
        var rule = TestRules.Bio();
        var k1 = backend.Compile("update", [new KernelOutput(rule.Weight, rule.Update, true)]);
        var k2 = backend.Compile("again", [new KernelOutput(rule.Weight, TestRules.Bio().Update, true)]);
        Assert.Same(k1, k2);
        Assert.Equal(1, backend.Compiled);
    }

    [Fact]
    public void A_matrix_read_transposed_while_written_is_refused_by_name()
    {
        var w = Sym("W", Mat("post", "post"));
        var ex = Assert.Throws<KernelCompileException>(() =>
            new CompiledBackend().Compile("symmetrise", [new KernelOutput(new Symbol("W", Mat("post", "post")), Transpose(w), false)]));
        Assert.Contains("symmetrise", ex.Message);
        Assert.Contains("read transposed", ex.Message);
    }
}
