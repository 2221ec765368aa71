using Microsoft.FSharp.Collections;
using Microsoft.FSharp.Core;
using RuleDsl.Symbolic;

namespace RuleDsl.Runtime.Kernels;

/// <summary>Small C# helpers for building and differentiating IR from the runtime.</summary>
public static class Ir
{
    public static Shape Vec(string dim) => Shape.NewVector(dim);
    public static Shape Mat(string rows, string cols) => Shape.NewMatrix(rows, cols);
    public static Expr Sym(string name, Shape shape) => Expr.NewSym(new Symbol(name, shape));
    public static Expr Call(Fn fn, params Expr[] args) => Expr.NewCall(fn, ListModule.OfSeq(args));
    public static Expr MatMul(params Expr[] args) => Call(Fn.MatMul, args);
    public static Expr Transpose(Expr a) => Call(Fn.Transpose, a);
    public static FSharpOption<T> Some<T>(T x) => FSharpOption<T>.Some(x);
    public static FSharpOption<T> None<T>() => FSharpOption<T>.None;

    public static KernelOutput Set(string target, Shape shape, Expr value) => new(new Symbol(target, shape), value, false);

    /// <summary>The forward differential of <paramref name="e"/> with respect to the named symbols
    /// (tangent δX for X), simplified: the tangent equation the engine runs.</summary>
    public static Expr Tangent(Expr e, params string[] wrt)
    {
        var names = new HashSet<string>(wrt);
        var symbols = ExprModule.symbols(e).Where(s => names.Contains(s.Name));
        return Differentiate.differential(ListModule.OfSeq(symbols), e);
    }

    /// <summary>Renames symbols (keeping their shapes).</summary>
    public static Expr Rename(Expr e, IReadOnlyDictionary<string, string> names) =>
        ExprModule.substitute(FuncConvert.FromFunc<Symbol, FSharpOption<Expr>?>(s =>
            names.TryGetValue(s.Name, out var n) ? Some(Expr.NewSym(new Symbol(n, s.Shape))) : None<Expr>()), e);
}
