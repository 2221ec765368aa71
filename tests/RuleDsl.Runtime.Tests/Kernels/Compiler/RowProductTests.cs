using RuleDsl.Runtime.Kernels;
using RuleDsl.Runtime.Kernels.Compiler;
using RuleDsl.Symbolic;
using static RuleDsl.Runtime.Tests.Kernels.Compiler.TestRules;

namespace RuleDsl.Runtime.Tests.Kernels.Compiler;

/// Products with the rows a step has just written (the next sample's forward pass fused into the
/// update), and the four-at-a-time dot products they use.
public class RowProductTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(13)]
    [InlineData(784)]
    public void Dots_equal_one_Dot_each_bit_for_bit(int n)
    {
        var rng = new Random(n);
        double[] V() => Enumerable.Range(0, 3 * n).Select(_ => rng.NextDouble() - 0.5).ToArray();
        var a = Enumerable.Range(0, 4).Select(_ => V()).ToArray();
        var x = Enumerable.Range(0, 4).Select(_ => V()[..n]).ToArray();
        int[] off = [0, n, 2 * n, n / 2];
        for (int count = 1; count <= 4; count++)
        {
            var res = new double[4];
            RowOps<double>.Dots(a[0], off[0], x[0], a[1], off[1], x[1], a[2], off[2], x[2], a[3], off[3], x[3], count, n, res);
            for (int k = 0; k < count; k++)
                Assert.Equal(RowOps<double>.Dot(a[k], off[k], x[k], 0, n), res[k]); // exact, not close
        }
    }

    /// W += θ outer(e, y) and U += outer(e, y) + θ outer(δe, y), the update both fused tests run, with the
    /// next sample's input x' (the symbols θ, U, δe, x' and the two updates).
    static (Symbol Theta, Symbol U, Symbol De, Symbol X, Expr DW, Expr DU) UpdateOfWAndU()
    {
        var theta = Sym("theta", Shape.Scalar);
        var de = Sym("de", Post);
        var outer = (Symbol a, Symbol b) => Expr.NewCall(Fn.Outer, Microsoft.FSharp.Collections.ListModule.OfSeq([E(a), E(b)]));
        var dW = Expr.NewMul(Microsoft.FSharp.Collections.ListModule.OfSeq([E(theta), outer(EPost, YPre)]));
        var dU = outer(EPost, YPre) + Expr.NewMul(Microsoft.FSharp.Collections.ListModule.OfSeq([E(theta), outer(de, YPre)]));
        return (theta, Sym("U", Mat), de, Sym("x_next", Pre), dW, dU);
    }

    [Theory]
    [InlineData(CompilerBackend.Fast)]
    [InlineData(CompilerBackend.Linq)]
    public void Row_products_read_the_matrices_as_the_step_leaves_them(CompilerBackend backend)
    {
        // W += θ outer(e, y) and U += outer(e, y) + θ outer(δe, y); then z' = W_new x', δz' = W_new δx' + U_new x'.
        var (theta, u, de, x, dW, dU) = UpdateOfWAndU();
        var dx = Sym("dx_next", Pre);
        var z = Sym("z_next", Post);
        var dz = Sym("dz_next", Post);
        var spec = new KernelSpec("fused", [theta, W, u, EPost, de, YPre, x, dx],
            [new KernelOutput(u, dU, true, "dU"), new KernelOutput(W, dW, true, "dW")],
            [new RowProduct(z, [(W, x)]), new RowProduct(dz, [(W, dx), (u, x)])]);
        var r = KernelCompiler.CompileUncached<double>(spec, backend);
        Assert.True(r.Ok, r.Error);
        var k = r.Kernel!;
        Assert.Contains("the rows as written", k.Plan);
        int post = 5, pre = 7;
        var rng = new Random(3);
        double[] V(int len) => Enumerable.Range(0, len).Select(_ => rng.NextDouble() - 0.5).ToArray();
        var args = k.CreateArgs().Size("post", post).Size("pre", pre);
        args.Set("theta", 0.3);
        var (w0, u0, e, dev, y, xv, dxv) = (V(post * pre), V(post * pre), V(post), V(post), V(pre), V(pre), V(pre));
        args.Set("W", (double[])w0.Clone()).Set("U", (double[])u0.Clone()).Set("e_post", e).Set("de", dev).Set("y_pre", y)
            .Set("x_next", xv).Set("dx_next", dxv);
        var zOut = args.Allocate("z_next");
        var dzOut = args.Allocate("dz_next");
        k.Step(args);
        for (int i = 0; i < post; i++)
        {
            double zi = 0, dzi = 0;
            for (int j = 0; j < pre; j++)
            {
                double wNew = w0[i * pre + j] + 0.3 * e[i] * y[j];
                double uNew = u0[i * pre + j] + e[i] * y[j] + 0.3 * dev[i] * y[j];
                Assert.Equal(wNew, args.Array("W")[i * pre + j], 12);
                zi += wNew * xv[j];
                dzi += wNew * dxv[j] + uNew * xv[j];
            }
            Assert.Equal(zi, zOut[i], 12);
            Assert.Equal(dzi, dzOut[i], 12);
        }
    }

    /// Rows long enough for blocks of several rows (eight rows of 2,003 per block here, then a block of
    /// three), so that the products go four rows and four vectors at a time (MatVecs4) and a row at a time
    /// for the rest: each product must equal Dot over the rows the step left, term by term, to the bit.
    [Theory]
    [InlineData(CompilerBackend.Fast)]
    [InlineData(CompilerBackend.Linq)]
    public void Row_products_in_blocks_equal_one_Dot_per_row_bit_for_bit(CompilerBackend backend)
    {
        var (theta, u, de, x, dW, dU) = UpdateOfWAndU();
        // Five directions: W meets six vectors (four, then two, per MatVecs4 call), U one.
        var dxs = Enumerable.Range(0, 5).Select(k => Sym($"dx{k}_next", Pre)).ToArray();
        var products = new List<RowProduct> { new(Sym("z_next", Post), [(W, x)]) };
        products.AddRange(dxs.Select((dx, k) => new RowProduct(Sym($"dz{k}_next", Post), [(W, dx), (u, x)])));
        // A third matrix, A += outer(e, y) + θ outer(e, x') + θ W + θ A: a left vector's group (each row's
        // coefficient e[i], copied per block), a row of W and a keep that are the same for every row (filled).
        var a = Sym("A", Mat);
        var outer = (Symbol l, Symbol rt) => Expr.NewCall(Fn.Outer, Microsoft.FSharp.Collections.ListModule.OfSeq([E(l), E(rt)]));
        Expr Times(Symbol s, Expr e) => Expr.NewMul(Microsoft.FSharp.Collections.ListModule.OfSeq([E(s), e]));
        var dA = outer(EPost, YPre) + Times(theta, outer(EPost, x)) + Times(theta, E(W)) + Times(theta, E(a));
        var spec = new KernelSpec("fused blocks", [theta, W, u, a, EPost, de, YPre, x, .. dxs],
            [new KernelOutput(a, dA, true, "dA"), new KernelOutput(u, dU, true, "dU"), new KernelOutput(W, dW, true, "dW")], products);
        var r = KernelCompiler.CompileUncached<double>(spec, backend);
        Assert.True(r.Ok, r.Error);
        var k = r.Kernel!;
        Assert.Contains("four at a time", k.Plan);
        Assert.Contains("e_post[i] ·", k.Plan);
        Assert.Contains("row of W", k.Plan);
        int post = 19, pre = 2003;
        var rng = new Random(5);
        double[] V(int len) => Enumerable.Range(0, len).Select(_ => rng.NextDouble() - 0.5).ToArray();
        var args = k.CreateArgs().Size("post", post).Size("pre", pre);
        args.Set("theta", 0.3).Set("W", V(post * pre)).Set("U", V(post * pre)).Set("A", V(post * pre)).Set("e_post", V(post)).Set("de", V(post))
            .Set("y_pre", V(pre)).Set("x_next", V(pre));
        foreach (var dx in dxs) args.Set(dx.Name, V(pre));
        var outs = products.Select(p => args.Allocate(p.Output.Name)).ToArray();
        // The same update without row products runs over all rows at once: the same matrices, bit for bit
        // (each block's row coefficients are those rows', wherever the block starts).
        var whole = KernelCompiler.CompileUncached<double>(new KernelSpec("one pass", spec.Inputs, spec.Outputs), backend).Kernel!;
        var wholeArgs = whole.CreateArgs().Size("post", post).Size("pre", pre);
        wholeArgs.Set("theta", args.Scalar("theta"));
        foreach (var sym in whole.Layout.ArraySymbols) wholeArgs.Set(sym.Name, (double[])args.Array(sym.Name).Clone());
        whole.Step(wholeArgs);
        k.Step(args);
        Assert.Equal(wholeArgs.Array("W"), args.Array("W"));
        Assert.Equal(wholeArgs.Array("U"), args.Array("U"));
        Assert.Equal(wholeArgs.Array("A"), args.Array("A"));
        double[] w = args.Array("W"), um = args.Array("U"), xv = args.Array("x_next");
        for (int i = 0; i < post; i++)
        {
            Assert.Equal(RowOps<double>.Dot(w, i * pre, xv, 0, pre), outs[0][i]);
            for (int d = 0; d < dxs.Length; d++)
                Assert.Equal(RowOps<double>.Dot(w, i * pre, args.Array(dxs[d].Name), 0, pre) + RowOps<double>.Dot(um, i * pre, xv, 0, pre), outs[d + 1][i]);
        }
    }

    [Fact]
    public void A_row_product_over_a_matrix_the_kernel_does_not_write_is_refused()
    {
        var x = Sym("x_next", Pre);
        var spec = new KernelSpec("bad", [W, EPost, YPre, x], [new KernelOutput(Sym("out", Post), E(EPost), false, "y")],
            [new RowProduct(Sym("z_next", Post), [(W, x)])]);
        var r = KernelCompiler.CompileUncached<double>(spec, CompilerBackend.Fast);
        Assert.False(r.Ok);
        Assert.Contains("is not a matrix output of the kernel", r.Error);
    }
}
