using System.Numerics;
using RuleDsl.Runtime.Kernels;
using RuleDsl.Runtime.Kernels.Compiler;
using RuleDsl.Symbolic;
using static RuleDsl.Runtime.Tests.Kernels.Compiler.TestRules;

namespace RuleDsl.Runtime.Tests.Kernels.Compiler;

/// Elementwise loops run Vector&lt;T&gt;.Count elements at a time, then the scalar code for the rest. Each lane must
/// give the scalar code's bits: with n = Count + 1 the last element is computed by the scalar code, so giving
/// it the inputs of a lane's element (j &lt; Count) must give it that element's value exactly.
public class LanesTests
{
    static readonly Symbol X = Sym("x", Post), XBar = Sym("xbar", Post), Noise = Sym("noise", Post), Free = Sym("free", Post),
        Clamp = Sym("clamp", Post), R = Sym("r", Pre), S = Sym("s", Shape.Scalar), Wpp = Sym("W", Shape.NewMatrix("post", "pre")),
        Trace = Sym("E", Mat);

    static Expr Minus(Expr a) => Mul(N(-1), a);

    /// Miconi's Euler step (two vector outputs reading each other's old values, a product, a guarded scalar), a cube
    /// with an accumulating output, and a rank-one trace whose vectors are Phase A lane loops.
    static KernelSpec Spec(bool accumulate) => new("lanes",
        [X, XBar, Noise, Free, Clamp, R, S, Wpp, Trace],
        [
            new KernelOutput(X, Sum([E(Clamp), Mul(E(Free), Sum([Mul(N(1.0 / 30), E(Noise)), Mul(N(29.0 / 30), E(X)), Mul(N(1.0 / 30), MatMul(E(Wpp), E(R)))]))]), false),
            new KernelOutput(XBar, Sum([Mul(N(0.95), E(X)), Mul(N(0.05), E(XBar)), Mul(E(S), Pow(Sum([E(X), Minus(E(XBar))]), 3))]), accumulate),
            new KernelOutput(Trace, Sum([E(Trace), Outer(Pow(Sum([E(X), Minus(E(XBar))]), 3), Pow(E(R), 3))]), false),
        ]);

    static void Case<T>(bool accumulate, int seed) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int lanes = Vector<T>.Count, n = lanes + 1, j = seed % lanes;
        var r = KernelCompiler.CompileUncached<T>(Spec(accumulate), CompilerBackend.Fast);
        Assert.True(r.Ok, r.Error);
        var k = r.Kernel!;
        if (Vector.IsHardwareAccelerated) Assert.Contains($"({lanes} lanes at a time)", k.Plan);
        var args = k.CreateArgs().Size("post", n).Size("pre", n);
        var rng = new Random(seed);
        T Rand() => T.CreateTruncating(2 * rng.NextDouble() - 1);
        foreach (var s in new[] { X, XBar, Noise, Free, Clamp, R })
        {
            var a = Enumerable.Range(0, n).Select(_ => Rand()).ToArray();
            a[n - 1] = a[j]; // the scalar element gets lane j's inputs
            args.Set(s.Name, a);
        }
        var w = Enumerable.Range(0, n * n).Select(_ => Rand()).ToArray();
        Array.Copy(w, j * n, w, (n - 1) * n, n); // W's last row is row j: the product agrees there too
        args.Set("W", w);
        var e = Enumerable.Range(0, n * n).Select(_ => Rand()).ToArray();
        for (int i = 0; i < n; i++) e[i * n + n - 1] = e[i * n + j];
        Array.Copy(e, j * n, e, (n - 1) * n, n);
        args.Set("E", e);
        args.Set("s", Rand());
        k.Step(args);
        var x = args.Array("x");
        var xbar = args.Array("xbar");
        var trace = args.Array("E");
        Assert.Equal(x[j], x[n - 1]);
        Assert.Equal(xbar[j], xbar[n - 1]);
        for (int i = 0; i < n; i++) Assert.Equal(trace[i * n + j], trace[i * n + n - 1]); // r^3 at column n − 1
        for (int q = 0; q < n; q++) Assert.Equal(trace[j * n + q], trace[(n - 1) * n + q]); // (x − x̄)^3 at row n − 1
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Each_lane_gives_the_scalar_codes_bits(bool accumulate)
    {
        for (int seed = 0; seed < 24; seed++)
        {
            Case<double>(accumulate, seed);
            Case<float>(accumulate, seed);
        }
    }

    [Fact]
    public void A_builtin_without_lanes_keeps_the_scalar_loop()
    {
        var spec = new KernelSpec("abs", [X], [new KernelOutput(XBar, Expr.NewCall(Fn.Abs, Microsoft.FSharp.Collections.ListModule.OfSeq([E(X)])), false)]);
        var r = KernelCompiler.CompileUncached<double>(spec, CompilerBackend.Fast);
        Assert.True(r.Ok, r.Error);
        Assert.DoesNotContain("lanes at a time", r.Kernel!.Plan);
        var args = r.Kernel.CreateArgs().Size("post", 9);
        args.Set("x", Enumerable.Range(0, 9).Select(i => i - 4.5).ToArray());
        args.Set("xbar", new double[9]);
        r.Kernel.Step(args);
        Assert.Equal(Enumerable.Range(0, 9).Select(i => Math.Abs(i - 4.5)), args.Array("xbar"));
    }
}
