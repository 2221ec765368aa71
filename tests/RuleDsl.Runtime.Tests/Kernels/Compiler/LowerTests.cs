using RuleDsl.Symbolic;
using static RuleDsl.Runtime.Tests.Kernels.Compiler.TestRules;

namespace RuleDsl.Runtime.Tests.Kernels.Compiler;

public class LowerTests
{
    static IEnumerable<Expr> Calls(Expr e, Func<Fn, bool> which) =>
        ExprModule.subExprs(e).Where(x => x is Expr.Call c && which(c.Item1));

    [Fact]
    public void Lowering_preserves_shape_and_value_on_random_expressions()
    {
        int checkedCount = 0;
        for (int seed = 0; seed < Check.Cases(400); seed++)
        {
            var gen = new RandomExpr(seed);
            var shape = (seed % 3) switch { 0 => Shape.Scalar, 1 => Post, _ => Mat };
            var e = gen.Gen(shape, 4);
            var env = gen.RandomEnv(3, 4);
            var lowered = Lower.lower(e);
            Assert.Equal(Typing.shapeOf(e), Typing.shapeOf(lowered));
            var expected = env.Eval(e);
            if (expected.Any(x => double.IsNaN(x) || double.IsInfinity(x))) continue;
            Check.Close(env.Eval(lowered), expected, 1e-12, $"seed {seed}: {Show.Text(e)}\n lowered: {Show.Text(lowered)}");
            checkedCount++;
        }
        Assert.True(checkedCount > Check.Cases(400) * 7 / 8, $"only {checkedCount} expressions were finite");
    }

    [Fact]
    public void Rank_one_chain_becomes_a_scalar_times_an_outer_product()
    {
        // outer(y, y) @ W @ outer(e, e_pre) = ⟨y, W e_pre⟩ · outer(y, e_pre)
        var e = MatMul(Outer(E(YPost), E(YPost)), E(W), Outer(E(EPre), E(EPre)));
        var lowered = Lower.lower(e);
        Assert.Empty(Lower.denseProducts(lowered));
        var f = Lower.factors(Assert.Single(Lower.terms(lowered)));
        Assert.Equal(E(YPost), f.Left!.Value);
        Assert.Equal(E(EPre), f.Right!.Value);
        Assert.Null(f.Body);
        var s = Assert.Single(f.Scalars);
        Assert.Equal(Expr.NewCall(Fn.Dot, Microsoft.FSharp.Collections.ListModule.OfSeq([E(YPost), MatMul(E(W), E(EPre))])), s);
    }

    [Fact]
    public void Transposed_chain_uses_a_transposed_matrix_vector_product()
    {
        // outer(y, y_pre) @ W' @ outer(e, e_pre) = ⟨y_pre, W' e⟩ · outer(y, e_pre): W' e is a MatMul of a transpose leaf.
        var e = MatMul(Outer(E(YPost), E(YPre)), T(E(W)), Outer(E(EPost), E(EPre)));
        var lowered = Lower.lower(e);
        Assert.Empty(Lower.denseProducts(lowered));
        Assert.Contains(MatMul(T(E(W)), E(EPost)), ExprModule.subExprs(lowered));
        // Oja: outer(y, y) @ W = outer(y, W' y)
        var oja = Lower.lower(MatMul(Outer(E(YPost), E(YPost)), E(W)));
        Assert.Equal(Outer(E(YPost), MatMul(T(E(W)), E(YPost))), oja);
    }

    [Fact]
    public void Transpose_is_pushed_to_leaves()
    {
        var e = T(MatMul(T(E(W)), Outer(E(YPost), E(YPre))) + T(Outer(E(EPre), E(YPre))));
        var lowered = Lower.lower(e);
        foreach (var t in Calls(lowered, f => f.IsTranspose))
            Assert.True(((Expr.Call)t).Item2.Head.IsSym, $"transpose of a non-leaf in {Show.Text(lowered)}");
        var env = new Env(("post", 3), ("pre", 5));
        var rng = new Random(1);
        foreach (var s in new[] { W, YPre, YPost, EPre, EPost }) env.Random(s, rng);
        Check.Close(env.Eval(lowered), env.Eval(e), 1e-12, "transpose");
    }

    [Fact]
    public void Scalars_are_pulled_out_and_each_term_has_its_coefficient_in_front()
    {
        var th = E(Sym("th", Shape.Scalar));
        var e = MatMul(th * Outer(N(2) * E(EPost), E(YPre)), E(Sym("S", Shape.NewMatrix("pre", "pre"))));
        var lowered = Lower.lower(e);
        var f = Lower.factors(Assert.Single(Lower.terms(lowered)));
        Assert.Contains(th, f.Scalars);
        Assert.Contains(N(2), f.Scalars);
        // θ9 (A − B) is distributed: two terms, both with θ9 in front.
        var t9 = E(Sym("theta9", Shape.Scalar));
        var oja = Lower.lower(t9 * PoolTerms()[9]);
        var terms = Lower.terms(oja).ToList();
        Assert.Equal(2, terms.Count);
        Assert.All(terms, t => Assert.Contains(t9, Lower.factors(t).Scalars));
    }

    [Fact]
    public void Pool_and_its_tangents_have_no_dense_product()
    {
        var pool = Pool();
        var lowered = Lower.lower(pool.Update);
        Assert.Empty(Lower.denseProducts(lowered));
        var diff = RuleDsl.Runtime.Kernels.Compiler.RuleKernels.Differentiable(pool);
        var tangent = Lower.lower(RuleDsl.Runtime.Kernels.Compiler.RuleKernels.TangentOf(pool.Update, diff, 0));
        Assert.Empty(Lower.denseProducts(tangent));
        // Every term is scalar · outer(a, b) or scalar · matrix leaf: no elementwise matrix loops.
        foreach (var t in Lower.terms(tangent).Concat(Lower.terms(lowered)))
        {
            var f = Lower.factors(t);
            Assert.True(f.Body is null ? f.Right is not null : f.Body.Value.IsSym && f.Right is null, Show.Text(t));
        }
    }

    [Fact]
    public void Distribution_stops_before_it_makes_too_many_terms()
    {
        // (5 terms) @ (5 terms) @ (5 terms) would be 125 products: kept as a chain of sums instead.
        var s = Sym("S", Shape.NewMatrix("pre", "pre"));
        Expr Five(Expr m, Expr o) => Sum([m, Expr.NewCall(Fn.Tanh, Microsoft.FSharp.Collections.ListModule.OfSeq([m])), m * m, N(2) * m, o]);
        var e = MatMul(Five(E(W), Outer(E(YPost), E(YPre))), Five(E(s), Outer(E(EPre), E(YPre))), Five(E(s), Outer(E(YPre), E(EPre))));
        var lowered = Lower.lower(e);
        Assert.True(Lower.terms(lowered).Count() < 64);
        var env = new Env(("post", 3), ("pre", 4));
        var rng = new Random(3);
        foreach (var x in new[] { W, s, YPost, YPre, EPre }) env.Random(x, rng);
        Check.Close(env.Eval(lowered), env.Eval(e), 1e-12, "capped distribution");
    }

    [Fact]
    public void A_dense_product_is_kept_and_reported()
    {
        var e = MatMul(E(W), T(E(W)));
        var lowered = Lower.lower(e);
        Assert.Single(Lower.denseProducts(lowered));
        // …but a dense chain ending in a vector becomes matrix–vector products.
        var mv = Lower.lower(MatMul(E(W), T(E(W)), E(YPost)));
        Assert.Empty(Lower.denseProducts(mv));
    }
}
