using Microsoft.FSharp.Collections;
using RuleDsl.Semantics;
using Setting = RuleDsl.Syntax.Setting;
using RuleDsl.Symbolic;

namespace RuleDsl.Runtime.Tests.Kernels.Compiler;

/// <summary>
/// The paper rules built directly as checked <see cref="Rule"/> values, until the front end parses
/// rules/*.rule (then these builders go). Shapes: W is post × pre; y_pre, e_pre are pre vectors,
/// y_post, e_post post vectors. Shared with bench/RuleDsl.Bench (linked there).
/// </summary>
public static class TestRules
{
    public static readonly Shape Post = Shape.NewVector("post");
    public static readonly Shape Pre = Shape.NewVector("pre");
    public static readonly Shape Mat = Shape.NewMatrix("post", "pre");

    public static Symbol Sym(string name, Shape shape) => new(name, shape);
    public static Expr E(Symbol s) => Expr.NewSym(s);
    public static Expr N(double v) => Expr.NewNum(v);
    public static Expr Outer(Expr a, Expr b) => Expr.NewCall(Fn.Outer, ListModule.OfSeq([a, b]));
    public static Expr MatMul(params Expr[] xs) => Expr.NewCall(Fn.MatMul, ListModule.OfSeq(xs));
    public static Expr T(Expr a) => Expr.NewCall(Fn.Transpose, ListModule.OfSeq([a]));
    public static Expr Pow(Expr a, double p) => Expr.NewPow(a, N(p));
    public static Expr Sum(IEnumerable<Expr> xs) => Expr.NewAdd(ListModule.OfSeq(xs));
    public static Expr Mul(params Expr[] xs) => Expr.NewMul(ListModule.OfSeq(xs));

    public static readonly Symbol W = Sym("W", Mat);
    public static readonly Symbol YPre = Sym("y_pre", Pre), YPost = Sym("y_post", Post);
    public static readonly Symbol EPre = Sym("e_pre", Pre), EPost = Sym("e_post", Post);

    static SourceLoc Loc(string file, int line) => new(file, line, 1);

    static Param P(string name, string family, int[] index, double init, string file) =>
        new(Sym(name, Shape.Scalar), family, ListModule.OfSeq(index), init, 1.0, double.NegativeInfinity, double.PositiveInfinity, Loc(file, 2));

    static Rule Feedforward(string name, IEnumerable<Param> ps, IEnumerable<Term> terms, Expr update)
    {
        var file = $"rules/{name}.rule";
        var inputs = ExprModule.symbols(update).Where(s => !ps.Any(p => p.Symbol.Equals(s))).ToList();
        return new Rule(name, Setting.Feedforward, file, Loc(file, 1), ListModule.OfSeq(ps), FSharpList<Const>.Empty,
            ListModule.OfSeq(inputs), FSharpList<Trace>.Empty, ListModule.OfSeq(terms), update, Loc(file, 5), W);
    }

    /// <summary>F0 = -θ0 · outer(e_post, y_pre): the pseudo-gradient (feedback alignment) rule.</summary>
    public static Rule F0()
    {
        var theta0 = P("theta0", "theta0", [], 1e-3, "rules/f0.rule");
        return Feedforward("f0", [theta0], [], -E(theta0.Symbol) * Outer(E(EPost), E(YPre)));
    }

    /// <summary>The ten candidate terms of section 4.2 (F[0] … F[9]), with 1_ℓ written as y_post^0.</summary>
    public static Expr[] PoolTerms()
    {
        Expr w = E(W), yPre = E(YPre), yPost = E(YPost), ePre = E(EPre), ePost = E(EPost);
        var onesPost = Pow(yPost, 0); // 1_ℓ, the post vector of ones
        return
        [
            -Outer(ePost, yPre),                                            // F0
            -Outer(yPost, ePre),                                            // F1
            -Outer(ePost, ePre),                                            // F2
            -w,                                                             // F3
            -Outer(onesPost, ePre),                                         // F4
            -MatMul(Outer(ePost, onesPost), Outer(yPost, yPre)),            // F5 = -e 1ᵀ y yᵀ_pre
            -MatMul(Outer(yPost, yPost), w, Outer(ePre, ePre)),             // F6
            -MatMul(Outer(ePost, yPost), w, Outer(ePre, yPre)),             // F7
            -MatMul(Outer(yPost, yPre), T(w), Outer(ePost, ePre)),          // F8
            Outer(yPost, yPre) - MatMul(Outer(yPost, yPost), w),            // F9 (Oja)
        ];
    }

    /// <summary>F_pool = Σ_r θ[r] F[r], θ[0] = 1e-3 and the others 0 initially (the paper's start).</summary>
    public static Rule Pool()
    {
        var ps = Enumerable.Range(0, 10).Select(r => P($"theta[{r}]", "theta", [r], r == 0 ? 1e-3 : 0.0, "rules/pool.rule")).ToList();
        var fs = PoolTerms();
        var terms = fs.Select((f, r) => new Term($"F[{r}]", f, Loc("rules/pool.rule", 3 + r))).ToList();
        var update = Sum(fs.Select((f, r) => E(ps[r].Symbol) * f));
        return Feedforward("pool", ps, terms, update);
    }

    /// <summary>F_bio (Eq. 7) = -θ0 e yᵀ_pre - θ2 e eᵀ_pre + θ9 (y yᵀ_pre - (y yᵀ) W).</summary>
    public static Rule Bio()
    {
        var t0 = P("theta0", "theta0", [], 1e-3, "rules/bio.rule");
        var t2 = P("theta2", "theta2", [], 0.0, "rules/bio.rule");
        var t9 = P("theta9", "theta9", [], 0.0, "rules/bio.rule");
        var fs = PoolTerms();
        var update = E(t0.Symbol) * fs[0] + E(t2.Symbol) * fs[2] + E(t9.Symbol) * fs[9];
        return Feedforward("bio", [t0, t2, t9], [], update);
    }

    // Recurrent setting: x, xbar post vectors (the postsynaptic unit i), r a pre vector (unit j).
    public static readonly Symbol X = Sym("x", Post), XBar = Sym("xbar", Post), Rate = Sym("r", Pre);
    public static readonly Symbol Reward = Sym("R", Shape.Scalar), RewardBar = Sym("Rbar", Shape.Scalar);
    public static readonly Symbol Dt = Sym("dt", Shape.Scalar);
    public static readonly Symbol Elig = Sym("E", Mat);

    /// <summary>
    /// The neo-Hebbian family: E' = Σ_{k,l ∈ 0..2} θ[k,l] · outer((xbar − x)^l, r^k) (Euler step dt),
    /// ΔW = η · E · (R − Rbar), η = 1e-3 substituted; θ[1,1] = 1 initially, the others 0.
    /// </summary>
    public static Rule NeoHebbian()
    {
        const string file = "rules/neo_hebbian.rule";
        var ps = new List<Param>();
        var rateTerms = new List<Expr>();
        var dx = E(XBar) - E(X);
        for (int k = 0; k <= 2; k++)
            for (int l = 0; l <= 2; l++)
            {
                var p = P($"theta[{k},{l}]", "theta", [k, l], k == 1 && l == 1 ? 1.0 : 0.0, file);
                ps.Add(p);
                rateTerms.Add(E(p.Symbol) * Outer(Pow(dx, l), Pow(E(Rate), k)));
            }
        var rate = Sum(rateTerms);
        var trace = new Trace(Elig, E(Elig) + E(Dt) * rate, rate, true, Loc(file, 6));
        var eta = new Const(Sym("eta", Shape.Scalar), 1e-3, Loc(file, 5));
        var update = N(1e-3) * E(Elig) * (E(Reward) - E(RewardBar));
        var inputs = new List<Symbol> { XBar, X, Rate, Dt, Reward, RewardBar };
        return new Rule("neo_hebbian", Setting.Recurrent, file, Loc(file, 1), ListModule.OfSeq(ps),
            ListModule.OfSeq([eta]), ListModule.OfSeq(inputs), ListModule.OfSeq([trace]), FSharpList<Term>.Empty,
            update, Loc(file, 7), W);
    }

    public static IReadOnlyList<Rule> All() => [F0(), Bio(), Pool(), NeoHebbian()];
}
