using RuleDsl.Runtime.Data;
using RuleDsl.Runtime.Kernels;
using RuleDsl.Runtime.Tests.Engine;
using RuleDsl.Semantics;
using RuleDsl.Symbolic;
using static RuleDsl.Runtime.Kernels.Ir;

namespace RuleDsl.Runtime.Tests.Kernels;

/// The simd backend (the compiler) against the reference interpreter: the update and every tangent of
/// every rule, at random points, on the layer shapes of the paper's network and on non-square layers.
public class BackendAgreementTests
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
        var compiled = new SimdBackend().Compile("test", outputs);
        var interpreted = new InterpretedBackend().Compile("test", outputs);
        var dims = new Dictionary<string, int> { ["post"] = post, ["pre"] = pre };
        var env = Point(compiled.Inputs.Concat(interpreted.Inputs).Concat(outputs.Select(o => o.Target)), dims, rng);
        // Half of the θ at exactly zero: the compiled kernel skips those terms, the sums must not change.
        foreach (var p in rule.Params.Where((_, i) => i % 2 == 1)) if (env.TryGetValue(p.Symbol.Name, out var z)) z.Value = 0;
        // Miconi's update is clipped to ±3e-4 and its tangent vanishes where it clips: a θ this small puts
        // entries of ΔW on both sides of the clip, so both branches are compared and the tangent is not all zero.
        if (ruleName == "miconi") env["theta"].Value = 3e-3;
        var a = Clone(env);
        var b = Clone(env);
        compiled.Run(compiled.Inputs.Select(s => a[s.Name]).ToArray(), outputs.Select(o => a[o.Target.Name]).ToArray());
        interpreted.Run(interpreted.Inputs.Select(s => b[s.Name]).ToArray(), outputs.Select(o => b[o.Target.Name]).ToArray());
        foreach (var o in outputs)
        {
            var err = RelErr(a[o.Target.Name].Data, b[o.Target.Name].Data);
            Assert.True(err <= 1e-12, $"{o.Target.Name}: relative error {err:G3}");
            Assert.True(!env[o.Target.Name].Data.SequenceEqual(a[o.Target.Name].Data), $"{o.Target.Name} unchanged: {o.Value}"); // the kernel did write
        }
    }

    [Fact]
    public void A_kernel_compiles_once_per_process()
    {
        var rule = TestRules.Bio();
        var k1 = (SimdBackend.Compiled<double>)new SimdBackend().Compile("update", [new KernelOutput(rule.Weight, rule.Update, true)]);
        var k2 = (SimdBackend.Compiled<double>)new SimdBackend().Compile("update", [new KernelOutput(rule.Weight, TestRules.Bio().Update, true)]);
        Assert.Same(k1.Kernel, k2.Kernel);
    }

    [Fact]
    public void A_matrix_read_transposed_while_written_equals_the_interpreter()
    {
        var w = Sym("W", Mat("post", "post"));
        KernelOutput[] outputs = [new(new Symbol("W", Mat("post", "post")), Transpose(w), false)];
        var compiled = new SimdBackend().Compile("symmetrise", outputs);
        var interpreted = new InterpretedBackend().Compile("symmetrise", outputs);
        var env = Point(compiled.Inputs, new() { ["post"] = 5 }, new Rng(7));
        var a = Clone(env);
        var b = Clone(env);
        compiled.Run([a["W"]], [a["W"]]);
        interpreted.Run([b["W"]], [b["W"]]);
        Assert.Equal(b["W"].Data, a["W"].Data);
        Assert.NotEqual(env["W"].Data, a["W"].Data);
    }

    [Fact]
    public void A_kernel_the_compiler_refuses_is_named()
    {
        var w = new Symbol("W", Mat("post", "post"));
        var ex = Assert.Throws<KernelCompileException>(() =>
            new SimdBackend().Compile("twice", [new KernelOutput(w, Sym("W", Mat("post", "post")), true), new KernelOutput(w, Transpose(Sym("W", Mat("post", "post"))), true)]));
        Assert.Contains("twice", ex.Message);
        Assert.Contains("two outputs", ex.Message);
    }
}
