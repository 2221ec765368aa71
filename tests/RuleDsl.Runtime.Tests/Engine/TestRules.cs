using RuleDsl.Runtime.Kernels;
using RuleDsl.Semantics;
using Setting = RuleDsl.Syntax.Setting;
using RuleDsl.Symbolic;
using static RuleDsl.Runtime.Kernels.Ir;

namespace RuleDsl.Runtime.Tests.Engine;

/// Rules of Shervani-Tabar & Rosenbaum (2023) built as IR, for engine tests that must not depend on
/// the parser. Section 4.2's terms, signs and transposes as printed.
public static class TestRules
{
    public static readonly Expr W = Sym("W", Mat("post", "pre"));
    public static readonly Expr YPre = Sym("y_pre", Vec("pre")), YPost = Sym("y_post", Vec("post"));
    public static readonly Expr EPre = Sym("e_pre", Vec("pre")), EPost = Sym("e_post", Vec("post"));
    public static readonly Expr OnesPost = Sym("ones_post", Vec("post"));
    static Expr Outer(Expr a, Expr b) => Call(Fn.Outer, a, b);
    static Expr Th(string n) => Sym(n, Shape.Scalar);
    static Expr Neg(Expr a) => Expr.NewNum(-1) * a;

    public static Expr[] Pool =>
    [
        Neg(Outer(EPost, YPre)),
        Neg(Outer(YPost, EPre)),
        Neg(Outer(EPost, EPre)),
        Neg(W),
        Neg(Outer(OnesPost, EPre)),
        Neg(MatMul(Outer(EPost, OnesPost), Outer(YPost, YPre))),
        Neg(MatMul(Outer(YPost, YPost), W, Outer(EPre, EPre))),
        Neg(MatMul(Outer(EPost, YPost), W, Outer(EPre, YPre))),
        Neg(MatMul(Outer(YPost, YPre), Transpose(W), Outer(EPost, EPre))),
        Outer(YPost, YPre) - MatMul(Outer(YPost, YPost), W),
    ];

    public static Rule F0() => RuleOfCreate("fa", [("theta0", 1e-3)], Th("theta0") * Pool[0]);

    public static Rule Bio() => RuleOfCreate("bio", [("theta0", 1e-3), ("theta2", 0), ("theta9", 0)],
        Th("theta0") * Pool[0] + Th("theta2") * Pool[2] + Th("theta9") * Pool[9]);

    /// <summary>Eq. 8: θ0 F0 + θ2 F2.</summary>
    public static Rule EHebb() => RuleOfCreate("ehebb", [("theta0", 1e-3), ("theta2", 0)],
        Th("theta0") * Pool[0] + Th("theta2") * Pool[2]);

    /// <summary>Eq. 9: θ0 F0 + θ9 F9.</summary>
    public static Rule Oja() => RuleOfCreate("oja", [("theta0", 1e-3), ("theta9", 0)],
        Th("theta0") * Pool[0] + Th("theta9") * Pool[9]);

    public static Rule PoolRule() => RuleOfCreate("pool",
        Enumerable.Range(0, 10).Select(r => ($"theta[{r}]", r == 0 ? 1e-3 : 0.0)).ToArray(),
        Enumerable.Range(0, 10).Select(r => Th($"theta[{r}]") * Pool[r]).Aggregate((a, b) => a + b));

    static Rule RuleOfCreate(string name, (string, double)[] ps, Expr update) =>
        RuleOf.Create(name, Setting.Feedforward,
            Microsoft.FSharp.Collections.ListModule.OfSeq(ps.Select(p => Tuple.Create(p.Item1, p.Item2))), update);
}
