using RuleDsl.Runtime.Kernels;
using RuleDsl.Runtime.Kernels.Compiler;
using RuleDsl.Symbolic;
using Microsoft.FSharp.Collections;
using static RuleDsl.Runtime.Tests.Kernels.Compiler.TestRules;

namespace RuleDsl.Runtime.Tests.Kernels.Compiler;

/// A vector group whose outputs call the same elementwise function of the same arguments (the feedback pass's
/// sigmoid(β z) in e and in each of its tangents) computes the call once into a vector: the plan shows it in
/// Phase A, a call made once is not moved, and every output has the bits of the formula evaluated directly.
public class SharedCallsTests
{
    static Expr Call(Fn f, params Expr[] xs) => Expr.NewCall(f, ListModule.OfSeq(xs));

    [Theory]
    [InlineData(CompilerBackend.Fast, 13)]
    [InlineData(CompilerBackend.Linq, 3)]
    public void A_call_several_outputs_make_is_computed_once_with_the_same_bits(CompilerBackend backend, int n)
    {
        var z = Sym("z", Post);
        var b = Sym("b", Post);
        var y = Sym("y", Post);
        var e = Sym("e", Post);
        var dz = Enumerable.Range(0, 3).Select(d => Sym($"dz{d}", Post)).ToArray();
        var de = Enumerable.Range(0, 3).Select(d => Sym($"de{d}", Post)).ToArray();
        var s = Call(Fn.Sigmoid, Mul(N(10), E(z)));
        // e = σ(10 z) b and de_d = dz_d σ(10 z): σ four times; y = softplus(z, 10) once.
        var outputs = new List<KernelOutput>
        {
            new(e, Mul(s, E(b)), false),
            new(y, Call(Fn.Softplus, E(z), N(10)), false),
        };
        for (int d = 0; d < 3; d++)
            outputs.Add(new(de[d], Mul(E(dz[d]), s), false));
        var r = KernelCompiler.CompileUncached<double>(new KernelSpec("shared", [z, b, .. dz], outputs), backend);
        Assert.True(r.Ok, r.Error);
        var k = r.Kernel!;
        var phaseA = k.Plan[..k.Plan.IndexOf("phase B", StringComparison.Ordinal)];
        Assert.Contains("= sigmoid(10 * z)", phaseA);
        Assert.DoesNotContain("softplus", phaseA);
        var rng = new Random(n);
        double[] V() => Enumerable.Range(0, n).Select(_ => 2 * rng.NextDouble() - 1).ToArray();
        var args = k.CreateArgs().Size("post", n);
        double[] zv = V(), bv = V();
        var dzv = dz.Select(_ => V()).ToArray();
        args.Set("z", zv).Set("b", bv);
        for (int d = 0; d < 3; d++) args.Set(dz[d].Name, dzv[d]);
        foreach (var o in outputs) args.Allocate(o.Target.Name);
        k.Step(args);
        for (int i = 0; i < n; i++)
        {
            double si = RuleDsl.Symbolic.Kernels.Sigmoid(10 * zv[i]);
            Assert.Equal(si * bv[i], args.Array("e")[i]);
            Assert.Equal(RuleDsl.Symbolic.Kernels.Softplus(zv[i], 10), args.Array("y")[i]);
            for (int d = 0; d < 3; d++)
                Assert.Equal(dzv[d][i] * si, args.Array(de[d].Name)[i]);
        }
    }
}
