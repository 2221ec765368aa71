using System.Linq.Expressions;
using System.Numerics;
using System.Reflection;
using Microsoft.FSharp.Collections;
using RuleDsl.Symbolic;
using L = System.Linq.Expressions.Expression;

namespace RuleDsl.Runtime.Kernels.Compiler;

/// <summary>Phase A of <see cref="KernelBuilder{T}"/>: elementwise code at an index, and the scalars,
/// vectors and matrices the step computes once (one node per distinct expression).</summary>
internal sealed partial class KernelBuilder<T>
{
    // ---------------------------------------------------------------- elementwise code

    /// <summary>The value of e at the context's index (scalar, vector k, or matrix (i, j)).</summary>
    L Elem(Expr e, Ctx ctx, List<Node> deps)
    {
        switch (e)
        {
            case Expr.Num n:
                return Const(n.Item);
            case Expr.Sym s:
                return SymElem(s.Item, ctx, deps);
        }
        var shape = ShapeOf(e);
        if (shape.IsScalar)
        {
            var sn = ScalarOf(e);
            deps.Add(sn);
            return sn.Local;
        }
        switch (e)
        {
            case Expr.Add a:
                return a.Item.Select(x => Elem(x, ctx, deps)).Aggregate(L.Add);
            case Expr.Mul m:
                return m.Item.Select(x => Elem(x, ctx, deps)).Aggregate(L.Multiply);
            case Expr.Pow p:
                return PowOf(Elem(p.Item1, ctx, deps), p.Item2, () => Elem(p.Item2, ctx, deps));
            case Expr.Call c when ctx.K is not null && (c.Item1.IsTanh && shape is Shape.Vector || IsSharedCall(e)):
                {
                    // The whole vector at once (tanh by VectorMath.Tanh; a call several terms make, once), then read at k.
                    var v = VecOf(e);
                    deps.Add(v);
                    return L.ArrayIndex(v.Buf, ctx.K);
                }
            case Expr.Call c when Builtins.isElementwise(c.Item1):
                return Builtins.info(c.Item1).Linq!.Value.Invoke(ListModule.OfSeq(c.Item2.Select(x => Elem(x, ctx, deps))));
            case Expr.Call c when c.Item1.IsOuter && ctx.I is not null:
                {
                    var a = VecOf(c.Item2[0]);
                    var b = VecOf(c.Item2[1]);
                    deps.Add(a);
                    deps.Add(b);
                    return L.Multiply(L.ArrayIndex(a.Buf, ctx.I), L.ArrayIndex(b.Buf, ctx.J!));
                }
            case Expr.Call c when c.Item1.IsTranspose && c.Item2[0] is Expr.Sym m && ctx.I is not null:
                {
                    // M is cols × rows of the context: Mᵀ[i, j] = M[j, i]. Read from a snapshot if M is written.
                    var buf = MatrixSource(m.Item, transposed: true, deps);
                    return L.ArrayIndex(buf, L.Add(L.Multiply(ctx.J!, ctx.Rows!), ctx.I));
                }
        }
        if (shape is Shape.Vector && ctx.K is not null)
        {
            var v = VecOf(e);
            deps.Add(v);
            return L.ArrayIndex(v.Buf, ctx.K);
        }
        if (shape is Shape.Matrix && ctx.I is not null)
        {
            var m = MatOf(e);
            deps.Add(m);
            return L.ArrayIndex(m.Buf, L.Add(ctx.RowOff!, ctx.J!));
        }
        throw NotSupported(e, $"cannot be read elementwise as a {shape}");
    }

    /// <summary>The vector-valued elementwise calls that occur more than once among <paramref name="bodies"/>.</summary>
    HashSet<Expr> SharedCalls(IEnumerable<Expr> bodies)
    {
        var count = new Dictionary<Expr, int>();
        void Walk(Expr e)
        {
            if (e is Expr.Call c && Builtins.isElementwise(c.Item1) && ShapeOf(e) is Shape.Vector)
                count[e] = count.GetValueOrDefault(e) + 1;
            foreach (var x in Children(e)) Walk(x);
        }
        foreach (var b in bodies) Walk(b);
        return count.Where(kv => kv.Value > 1).Select(kv => kv.Key).ToHashSet();
    }

    bool IsSharedCall(Expr e) => sharedCalls.Contains(e) && !buildingCalls.Contains(e);

    /// <summary>The operands of a sum, product, power or call (none for a leaf).</summary>
    static IEnumerable<Expr> Children(Expr e) => e switch
    {
        Expr.Add a => a.Item,
        Expr.Mul m => m.Item,
        Expr.Pow p => new[] { p.Item1, p.Item2 },
        Expr.Call c => c.Item2,
        _ => Array.Empty<Expr>(), // not `[]`: beside an F# list C# builds an FSharpList, which a notebook's FSharp.Core may lack
    };

    L SymElem(Symbol s, Ctx ctx, List<Node> deps)
    {
        switch (s.Shape)
        {
            case var sh when sh.IsScalar:
                return scalarLocal.TryGetValue(s.Name, out var p) ? p : throw Unknown(s);
            case Shape.Vector when ctx.K is not null:
                return L.ArrayIndex(ArrayOf(s), ctx.K);
            case Shape.Matrix when ctx.I is not null:
                return L.ArrayIndex(MatrixSource(s, transposed: false, deps), L.Add(ctx.RowOff!, ctx.J!));
        }
        throw NotSupported(Expr.NewSym(s), "a " + s.Shape + " cannot be read here");
    }

    KernelCompileError Unknown(Symbol s) =>
        new($"not supported: {s.Name} in rule {spec.Name}: it is not among the kernel's inputs");

    ParameterExpression ArrayOf(Symbol s)
    {
        if (!arrayLocal.TryGetValue(s.Name, out var p)) throw Unknown(s);
        if (!layout.TryArray(s.Name, out var slot) || !layout.ArraySymbols[slot].Shape.Equals(s.Shape))
            throw new KernelCompileError($"not supported: {s.Name} in rule {spec.Name}: used as a {s.Shape}, declared as a {layout.ArraySymbols[slot].Shape}");
        return p;
    }

    /// <summary>The buffer Phase B reads a matrix input from: the input, or its snapshot when it is
    /// written by another output in this step (or read transposed while written).</summary>
    ParameterExpression MatrixSource(Symbol m, bool transposed, List<Node> deps)
    {
        var arr = ArrayOf(m);
        if (!matrixTargets.Contains(m.Name)) return arr;
        if (inPhaseA || (!transposed && m.Name == currentTarget)) return arr;
        if (!snapshots.TryGetValue(m.Name, out var snap))
        {
            if (!transposed) return arr; // ordered so that every reader runs before the writer
            snap = Snapshot(m);
        }
        deps.Add(snap);
        return snap.Buf;
    }

    MatNode Snapshot(Symbol m)
    {
        if (snapshots.TryGetValue(m.Name, out var s)) return s;
        var (r, c) = MatrixDims(m.Shape);
        var buf = NewScratch("snap_" + m.Name, r, c);
        var node = new MatNode
        {
            Expr = Expr.NewSym(m),
            Buf = buf,
            Rows = r,
            Cols = c,
            Code = L.Call(CopyRow, buf, L.Constant(0), ArrayOf(m), L.Constant(0), L.Multiply(Dim(r), Dim(c))),
            Text = () => $"snapshot of {m.Name} (written in this step, read transposed or in a cycle)",
        };
        created.Add(node);
        snapshots[m.Name] = node;
        return node;
    }

    // ---------------------------------------------------------------- Phase A nodes

    ScalarNode ScalarOf(Expr e)
    {
        if (nodes.TryGetValue(e, out var found)) return (ScalarNode)found;
        var node = new ScalarNode { Expr = e, Local = Local(TT, "s" + nextId++) };
        var deps = node.Deps;
        L value;
        switch (e)
        {
            case Expr.Num or Expr.Sym:
                value = Elem(e, Ctx.Scalar, deps);
                break;
            case Expr.Add a:
                value = a.Item.Select(x => Elem(x, Ctx.Scalar, deps)).Aggregate(L.Add);
                break;
            case Expr.Mul m:
                value = m.Item.Select(x => Elem(x, Ctx.Scalar, deps)).Aggregate(L.Multiply);
                break;
            case Expr.Pow p:
                value = L.Call(PowMethod, Elem(p.Item1, Ctx.Scalar, deps), Elem(p.Item2, Ctx.Scalar, deps));
                break;
            case Expr.Call c when Builtins.isElementwise(c.Item1):
                value = Builtins.info(c.Item1).Linq!.Value.Invoke(ListModule.OfSeq(c.Item2.Select(x => Elem(x, Ctx.Scalar, deps))));
                break;
            case Expr.Call c when c.Item1.IsTranspose:
                value = Elem(c.Item2[0], Ctx.Scalar, deps);
                break;
            case Expr.Call c when (c.Item1.IsDot || c.Item1.IsSumAll) && c.Item2.All(x => !ShapeOf(x).IsScalar):
                {
                    var args = c.Item2.Select(x => FlatOf(x, deps)).ToArray();
                    var n = Length(ShapeOf(c.Item2[0]));
                    value = c.Item1.IsDot
                        ? L.Call(DotRow, args[0], L.Constant(0), args[1], L.Constant(0), n)
                        : L.Call(SumRow, args[0], L.Constant(0), n);
                    break;
                }
            default:
                throw NotSupported(e, "no scalar lowering");
        }
        node.Code = L.Assign(node.Local, value);
        node.Text = () => $"{node.Local.Name} = {Txt(e)}";
        created.Add(node);
        nodes[e] = node;
        return node;
    }

    L Length(Shape s) => s switch
    {
        Shape.Vector v => Dim(v.Item),
        Shape.Matrix m => L.Multiply(Dim(m.rows), Dim(m.cols)),
        _ => L.Constant(1),
    };

    /// <summary>A flat buffer holding a vector or matrix value (input, or computed in Phase A).</summary>
    ParameterExpression FlatOf(Expr e, List<Node> deps)
    {
        if (ShapeOf(e) is Shape.Vector)
        {
            var v = VecOf(e);
            deps.Add(v);
            return v.Buf;
        }
        var m = MatOf(e);
        deps.Add(m);
        return m.Buf;
    }

    VecNode VecOf(Expr e)
    {
        if (nodes.TryGetValue(e, out var found)) return (VecNode)found;
        var dim = VectorDim(ShapeOf(e));
        VecNode node;
        if (e is Expr.Sym s)
        {
            node = new VecNode { Expr = e, Buf = ArrayOf(s.Item), Dim = dim, Text = () => s.Item.Name };
            nodes[e] = node;
            return node; // an input: nothing to compute
        }
        node = new VecNode { Expr = e, Buf = NewScratch("v" + nextId++, dim, null), Dim = dim };
        var deps = node.Deps;
        switch (e)
        {
            case Expr.Call c when c.Item1.IsMatMul && c.Item2.Length > 2:
                {
                    // m1 @ m2 @ … @ v = m1 @ (m2 @ … @ v)
                    var inner = VecOf(Expr.NewCall(Fn.MatMul, c.Item2.Tail));
                    node.Code = MatVecCode(node, c.Item2.Head, inner);
                    break;
                }
            case Expr.Call c when c.Item1.IsMatMul:
                node.Code = MatVecCode(node, c.Item2[0], VecOf(c.Item2[1]));
                break;
            case Expr.Call c when c.Item1.IsSoftmax || c.Item1.IsLogSoftmax:
                {
                    var x = VecOf(c.Item2[0]);
                    deps.Add(x);
                    node.Code = L.Call(c.Item1.IsSoftmax ? Softmax : LogSoftmax, x.Buf, node.Buf, Dim(dim));
                    break;
                }
            case Expr.Call c when c.Item1.IsTanh:
                {
                    var x = VecOf(c.Item2[0]);
                    deps.Add(x);
                    node.Code = L.Call(VecTanh, x.Buf, node.Buf, Dim(dim));
                    break;
                }
            default:
                {
                    var k = Local(typeof(int), "k" + nextId++);
                    var ctx = new Ctx { K = k };
                    buildingCalls.Add(e); // a shared call's own loop evaluates it
                    var scalar = L.Assign(L.ArrayAccess(node.Buf, k), Elem(e, ctx, deps));
                    node.Code = UseLanes && HasLanes(e)
                        ? LaneLoop(k, Dim(dim), Store(Lane(e, k, deps), node.Buf, k), scalar)
                        : For(k, L.Constant(0), Dim(dim), scalar);
                    buildingCalls.Remove(e);
                    break;
                }
        }
        node.Text = () => $"{(e is Expr.Call mv && mv.Item1.IsMatMul ? "matvec " : "")}{node.Buf.Name}[{dim}] = {Txt(e)}";
        created.Add(node);
        nodes[e] = node;
        return node;
    }

    L MatVecCode(VecNode node, Expr m, VecNode v)
    {
        var deps = node.Deps;
        var output = node.Buf;
        deps.Add(v);
        switch (m)
        {
            case Expr.Sym s:
                {
                    var (r, c) = MatrixDims(s.Item.Shape);
                    (node.MvMatrix, node.MvTransposed, node.MvInput) = (s.Item, false, v);
                    return L.Call(MatVec, ArrayOf(s.Item), Dim(r), Dim(c), v.Buf, output);
                }
            case Expr.Call t when t.Item1.IsTranspose && t.Item2[0] is Expr.Sym s:
                {
                    var (r, c) = MatrixDims(s.Item.Shape);
                    (node.MvMatrix, node.MvTransposed, node.MvInput) = (s.Item, true, v);
                    return L.Call(MatTVec, ArrayOf(s.Item), Dim(r), Dim(c), v.Buf, output);
                }
            default:
                {
                    var mat = MatOf(m);
                    deps.Add(mat);
                    return L.Call(MatVec, mat.Buf, Dim(mat.Rows), Dim(mat.Cols), v.Buf, output);
                }
        }
    }

    MatNode MatOf(Expr e)
    {
        if (nodes.TryGetValue(e, out var found)) return (MatNode)found;
        var (rows, cols) = MatrixDims(ShapeOf(e));
        MatNode node;
        if (e is Expr.Sym s)
        {
            node = new MatNode { Expr = e, Buf = ArrayOf(s.Item), Rows = rows, Cols = cols, Text = () => s.Item.Name };
            nodes[e] = node;
            return node;
        }
        node = new MatNode { Expr = e, Buf = NewScratch("m" + nextId++, rows, cols), Rows = rows, Cols = cols };
        var deps = node.Deps;
        if (e is Expr.Call c && c.Item1.IsMatMul && c.Item2.All(x => ShapeOf(x) is Shape.Matrix))
        {
            // Dense: (… (A @ B) @ C …), each product O(n³); reported.
            var left = c.Item2.Length > 2 ? MatOf(Expr.NewCall(Fn.MatMul, ListModule.OfSeq(c.Item2.Take(c.Item2.Length - 1)))) : MatOf(c.Item2[0]);
            var right = MatOf(c.Item2[c.Item2.Length - 1]);
            deps.Add(left);
            deps.Add(right);
            node.Code = L.Call(MatMul, left.Buf, right.Buf, node.Buf, Dim(left.Rows), Dim(left.Cols), Dim(right.Cols));
        }
        else
        {
            var i = Local(typeof(int), "i" + nextId++);
            var j = Local(typeof(int), "j" + nextId++);
            var off = Local(typeof(int), "off" + nextId++);
            var ctx = new Ctx { I = i, J = j, RowOff = off, Rows = Dim(rows), Cols = Dim(cols) };
            var saved = inPhaseA;
            inPhaseA = true; // Phase A reads happen before any write: no snapshot needed
            var value = Elem(e, ctx, deps);
            inPhaseA = saved;
            node.Code = For(i, L.Constant(0), Dim(rows), L.Block(
                L.Assign(off, L.Multiply(i, Dim(cols))),
                For(j, L.Constant(0), Dim(cols), L.Assign(L.ArrayAccess(node.Buf, L.Add(off, j)), value))));
        }
        node.Text = () => $"{node.Buf.Name}[{rows}×{cols}] = {Txt(e)}";
        created.Add(node);
        nodes[e] = node;
        return node;
    }
}
