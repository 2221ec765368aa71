using RuleDsl.Runtime.Kernels.Compiler;
using RuleDsl.Semantics;
using RuleDsl.Symbolic;
using static RuleDsl.Runtime.Kernels.Compiler.RuleKernels;
using static RuleDsl.Runtime.Tests.Kernels.Compiler.TestRules;

namespace RuleDsl.Runtime.Tests.Kernels.Compiler;

public class RuleKernelTests
{
    public static TheoryData<string> RuleNames => new() { "f0", "bio", "pool", "neo_hebbian" };

    static Rule ByName(string name) => All().First(r => r.Name == name);

    /// <summary>Every buffer of the spec random in [-1, 1] (θ too, so every term is exercised).</summary>
    static Env RandomEnv(KernelSpec spec, int post, int pre, int seed)
    {
        var env = new Env(("post", post), ("pre", pre));
        var rng = new Random(seed);
        foreach (var s in spec.Inputs.Concat(spec.Outputs.Select(o => o.Target)))
            if (!env.Data.ContainsKey(s.Name)) env.Random(s, rng);
        if (env.Data.ContainsKey(Dt.Name)) env.Set(Dt, 0.1);
        return env;
    }

    static (StepKind Kind, IReadOnlyList<(Expr Value, Symbol Target)> Outputs) Steps(Rule rule, StepKind kind, int directions, string[] constants)
    {
        var diff = Differentiable(rule, constants);
        var list = new List<(Expr, Symbol)>();
        if (kind == StepKind.Weight)
        {
            list.Add((rule.Update, rule.Weight));
            for (int d = 0; d < directions; d++) list.Add((TangentOf(rule.Update, diff, d), Tangent(rule.Weight, d)));
        }
        else
            foreach (var t in rule.Traces)
            {
                list.Add((t.Next - E(t.Symbol), t.Symbol));
                for (int d = 0; d < directions; d++) list.Add((TangentOf(t.Next, diff, d) - E(Tangent(t.Symbol, d)), Tangent(t.Symbol, d)));
            }
        return (kind, list);
    }

    static readonly string[] Constants = ["dt"];

    static IEnumerable<StepKind> KindsOf(Rule rule) => rule.Traces.IsEmpty ? [StepKind.Weight] : [StepKind.Weight, StepKind.Traces];

    /// <summary>
    /// Compiled step vs the interpreter: every output's change equals the interpreted expression
    /// (the update ΔW, each tangent of ΔW; for traces Next − E and its tangents).
    /// </summary>
    static void CompareWithInterpreter(Rule rule, int post, int pre, int directions, bool lowered, int seed)
    {
        foreach (var kind in KindsOf(rule))
        {
            var kernel = RuleKernels.Compile<double>(rule, kind, directions, Constants).Value;
            var env = RandomEnv(kernel.Spec, post, pre, seed);
            var args = env.Args(kernel);
            kernel.Step(args);
            foreach (var (value, target) in Steps(rule, kind, directions, Constants).Outputs)
            {
                var expected = env.Eval(lowered ? Lower.lower(value) : value);
                var change = Check.Minus(args.Array(target.Name), env.Data[target.Name]);
                Check.Close(change, expected, 1e-12, $"{rule.Name} {kind} {post}×{pre} D={directions}: {target.Name}");
            }
        }
    }

    [Theory]
    [MemberData(nameof(RuleNames))]
    public void Compiled_rule_equals_the_interpreter_on_small_layers(string name)
    {
        var rule = ByName(name);
        foreach (var d in new[] { 0, 1, 3 })
        {
            CompareWithInterpreter(rule, 5, 7, d, lowered: false, seed: 11 + d);
            CompareWithInterpreter(rule, 9, 4, d, lowered: false, seed: 21 + d);
        }
    }

    /// <summary>
    /// The paper's layer shapes (pre × post = 784×170, 170×130, 70×5). The interpreter evaluates the
    /// lowered expression here (the unlowered one does O(n²m) matrix products: minutes at 784);
    /// lowering itself is checked against the unlowered interpreter on random IR and small layers.
    /// </summary>
    [Theory]
    [MemberData(nameof(RuleNames))]
    public void Compiled_rule_equals_the_interpreter_on_the_papers_layers(string name)
    {
        var rule = ByName(name);
        CompareWithInterpreter(rule, 170, 784, 3, lowered: true, seed: 1);
        CompareWithInterpreter(rule, 130, 170, 1, lowered: true, seed: 2);
        CompareWithInterpreter(rule, 5, 70, 3, lowered: true, seed: 3);
    }

    /// <summary>Tangents equal central finite differences of the compiled step itself (double).</summary>
    [Theory]
    [MemberData(nameof(RuleNames))]
    public void Tangents_equal_central_differences(string name)
    {
        var rule = ByName(name);
        const int directions = 2;
        foreach (var kind in KindsOf(rule))
        {
            var kernel = RuleKernels.Compile<double>(rule, kind, directions, Constants).Value;
            var plain = RuleKernels.Compile<double>(rule, kind, 0, Constants).Value;
            var env = RandomEnv(kernel.Spec, 6, 8, 7);
            var args = env.Args(kernel);
            kernel.Step(args);
            var diff = Differentiable(rule, Constants);
            List<Symbol> changed = kind == StepKind.Weight ? [rule.Weight] : rule.Traces.Select(t => t.Symbol).ToList();
            for (int d = 0; d < directions; d++)
            {
                // f(x ± h·δx) for every differentiable x; f = the new value of each changed buffer.
                double[] At(double h, Symbol target)
                {
                    var e = env.Clone();
                    foreach (var s in diff)
                    {
                        var x = e.Data[s.Name];
                        var dx = env.Data[Tangent(s, d).Name];
                        for (int k = 0; k < x.Length; k++) x[k] += h * dx[k];
                    }
                    var a = e.Args(plain);
                    plain.Step(a);
                    return a.Array(target.Name);
                }
                const double h = 1e-5;
                foreach (var target in changed)
                {
                    var plus = At(h, target);
                    var minus = At(-h, target);
                    var fd = plus.Select((p, k) => (p - minus[k]) / (2 * h)).ToArray();
                    var tangentName = Tangent(target, d).Name;
                    // The new tangent: old tangent + derivative of the change = derivative of the new value.
                    Check.Close(args.Array(tangentName), fd, 1e-6, $"{rule.Name} {kind}: {tangentName} vs finite differences");
                }
            }
        }
    }

    [Theory]
    [MemberData(nameof(RuleNames))]
    public void Single_precision_stays_within_float_tolerance_of_double(string name)
    {
        var rule = ByName(name);
        foreach (var kind in KindsOf(rule))
        {
            var kd = RuleKernels.Compile<double>(rule, kind, 3, Constants).Value;
            var kf = RuleKernels.Compile<float>(rule, kind, 3, Constants).Value;
            var env = RandomEnv(kd.Spec, 130, 170, 5);
            var ad = env.Args(kd);
            var af = env.ArgsF(kf);
            kd.Step(ad);
            kf.Step(af);
            // The new values (a change far below the old value's float resolution cannot be compared
            // relative to itself: that is the float rounding of the accumulation, not of the kernel).
            foreach (var o in kd.Spec.Outputs)
            {
                var single = af.Array(o.Target.Name).Select(x => (double)x).ToArray();
                Check.Close(single, ad.Array(o.Target.Name), 1e-4, $"{rule.Name} {kind} float: {o.Target.Name}");
            }
        }
    }

    [Fact]
    public void Single_precision_pool_with_ten_tangents_at_the_papers_theta_matches_double()
    {
        // What bench `ratio --precision float32` times: the paper's θ (terms skipped, rows combined four
        // at a time) on a paper-sized layer. Inputs rounded to float first, so only the arithmetic differs:
        // W and every U_d within 1e-5 of their largest magnitude (float sums over 130-170 terms; a wrong
        // term is off by order 1).
        var rule = Pool();
        var kd = RuleKernels.Compile<double>(rule, StepKind.Weight, 10, Constants).Value;
        var kf = RuleKernels.Compile<float>(rule, StepKind.Weight, 10, Constants).Value;
        var env = RandomEnv(kd.Spec, 130, 170, 11);
        foreach (var p in rule.Params)
        {
            env.Set(p.Symbol, p.Init);
            for (int d = 0; d < 10; d++) env.Set(Tangent(p.Symbol, d), d % rule.Params.Length == p.Index.Head ? 1.0 : 0.0);
        }
        foreach (var x in env.Data.Values)
            for (int q = 0; q < x.Length; q++) x[q] = (float)x[q];
        var ad = env.Args(kd);
        var af = env.ArgsF(kf);
        kd.Step(ad);
        kf.Step(af);
        Assert.Equal(11, kd.Spec.Outputs.Count);
        foreach (var o in kd.Spec.Outputs)
        {
            var single = af.Array(o.Target.Name).Select(x => (double)x).ToArray();
            Assert.NotEqual(env.Data[o.Target.Name], ad.Array(o.Target.Name));
            Check.Close(single, ad.Array(o.Target.Name), 1e-5, $"pool D=10 paper θ float: {o.Target.Name}");
        }
    }

    [Fact]
    public void A_zero_parameter_costs_nothing_its_terms_are_skipped()
    {
        // The paper's start: θ[0] = 1e-3, θ[1..9] = 0. Every term except F0 reads e_pre or W; make e_pre
        // NaN: if any skipped term were computed (or added as 0·NaN) the update would be NaN.
        var rule = Pool();
        var kernel = RuleKernels.Compile<double>(rule, StepKind.Weight, 1).Value;
        var env = RandomEnv(kernel.Spec, 7, 9, 3);
        foreach (var p in rule.Params) env.Set(p.Symbol, p.Init);
        env.Set(EPre, Enumerable.Repeat(double.NaN, 9).ToArray());
        env.Set(Tangent(EPre, 0), Enumerable.Repeat(double.NaN, 9).ToArray());
        // Direction 0 = ∂/∂θ[0].
        foreach (var p in rule.Params) env.Set(Tangent(p.Symbol, 0), p.Index.Head == 0 ? 1.0 : 0.0);
        var args = env.Args(kernel);
        kernel.Step(args);
        var f0 = rule.Params[0].Symbol;
        var expected = env.Eval(E(f0) * PoolTerms()[0]);
        Check.Close(Check.Minus(args.Array("W"), env.Data["W"]), expected, 1e-12, "W with θ[1..9] = 0");
        var expectedTangent = env.Eval(PoolTerms()[0] + E(f0) * (-Outer(E(Tangent(EPost, 0)), E(YPre)) - Outer(E(EPost), E(Tangent(YPre, 0)))));
        Check.Close(Check.Minus(args.Array("δW#0"), env.Data["δW#0"]), expectedTangent, 1e-12, "tangent with θ[1..9] = 0");
        // The matrix–vector products of F6–F9 run only under their guards.
        var matvecs = kernel.Plan.Split('\n').Where(l => l.Contains("matvec")).ToList();
        Assert.NotEmpty(matvecs);
        foreach (var line in matvecs) Assert.Contains("if g", line);
    }

    /// <summary>
    /// The pool with ten tangents is past the JIT's limits for one optimised method: the step runs as
    /// several, the scalars and flags between them through a frame, with the interpreter's values.
    /// </summary>
    [Fact]
    public void A_large_step_runs_as_several_methods_with_the_same_values()
    {
        var rule = Pool();
        Assert.Contains("methods in turn", RuleKernels.Compile<double>(rule, StepKind.Weight, 10, Constants).Value.Plan);
        CompareWithInterpreter(rule, 5, 7, 10, lowered: false, seed: 31);
        CompareWithInterpreter(rule, 40, 9, 10, lowered: false, seed: 32);
        CompareWithInterpreter(rule, 600, 9, 10, lowered: true, seed: 33); // several blocks of rows in phase B
        var kernel = RuleKernels.Compile<double>(rule, StepKind.Weight, 10, Constants).Value;
        var args = RandomEnv(kernel.Spec, 20, 30, 9).Args(kernel);
        kernel.Step(args);
        long before = GC.GetAllocatedBytesForCurrentThread();
        kernel.Step(args);
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    [Fact]
    public void A_step_allocates_nothing()
    {
        var kernel = RuleKernels.Compile<double>(Pool(), StepKind.Weight, 3).Value;
        var args = RandomEnv(kernel.Spec, 20, 30, 9).Args(kernel);
        kernel.Step(args); // first step allocates the scratch buffers
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int k = 0; k < 10; k++) kernel.Step(args);
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    [Fact]
    public void Rule_kernels_have_no_dense_products()
    {
        foreach (var rule in All())
            foreach (var kind in KindsOf(rule))
                Assert.Empty(RuleKernels.Compile<double>(rule, kind, 3, Constants).Value.DenseProducts);
    }
}
