using RuleDsl.Runtime.Kernels;
using RuleDsl.Runtime.Kernels.Compiler;
using RuleDsl.Symbolic;
using static RuleDsl.Runtime.Tests.Kernels.Compiler.TestRules;

namespace RuleDsl.Runtime.Tests.Kernels.Compiler;

public class CompilerTests
{
    static Kernel<double> Build(KernelSpec spec, CompilerBackend backend = CompilerBackend.Fast)
    {
        var r = KernelCompiler.CompileUncached<double>(spec, backend);
        Assert.True(r.Ok, r.Error);
        return r.Kernel!;
    }

    static double[] Result(KernelArgs<double> args, Symbol target) =>
        target.Shape.IsScalar ? [args.Scalar(target.Name)] : args.Array(target.Name);

    [Theory]
    [InlineData(CompilerBackend.Fast)]
    [InlineData(CompilerBackend.Linq)]
    public void Random_expressions_compile_to_the_interpreters_value(CompilerBackend backend)
    {
        int checkedCount = 0;
        for (int seed = 0; seed < Check.Cases(120); seed++)
        {
            var gen = new RandomExpr(1000 + seed);
            var shape = (seed % 3) switch { 0 => Shape.Scalar, 1 => Pre, _ => Mat };
            var e = gen.Gen(shape, 3);
            var env = gen.RandomEnv(3, 5);
            var expected = env.Eval(e);
            if (expected.Any(x => !double.IsFinite(x))) continue;
            var target = Sym("out", shape);
            var k = Build(new KernelSpec($"random{seed}", RandomExpr.Pool, [new KernelOutput(target, e, false, "out")]), backend);
            var args = env.Args(k);
            // Garbage in the target: Assign must not read it.
            if (!shape.IsScalar) Array.Fill(args.Array("out"), double.NaN);
            k.Step(args);
            Check.Close(Result(args, target), expected, 1e-12, $"seed {seed}: {Show.Text(e)}\n{k.Plan}");
            checkedCount++;
        }
        Assert.True(checkedCount > Check.Cases(120) * 5 / 6);
    }

    [Fact]
    public void In_place_outputs_read_the_values_from_before_the_step()
    {
        // W += f(W, U, …) and U += g(W, U, …) in one kernel: each reads the other's old value,
        // and one reads the other transposed through a square matrix.
        for (int seed = 0; seed < Check.Cases(60); seed++)
        {
            var gen = new RandomExpr(5000 + seed);
            var env = gen.RandomEnv(4, 4);
            var wSym = RandomExpr.Pool.First(s => s.Name == "W");
            var uSym = RandomExpr.Pool.First(s => s.Name == "U");
            var qSym = RandomExpr.Pool.First(s => s.Name == "Q");
            var f = gen.Gen(Mat, 3) + E(uSym) * E(wSym);
            var g = gen.Gen(Mat, 3) + E(wSym) + E(Sym("a", Shape.Scalar)) * E(uSym);
            var h = gen.Gen(Shape.NewMatrix("post", "post"), 2) + T(E(qSym));
            var ef = env.Eval(f);
            var eg = env.Eval(g);
            var eh = env.Eval(h);
            if (ef.Concat(eg).Concat(eh).Any(x => !double.IsFinite(x))) continue;
            var k = Build(new KernelSpec($"inplace{seed}", RandomExpr.Pool,
            [
                new KernelOutput(wSym, f, true, "dW"),
                new KernelOutput(uSym, g, true, "dU"),
                new KernelOutput(qSym, h, false, "Q"),
            ]));
            var args = env.Args(k);
            k.Step(args);
            Check.Close(Check.Minus(args.Array("W"), env.Data["W"]), ef, 1e-12, $"W, seed {seed}: {Show.Text(f)}\n{k.Plan}");
            Check.Close(Check.Minus(args.Array("U"), env.Data["U"]), eg, 1e-12, $"U, seed {seed}: {Show.Text(g)}\n{k.Plan}");
            Check.Close(args.Array("Q"), eh, 1e-12, $"Q, seed {seed}: {Show.Text(h)}\n{k.Plan}");
        }
    }

    [Fact]
    public void Vector_and_scalar_outputs_read_old_values_too()
    {
        var u = RandomExpr.Pool.First(s => s.Name == "u");
        var v = RandomExpr.Pool.First(s => s.Name == "v");
        var a = RandomExpr.Pool.First(s => s.Name == "a");
        var w = RandomExpr.Pool.First(s => s.Name == "W");
        var p = RandomExpr.Pool.First(s => s.Name == "p");
        var fu = E(v) * E(a) + MatMul(E(w), E(p));               // u ← v a + W p
        var fv = E(u) + Call(Fn.Tanh, E(v));                      // v += u + tanh v   (old u)
        var fa = Expr.NewCall(Fn.Dot, Microsoft.FSharp.Collections.ListModule.OfSeq([E(u), E(v)])); // a ← ⟨u, v⟩ (old)
        var fw = Outer(E(u), E(p)) * E(a);                        // W += a outer(u, p) (old a, u)
        var gen = new RandomExpr(3);
        var env = gen.RandomEnv(6, 5);
        var expected = new[] { env.Eval(fu), env.Eval(E(v) + fv), env.Eval(fa), env.Eval(E(w) + fw) };
        var k = Build(new KernelSpec("vectors", RandomExpr.Pool,
        [
            new KernelOutput(u, fu, false, "u"),
            new KernelOutput(v, fv, true, "v"),
            new KernelOutput(a, fa, false, "a"),
            new KernelOutput(w, fw, true, "W"),
        ]));
        var args = env.Args(k);
        k.Step(args);
        Check.Close(args.Array("u"), expected[0], 1e-12, "u");
        Check.Close(args.Array("v"), expected[1], 1e-12, "v");
        Check.Close([args.Scalar("a")], expected[2], 1e-12, "a");
        Check.Close(args.Array("W"), expected[3], 1e-12, "W");
    }

    static Expr Call(Fn f, params Expr[] xs) => Expr.NewCall(f, Microsoft.FSharp.Collections.ListModule.OfSeq(xs));

    [Fact]
    public void Unknown_symbols_and_bad_shapes_are_reported_with_the_rule_name()
    {
        var z = Sym("zeta", Post);
        var r = KernelCompiler.CompileUncached<double>(new KernelSpec("myrule", [W, YPre],
            [new KernelOutput(W, Outer(E(z), E(YPre)), true, "dW")]), CompilerBackend.Fast);
        Assert.False(r.Ok);
        Assert.Contains("not supported", r.Error);
        Assert.Contains("zeta", r.Error);
        Assert.Contains("in rule myrule", r.Error);

        var bad = KernelCompiler.CompileUncached<double>(new KernelSpec("shapes", [W, YPre, YPost],
            [new KernelOutput(W, Outer(E(YPre), E(YPost)), true, "dW")]), CompilerBackend.Fast);
        Assert.False(bad.Ok);
        Assert.Contains("in rule shapes", bad.Error);
        Assert.Throws<InvalidOperationException>(() => bad.Value);
    }

    [Fact]
    public void Buffers_are_checked_before_a_step()
    {
        var k = Build(new KernelSpec("f0", [W, YPre, EPost], [new KernelOutput(W, Outer(E(EPost), E(YPre)), true, "dW")]));
        var args = k.CreateArgs().Size("post", 3).Size("pre", 4);
        args.Set("W", new double[12]).Set("y_pre", new double[4]);
        var e1 = Assert.Throws<ArgumentException>(() => k.Step(args));
        Assert.Contains("e_post is not set", e1.Message);
        args.Set("e_post", new double[4]);
        var e2 = Assert.Throws<ArgumentException>(() => k.Step(args));
        Assert.Contains("e_post has 4 elements", e2.Message);
    }

    [Fact]
    public void The_cache_compiles_a_spec_once()
    {
        var spec1 = new KernelSpec("cached", [W, YPre, EPost], [new KernelOutput(W, Outer(E(EPost), E(YPre)), true, "dW")]);
        var spec2 = new KernelSpec("cached", [W, YPre, EPost], [new KernelOutput(W, Outer(E(EPost), E(YPre)), true, "dW")]);
        var k1 = KernelCompiler.Compile<double>(spec1).Value;
        var k2 = KernelCompiler.Compile<double>(spec2).Value;
        Assert.Same(k1, k2);
        Assert.NotSame(k1, KernelCompiler.Compile<float>(spec2).Value);
        var rule = Pool();
        Assert.Same(RuleKernels.Compile<double>(rule, RuleKernels.StepKind.Weight, 2).Value,
            RuleKernels.Compile<double>(Pool(), RuleKernels.StepKind.Weight, 2).Value);
    }

    [Fact]
    public void A_dense_product_compiles_and_is_reported()
    {
        var b = Sym("B", Shape.NewMatrix("pre", "post"));
        var k = Build(new KernelSpec("dense", [W, b], [new KernelOutput(Sym("Q", Shape.NewMatrix("post", "post")), MatMul(E(W), E(b)), false, "Q")]));
        Assert.Single(k.DenseProducts);
        var env = new Env(("post", 3), ("pre", 5));
        var rng = new Random(2);
        env.Random(W, rng).Random(b, rng);
        var args = env.Args(k);
        k.Step(args);
        Check.Close(args.Array("Q"), env.Eval(MatMul(E(W), E(b))), 1e-12, "W @ B");
    }
}
