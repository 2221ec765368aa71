using System.Linq.Expressions;
using System.Numerics;
using System.Reflection;
using RuleDsl.Symbolic;
using L = System.Linq.Expressions.Expression;

namespace RuleDsl.Runtime.Kernels.Compiler;

/// <summary>
/// Elementwise vector code over <see cref="Vector{T}"/> lanes: a loop "for each k: out[k] = f(…[k])" runs
/// Vector&lt;T&gt;.Count elements per iteration, then the scalar code for the rest. Only +, ×, x² and x³ (as
/// (x·x)·x), scalars broadcast and vectors read at k have a lane form; each lane does exactly the scalar
/// code's operations in its order (IEEE add and multiply are the same per lane, and neither form is
/// contracted to FMA), so the results are bit-identical. An expression with any other node (a built-in
/// such as abs or clip) keeps the scalar loop.
/// </summary>
internal sealed partial class KernelBuilder<T>
{
    static readonly Type VT = typeof(Vector<T>);
    static readonly ConstructorInfo Broadcast = VT.GetConstructor([typeof(T)])!;
    static readonly ConstructorInfo LoadLanes = VT.GetConstructor([typeof(T[]), typeof(int)])!;
    static readonly MethodInfo StoreLanes = VT.GetMethod(nameof(Vector<T>.CopyTo), [typeof(T[]), typeof(int)])!;
    static readonly L ZeroLanes = L.Default(typeof(Vector<T>));
    /// <summary>Lanes only where the hardware has vectors (elsewhere Vector&lt;T&gt; is a slow software struct).</summary>
    static bool UseLanes => Vector.IsHardwareAccelerated && Vector<T>.Count > 1;

    /// <summary>Whether <see cref="Lane"/> has a form for e in a vector context: mirrors <see cref="Elem"/>'s
    /// cases without creating any node.</summary>
    bool HasLanes(Expr e)
    {
        switch (e)
        {
            case Expr.Num:
                return true;
            case Expr.Sym s:
                return s.Item.Shape.IsScalar || s.Item.Shape is Shape.Vector;
        }
        var shape = ShapeOf(e);
        if (shape.IsScalar) return true;
        switch (e)
        {
            case Expr.Add a:
                return a.Item.All(HasLanes);
            case Expr.Mul m:
                return m.Item.All(HasLanes);
            case Expr.Pow p:
                return p.Item2 is Expr.Num { Item: 2.0 or 3.0 } && HasLanes(p.Item1);
            case Expr.Call c when c.Item1.IsTanh && shape is Shape.Vector || IsSharedCall(e):
                return true; // read from its vector
            case Expr.Call c when Builtins.isElementwise(c.Item1) || c.Item1.IsOuter || c.Item1.IsTranspose:
                return false;
        }
        return shape is Shape.Vector;
    }

    /// <summary>The value of e at lanes [k, k + Count): <see cref="Elem"/>'s code, lane by lane (the same
    /// nodes, so the same dependencies). Only for e where <see cref="HasLanes"/> holds.</summary>
    L Lane(Expr e, ParameterExpression k, List<Node> deps)
    {
        switch (e)
        {
            case Expr.Num n:
                return L.New(Broadcast, Const(n.Item));
            case Expr.Sym s when s.Item.Shape.IsScalar:
                return L.New(Broadcast, scalarLocal.TryGetValue(s.Item.Name, out var p) ? p : throw Unknown(s.Item));
            case Expr.Sym s:
                return L.New(LoadLanes, ArrayOf(s.Item), k);
        }
        var shape = ShapeOf(e);
        if (shape.IsScalar)
        {
            var sn = ScalarOf(e);
            deps.Add(sn);
            return L.New(Broadcast, sn.Local);
        }
        switch (e)
        {
            case Expr.Add a:
                return a.Item.Select(x => Lane(x, k, deps)).Aggregate(L.Add);
            case Expr.Mul m:
                return m.Item.Select(x => Lane(x, k, deps)).Aggregate(L.Multiply);
            case Expr.Pow p:
                {
                    var v = L.Variable(VT, "powlanes");
                    L square = L.Multiply(v, v);
                    return L.Block([v], L.Assign(v, Lane(p.Item1, k, deps)), ((Expr.Num)p.Item2).Item == 2.0 ? square : L.Multiply(square, v));
                }
        }
        // tanh of a vector (computed whole in Phase A) and any other vector value: read from its buffer.
        var node = VecOf(e);
        deps.Add(node);
        return L.New(LoadLanes, node.Buf, k);
    }

    /// <summary>k from 0 over [0, n): <paramref name="lanes"/> at k, k + Count, … while a whole vector fits,
    /// then <paramref name="scalar"/> at each remaining k.</summary>
    static L LaneLoop(ParameterExpression k, L n, L lanes, L scalar)
    {
        var brkV = L.Label("lanes_end_" + k.Name);
        var brkS = L.Label("end_" + k.Name);
        var last = L.Subtract(n, L.Constant(Vector<T>.Count));
        return L.Block(
            L.Assign(k, L.Constant(0)),
            L.Loop(L.IfThenElse(L.LessThanOrEqual(k, last),
                L.Block(lanes, L.AddAssign(k, L.Constant(Vector<T>.Count))), L.Break(brkV)), brkV),
            L.Loop(L.IfThenElse(L.LessThan(k, n), L.Block(scalar, L.PreIncrementAssign(k)), L.Break(brkS)), brkS));
    }

    /// <summary>Stores lanes at k of <paramref name="buf"/> (Vector&lt;T&gt;.CopyTo).</summary>
    static L Store(L lanes, ParameterExpression buf, ParameterExpression k)
    {
        var v = L.Variable(VT, "lanes");
        return L.Block([v], L.Assign(v, lanes), L.Call(v, StoreLanes, buf, k));
    }
}
