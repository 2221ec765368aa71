using System.Linq.Expressions;
using System.Numerics;
using System.Reflection;
using Microsoft.FSharp.Collections;
using RuleDsl.Symbolic;
using L = System.Linq.Expressions.Expression;

namespace RuleDsl.Runtime.Kernels.Compiler;

/// <summary>
/// Builds the expression tree of one kernel. The generated code has two phases:
/// <list type="bullet">
/// <item>Phase A (preamble): every scalar and vector the step needs, once (common subexpressions share
/// one node, keyed by structural equality of Expr): reductions, matrix–vector products, softmax,
/// elementwise vectors into scratch buffers. A node used only by terms whose scalar coefficient has a
/// zero "cheap" part (θ_r = 0, a zero direction component) is not computed: it runs under a guard.</item>
/// <item>Phase B: one loop over the rows of each matrix shape; in each row, every matrix output is
/// written once (RowOps.Combine of its active sources: rank-one groups chosen by a minimum vertex
/// cover of left/right vectors, scaled rows of other matrices, its own old row), other elementwise
/// terms as a generated loop; then the vector outputs in one loop per dimension, then the scalars.</item>
/// </list>
/// All reads in a step see the values from before the step: outputs that read another output's
/// target run first, a target read transposed (or in a cycle) is read from a snapshot.
/// </summary>
internal sealed class KernelBuilder<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    static readonly Type TT = typeof(T);
    static readonly MethodInfo PowMethod = typeof(RuleDsl.Symbolic.Kernels).GetMethod("Pow", [TT, TT])!;

    static MethodInfo Op(string name) => typeof(RowOps<T>).GetMethod(name)!;
    static readonly MethodInfo Axpy = Op("Axpy"), AddRow = Op("Add"), CopyRow = Op("Copy"),
        ClearRow = Op("Clear"), DotRow = Op("Dot"), Dots = Op("Dots"), SumRow = Op("Sum"), MatVec = Op("MatVec"), MatTVec = Op("MatTVec"),
        MatMul = Op("MatMul"), CombineRow = Op("Combine"), Softmax = Op("Softmax"), LogSoftmax = Op("LogSoftmax");

    readonly KernelSpec spec;
    readonly KernelLayout layout = new();
    readonly ParameterExpression pScalars = L.Parameter(typeof(T[]), "scalars");
    readonly ParameterExpression pArrays = L.Parameter(typeof(T[][]), "arrays");
    readonly ParameterExpression pSizes = L.Parameter(typeof(int[]), "sizes");
    readonly ParameterExpression pScratch = L.Parameter(typeof(T[][]), "scratch");
    // The active sources of one output row, handed to RowOps.Combine.
    readonly ParameterExpression pRowSources = L.Parameter(typeof(T[][]), "rowSources");
    readonly ParameterExpression pRowOffsets = L.Parameter(typeof(int[]), "rowOffsets");
    readonly ParameterExpression pRowCoefs = L.Parameter(typeof(T[]), "rowCoefs");
    readonly ParameterExpression count = L.Variable(typeof(int), "count");
    int maxSources;
    int nextId;
    readonly List<ParameterExpression> locals = [];
    readonly List<L> prologue = [];
    readonly Dictionary<string, ParameterExpression> scalarLocal = [];
    readonly Dictionary<string, ParameterExpression> arrayLocal = [];
    readonly Dictionary<string, ParameterExpression> dimLocal = [];
    readonly List<ScratchSize> scratch = [];
    readonly Dictionary<Expr, Node> nodes = [];
    readonly List<Node> created = [];
    readonly Dictionary<Expr, Guard> guards = [];
    readonly Dictionary<string, MatNode> snapshots = [];
    readonly HashSet<string> matrixTargets = [];
    // Plan lines are printed only when asked for (Print.text is slow on large expressions).
    readonly List<Func<string>> plan = [];
    readonly List<string> dense = [];
    // While generating an output's code: its target (self reads are not redirected to a snapshot).
    string? currentTarget;
    bool inPhaseA;

    public KernelBuilder(KernelSpec spec) => this.spec = spec;

    public sealed record Result(Expression<Action<T[], T[][], int[], T[][], T[][], int[], T[]>> Lambda, KernelLayout Layout,
        ScratchSize[] Scratch, int[] RequiredArrays, IReadOnlyList<string> DenseProducts, Func<string> Plan, int MaxRowSources);

    // ---------------------------------------------------------------- nodes

    abstract class Node
    {
        public required Expr Expr;
        public readonly List<Node> Deps = [];
        /// <summary>Nodes that must be computed first but whose need is not implied by this node's
        /// (a combination of guarded terms: each part is needed only under its own guard).</summary>
        public readonly List<Node> After = [];
        public bool Always;
        public readonly HashSet<Guard> When = [];
        public L? Code;
        public Func<string> Text = () => "";
    }

    sealed class ScalarNode : Node { public required ParameterExpression Local; }
    sealed class VecNode : Node
    {
        public required ParameterExpression Buf;
        public required string Dim;
        /// <summary>For M @ x (or Mᵀ @ x) with M a matrix input: fused with the other products on M.</summary>
        public Symbol? MvMatrix;
        public bool MvTransposed;
        public VecNode? MvInput;
    }
    sealed class MatNode : Node { public required ParameterExpression Buf; public required string Rows, Cols; }

    sealed class Guard
    {
        public required Expr Expr;
        public required ScalarNode Value;
        public required ParameterExpression Flag;
    }

    sealed class Ctx
    {
        public static readonly Ctx Scalar = new();
        public ParameterExpression? K, I, J;
        public L? RowOff;
        public ParameterExpression? Rows, Cols;
    }

    static void Mark(Node n, Guard? g)
    {
        if (g is null)
        {
            if (n.Always) return;
            n.Always = true;
        }
        else if (n.Always || !n.When.Add(g)) return;
        foreach (var d in n.Deps) Mark(d, g);
    }

    static void Require(IEnumerable<Node> deps, Guard? g)
    {
        foreach (var d in deps) Mark(d, g);
    }

    // ---------------------------------------------------------------- helpers

    KernelCompileError NotSupported(Expr e, string why) =>
        new($"not supported: {Txt(e)} in rule {spec.Name}: {why}");

    static L Const(double v) => L.Constant(TT == typeof(float) ? (object)(float)v : v, TT);
    static readonly L Zero = Const(0.0), One = Const(1.0);

    ParameterExpression Local(Type t, string name)
    {
        var p = L.Variable(t, name);
        locals.Add(p);
        return p;
    }

    static L For(ParameterExpression v, L from, L to, L body)
    {
        var brk = L.Label("end_" + v.Name);
        return L.Block(
            L.Assign(v, from),
            L.Loop(L.IfThenElse(L.LessThan(v, to), L.Block(body, L.PreIncrementAssign(v)), L.Break(brk)), brk));
    }

    ParameterExpression Dim(string d) =>
        dimLocal.TryGetValue(d, out var p) ? p : throw new KernelCompileError($"dimension {d} is not bound by any input (rule {spec.Name})");

    ParameterExpression? dotsScratch;

    /// <summary>Four elements for <see cref="RowOps{T}.Dots"/> results (one per kernel).</summary>
    ParameterExpression DotsScratch()
    {
        if (dotsScratch is not null) return dotsScratch;
        dotsScratch = Local(typeof(T[]), "dots");
        prologue.Add(L.Assign(dotsScratch, L.ArrayIndex(pScratch, L.Constant(scratch.Count))));
        scratch.Add(new ScratchSize(-1, -1, 4));
        return dotsScratch;
    }

    /// <summary>Dot products (matrix row, vector) four at a time (bit-identical to one Dot each): each
    /// result handed to <paramref name="store"/> with its index.</summary>
    List<L> DotsCode(IReadOnlyList<(L Matrix, L Off, L Vector)> chains, L n, Func<int, L, L> store)
    {
        var code = new List<L>();
        var res = DotsScratch();
        for (int at = 0; at < chains.Count; at += 4)
        {
            int count = Math.Min(4, chains.Count - at);
            var args = new List<L>();
            for (int k = 0; k < 4; k++)
            {
                var c = chains[at + Math.Min(k, count - 1)];
                args.Add(c.Matrix); args.Add(c.Off); args.Add(c.Vector);
            }
            args.Add(L.Constant(count)); args.Add(n); args.Add(res);
            code.Add(L.Call(Dots, args));
            for (int k = 0; k < count; k++) code.Add(store(at + k, L.ArrayIndex(res, L.Constant(k))));
        }
        return code;
    }

    ParameterExpression NewScratch(string name, string? dimA, string? dimB)
    {
        var size = new ScratchSize(dimA is null ? -1 : layout.DimSlot(dimA), dimB is null ? -1 : layout.DimSlot(dimB));
        var local = Local(typeof(T[]), name);
        prologue.Add(L.Assign(local, L.ArrayIndex(pScratch, L.Constant(scratch.Count))));
        scratch.Add(size);
        return local;
    }

    static Shape ShapeOf(Expr e) => Typing.shapeOf(e);

    static (string Rows, string Cols) MatrixDims(Shape s) =>
        s is Shape.Matrix m ? (m.rows, m.cols) : throw new InvalidOperationException($"{s} is not a matrix");

    static string VectorDim(Shape s) =>
        s is Shape.Vector v ? v.Item : throw new InvalidOperationException($"{s} is not a vector");

    /// <summary>Print.text on one line (plans and messages are line oriented).</summary>
    static string Txt(Expr e) => string.Join(" ", Print.Text(e).Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries));

    static Expr MulOf(IReadOnlyList<Expr> fs) => fs.Count == 1 ? fs[0] : Expr.NewMul(ListModule.OfSeq(fs));

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
                return L.Call(PowMethod, Elem(p.Item1, ctx, deps), Elem(p.Item2, ctx, deps));
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
            default:
                {
                    var k = Local(typeof(int), "k" + nextId++);
                    var ctx = new Ctx { K = k };
                    node.Code = For(k, L.Constant(0), Dim(dim), L.Assign(L.ArrayAccess(node.Buf, k), Elem(e, ctx, deps)));
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

    // ---------------------------------------------------------------- terms and guards

    enum TermKind { RankOne, MatrixRow, General }

    sealed class Term
    {
        public required TermFactors F;
        public Guard? Guard;
        /// <summary>The whole scalar coefficient (null: 1).</summary>
        public L? Coef;
        public VecNode? Left, Right;
        public TermKind Kind;
        /// <summary>For MatrixRow: the matrix input whose row is added.</summary>
        public Symbol? Matrix;
        public readonly List<Node> Deps = [];
        public bool ReadsOwnTarget;
    }

    sealed class Output
    {
        public required KernelOutput Spec;
        public required Expr Lowered;
        public required bool Accumulate;
        public required ParameterExpression Target;
        public readonly List<Term> Terms = [];
        /// <summary>Matrix targets (other than its own) this output reads aligned in Phase B.</summary>
        public readonly HashSet<string> Reads = [];
    }

    Guard? GuardOf(IReadOnlyList<Expr> cheap)
    {
        var nonNum = cheap.Where(x => !x.IsNum).ToList();
        if (nonNum.Count == 0) return null;
        var key = MulOf(cheap);
        if (guards.TryGetValue(key, out var g)) return g;
        var value = ScalarOf(key);
        g = new Guard { Expr = key, Value = value, Flag = Local(typeof(bool), "g" + guards.Count) };
        guards[key] = g;
        Mark(value, null);
        return g;
    }

    Term MakeTerm(Expr term, Output o)
    {
        var f = Lower.factors(term);
        var t = new Term { F = f };
        var scalars = f.Scalars.ToList();
        var cheap = scalars.Where(Lower.isCheapScalar).ToList();
        t.Guard = GuardOf(cheap);
        if (scalars.Count == 1 && scalars[0] is Expr.Num n) t.Coef = Const(n.Item);
        else if (scalars.Count > 0)
        {
            var sn = ScalarOf(MulOf(scalars));
            t.Deps.Add(sn);
            t.Coef = sn.Local;
        }
        if (f.Left is not null) t.Deps.Add(t.Left = VecOf(f.Left.Value));
        if (f.Right is not null) t.Deps.Add(t.Right = VecOf(f.Right.Value));
        var body = f.Body?.Value;
        if (o.Spec.Target.Shape is Shape.Matrix)
        {
            if (body is null && t.Right is not null) t.Kind = TermKind.RankOne;
            else if (body is Expr.Sym m && t.Right is null && m.Item.Shape is Shape.Matrix)
            {
                t.Kind = TermKind.MatrixRow;
                t.Matrix = m.Item;
            }
            else t.Kind = TermKind.General;
            if (body is not null)
            {
                foreach (var (name, transposed) in MatrixLeaves(body))
                {
                    if (!matrixTargets.Contains(name)) continue;
                    if (transposed) Snapshot(FindSymbol(name));
                    else if (name == o.Spec.Target.Name) t.ReadsOwnTarget = true;
                    else o.Reads.Add(name);
                }
            }
        }
        else t.Kind = TermKind.General;
        return t;
    }

    Symbol FindSymbol(string name) => layout.ArraySymbols.First(s => s.Name == name);

    /// <summary>Matrix symbols read elementwise (in Phase B) by a matrix expression.</summary>
    static IEnumerable<(string Name, bool Transposed)> MatrixLeaves(Expr e)
    {
        switch (e)
        {
            case Expr.Sym s when s.Item.Shape is Shape.Matrix:
                yield return (s.Item.Name, false);
                break;
            case Expr.Call c when c.Item1.IsTranspose && c.Item2[0] is Expr.Sym s:
                yield return (s.Item.Name, true);
                break;
            case Expr.Add or Expr.Mul or Expr.Pow or Expr.Call:
                if (e is Expr.Call call && !Builtins.isElementwise(call.Item1)) break;
                IEnumerable<Expr> kids = e switch
                {
                    Expr.Add a => a.Item,
                    Expr.Mul m => m.Item,
                    Expr.Pow p => [p.Item1, p.Item2],
                    Expr.Call c => c.Item2,
                    _ => [],
                };
                foreach (var k in kids)
                    foreach (var x in MatrixLeaves(k)) yield return x;
                break;
        }
    }

    // ---------------------------------------------------------------- build

    public Result Build()
    {
        // Layout: inputs, then output targets that are not inputs.
        var inputNames = new HashSet<string>();
        foreach (var s in spec.Inputs)
        {
            CheckSymbol(s);
            inputNames.Add(s.Name);
            layout.Add(s);
        }
        var targets = new HashSet<string>();
        foreach (var o in spec.Outputs)
        {
            CheckSymbol(o.Target);
            if (!targets.Add(o.Target.Name))
                throw new KernelCompileError($"two outputs of rule {spec.Name} write {o.Target.Name}");
            layout.Add(o.Target);
            if (o.Target.Shape is Shape.Matrix) matrixTargets.Add(o.Target.Name);
        }
        foreach (var p in spec.RowProducts)
        {
            CheckSymbol(p.Output);
            var shape0 = p.Terms[0].Matrix.Shape;
            if (p.Output.Shape is not Shape.Vector ov || shape0 is not Shape.Matrix m0 || ov.Item != m0.rows)
                throw new KernelCompileError($"not supported: row product {p.Output.Name} in rule {spec.Name}: it must be a vector over the rows of its matrices");
            if (targets.Contains(p.Output.Name) || inputNames.Contains(p.Output.Name))
                throw new KernelCompileError($"not supported: row product {p.Output.Name} in rule {spec.Name}: its output is also an input or output of the kernel");
            foreach (var (m, v) in p.Terms)
            {
                if (!matrixTargets.Contains(m.Name) || !m.Shape.Equals(shape0))
                    throw new KernelCompileError($"not supported: row product {p.Output.Name} in rule {spec.Name}: {m.Name} is not a matrix output of the kernel of shape {shape0}");
                if (v.Shape is not Shape.Vector vv || vv.Item != m0.cols || targets.Contains(v.Name))
                    throw new KernelCompileError($"not supported: row product {p.Output.Name} in rule {spec.Name}: {v.Name} must be an input vector over {m0.cols}");
                CheckSymbol(v);
                layout.Add(v);
            }
            layout.Add(p.Output);
        }
        for (int d = 0; d < layout.Dims.Count; d++)
        {
            var p = Local(typeof(int), "n_" + layout.Dims[d]);
            prologue.Add(L.Assign(p, L.ArrayIndex(pSizes, L.Constant(d))));
            dimLocal[layout.Dims[d]] = p;
        }
        for (int k = 0; k < layout.ScalarSymbols.Count; k++)
        {
            var s = layout.ScalarSymbols[k];
            var p = Local(TT, "in_" + s.Name);
            prologue.Add(L.Assign(p, L.ArrayIndex(pScalars, L.Constant(k))));
            scalarLocal[s.Name] = p;
        }
        for (int k = 0; k < layout.ArraySymbols.Count; k++)
        {
            var s = layout.ArraySymbols[k];
            var p = Local(typeof(T[]), "in_" + s.Name);
            prologue.Add(L.Assign(p, L.ArrayIndex(pArrays, L.Constant(k))));
            arrayLocal[s.Name] = p;
        }

        // Lower and check every output.
        var outputs = new List<Output>();
        foreach (var o in spec.Outputs)
        {
            foreach (var s in ExprModule.symbols(o.Value))
                if (!layout.TryScalar(s.Name, out _) && !layout.TryArray(s.Name, out _))
                    throw new KernelCompileError($"not supported: {s.Name} in rule {spec.Name}: it is not among the kernel's inputs");
            var check = Typing.check(o.Value);
            if (check.IsError)
                throw new KernelCompileError($"not supported: {Txt(o.Value)} in rule {spec.Name}: {check.ErrorValue}");
            var valueShape = check.ResultValue;
            if (!valueShape.Equals(o.Target.Shape) && !valueShape.IsScalar)
                throw new KernelCompileError($"not supported: {Txt(o.Value)} in rule {spec.Name}: it is a {valueShape}, its target {o.Target.Name} a {o.Target.Shape}");
            var lowered = Lower.lower(o.Value);
            var accumulate = o.Accumulate;
            // T ← T + rest is T += rest (and needs no second copy of T).
            if (!accumulate)
            {
                var ts = Lower.terms(lowered).ToList();
                var self = Expr.NewSym(o.Target);
                int at = ts.FindIndex(x => x.Equals(self));
                if (at >= 0 && ts.Count(x => x.Equals(self)) == 1)
                {
                    ts.RemoveAt(at);
                    accumulate = true;
                    lowered = ts.Count switch
                    {
                        0 => Expr.NewNum(0.0),
                        1 => ts[0],
                        _ => Expr.NewAdd(ListModule.OfSeq(ts)),
                    };
                }
            }
            // A scalar value broadcast to a vector/matrix target stays scalar-shaped; its terms still work.
            outputs.Add(new Output { Spec = o, Lowered = lowered, Accumulate = accumulate, Target = arrayLocal.GetValueOrDefault(o.Target.Name) ?? scalarLocal[o.Target.Name] });
        }

        // Terms (creates the Phase A nodes they need, and the guards).
        foreach (var o in outputs)
        {
            currentTarget = o.Spec.Target.Name;
            foreach (var term in Lower.terms(o.Lowered))
            {
                if (term.Equals(Expr.NewNum(0.0))) continue;
                if (term is Expr.Mul m && m.Item.Any(x => x.Equals(Expr.NewNum(0.0)))) continue;
                o.Terms.Add(MakeTerm(term, o));
            }
            currentTarget = null;
        }

        var phaseB = new List<L>();
        // Matrix outputs, grouped by shape: one pass over the rows.
        foreach (var group in outputs.Where(o => o.Spec.Target.Shape is Shape.Matrix).GroupBy(o => o.Spec.Target.Shape))
            phaseB.Add(MatrixGroup(group.ToList()));
        // Vector outputs, one loop per dimension.
        foreach (var group in outputs.Where(o => o.Spec.Target.Shape is Shape.Vector).GroupBy(o => o.Spec.Target.Shape))
            phaseB.Add(VectorGroup(group.ToList()));
        // Scalar outputs.
        foreach (var o in outputs.Where(o => o.Spec.Target.Shape.IsScalar))
            phaseB.Add(ScalarOutput(o));

        // Phase A: guards first (cheap scalars only), then every needed node in creation order.
        var phaseA = new List<L>();
        var emitted = new HashSet<Node>();
        static bool Needed(Node n) => n.Always || n.When.Count > 0;
        string CondText(Node n) => n.Always ? "" : $"if {string.Join(" || ", n.When.Select(g => g.Flag.Name))}: ";
        void Emit(Node n)
        {
            if (emitted.Contains(n) || n.Code is null || !Needed(n)) return;
            if (n is VecNode { MvMatrix: not null } mv && EmitFusedMatVecs(mv)) return;
            emitted.Add(n);
            foreach (var d in n.Deps.Concat(n.After)) Emit(d);
            var cond = Condition(n);
            phaseA.Add(cond is null ? n.Code : L.IfThen(cond, n.Code));
            plan.Add(() => "  " + CondText(n) + n.Text());
        }
        // All needed products on the same matrix input in one pass over its rows (each row is read
        // once and used by every product while in L1). Products whose input needs another of them
        // (W'(W x)) are left out and run after.
        bool EmitFusedMatVecs(VecNode n)
        {
            // n's input first; then every other needed product on the same matrix whose input is
            // already computed joins (greedy, so an input that needs one of them is never waited for).
            Emit(n.MvInput!);
            if (emitted.Contains(n)) return true;
            bool Ready(Node x) => x.Code is null || emitted.Contains(x);
            var members = created.OfType<VecNode>()
                .Where(v => v.MvMatrix is not null && v.MvMatrix.Name == n.MvMatrix!.Name && Needed(v)
                            && !emitted.Contains(v) && Ready(v.MvInput!))
                .ToList();
            if (members.Count < 2) return false;
            foreach (var v in members) emitted.Add(v);
            phaseA.Add(FusedMatVecs(n.MvMatrix!, members));
            plan.Add(() => $"  one pass over the rows of {n.MvMatrix!.Name}:");
            foreach (var v in members) plan.Add(() => "    " + CondText(v) + v.Text());
            return true;
        }
        plan.Insert(0, () => $"kernel {spec.Name}\nphase A");
        foreach (var g in guards.Values)
        {
            Emit(g.Value);
            phaseA.Add(L.Assign(g.Flag, L.NotEqual(g.Value.Local, Zero)));
            plan.Add(() => $"  {g.Flag.Name} = {Txt(g.Expr)} ≠ 0");
        }
        foreach (var n in created) Emit(n);
        plan.AddRange(phasePlan);

        locals.Add(count);
        var all = new List<L>(prologue);
        all.AddRange(phaseA);
        all.AddRange(phaseB);
        all.Add(L.Empty());
        var lambda = L.Lambda<Action<T[], T[][], int[], T[][], T[][], int[], T[]>>(L.Block(locals, all), "step_" + spec.Name,
            [pScalars, pArrays, pSizes, pScratch, pRowSources, pRowOffsets, pRowCoefs]);
        var required = Enumerable.Range(0, layout.ArraySymbols.Count).ToArray();
        foreach (var o in outputs)
            foreach (var d in Lower.denseProducts(o.Lowered))
            {
                var text = Txt(d);
                if (!dense.Contains(text)) dense.Add(text);
            }
        return new Result(lambda, layout, scratch.ToArray(), required, dense, Lines(plan), maxSources);
    }

    void CheckSymbol(Symbol s)
    {
        foreach (var other in spec.Inputs.Concat(spec.Outputs.Select(o => o.Target)))
            if (other.Name == s.Name && !other.Shape.Equals(s.Shape))
                throw new KernelCompileError($"not supported: {s.Name} in rule {spec.Name}: declared both as a {s.Shape} and as a {other.Shape}");
    }

    L FusedMatVecs(Symbol m, List<VecNode> members)
    {
        var (rows, cols) = MatrixDims(m.Shape);
        var M = ArrayOf(m);
        var R = Dim(rows);
        var C = Dim(cols);
        var code = new List<L>();
        var needs = new List<ParameterExpression?>();
        foreach (var v in members)
        {
            var cond = Condition(v);
            if (cond is null) { needs.Add(null); continue; }
            var flag = Local(typeof(bool), "need" + locals.Count);
            code.Add(L.Assign(flag, cond));
            needs.Add(flag);
        }
        // Mᵀx accumulates row by row into a cleared output.
        for (int k = 0; k < members.Count; k++)
            if (members[k].MvTransposed)
                code.Add(IfMaybe(needs[k], L.Call(ClearRow, members[k].Buf, L.Constant(0), C)));
        var i = Local(typeof(int), "mvrow" + locals.Count);
        var off = Local(typeof(int), "mvoff" + locals.Count);
        var row = new List<L> { L.Assign(off, L.Multiply(i, C)) };
        // Unconditional row-order products: several dots per call, their add chains overlapping.
        var plain = Enumerable.Range(0, members.Count).Where(k => needs[k] is null && !members[k].MvTransposed).ToList();
        if (plain.Count >= 2)
            row.AddRange(DotsCode(plain.Select(k => ((L)M, (L)off, (L)members[k].MvInput!.Buf)).ToList(), C,
                (at, value) => L.Assign(L.ArrayAccess(members[plain[at]].Buf, i), value)));
        else plain.Clear();
        for (int k = 0; k < members.Count; k++)
        {
            if (plain.Contains(k)) continue;
            var v = members[k];
            var x = v.MvInput!.Buf;
            row.Add(IfMaybe(needs[k], v.MvTransposed
                ? L.Call(Axpy, v.Buf, L.Constant(0), L.ArrayIndex(x, i), M, off, C)
                : L.Assign(L.ArrayAccess(v.Buf, i), L.Call(DotRow, M, off, x, L.Constant(0), C))));
        }
        code.Add(For(i, L.Constant(0), R, L.Block(row)));
        return L.Block(code);
    }

    static Func<string> Lines(List<Func<string>> lines) => () => string.Join("\n", lines.Select(f => f()));

    static L? Condition(Node n) =>
        n.Always ? null : n.When.Select(g => (L)g.Flag).Aggregate(L.OrElse);

    static L? GuardCondition(IEnumerable<Guard?> gs)
    {
        var list = gs.ToList();
        if (list.Count == 0 || list.Any(g => g is null)) return null;
        return list.Distinct().Select(g => (L)g!.Flag).Aggregate(L.OrElse);
    }

    static L IfMaybe(L? cond, L body) => cond is null ? body : L.IfThen(cond, body);

    readonly List<Func<string>> phasePlan = [];

    // ---------------------------------------------------------------- Phase B

    /// <summary>c(i) = coefficient · Left[i] of a term, or 0 when its guard is off.</summary>
    L RowCoefficient(Term t, ParameterExpression i)
    {
        L c = t.Coef ?? One;
        if (t.Left is not null) c = t.Coef is null ? L.ArrayIndex(t.Left.Buf, i) : L.Multiply(c, L.ArrayIndex(t.Left.Buf, i));
        return t.Guard is null ? c : L.Condition(t.Guard.Flag, c, Zero);
    }

    L GroupCoefficient(IEnumerable<Term> ts, ParameterExpression i) =>
        ts.Select(t => RowCoefficient(t, i)).Aggregate(L.Add);

    L MatrixGroup(List<Output> group)
    {
        var (rows, cols) = MatrixDims(group[0].Spec.Target.Shape);
        var targets = group.Select(o => o.Spec.Target.Name).ToHashSet();

        // Readers of a target run before its writer; a cycle is broken with a snapshot.
        var order = new List<Output>();
        var remaining = new List<Output>(group);
        while (remaining.Count > 0)
        {
            var ready = remaining.FirstOrDefault(p => !remaining.Any(o => o != p && o.Reads.Contains(p.Spec.Target.Name) && !snapshots.ContainsKey(p.Spec.Target.Name)));
            if (ready is null)
            {
                var victim = remaining.First(p => remaining.Any(o => o != p && o.Reads.Contains(p.Spec.Target.Name)));
                Snapshot(victim.Spec.Target);
                continue;
            }
            order.Add(ready);
            remaining.Remove(ready);
        }
        // Now that snapshots are known, mark each aligned cross read of a snapshotted target.
        var i = Local(typeof(int), "row");
        var off = Local(typeof(int), "rowoff");
        var R = Dim(rows);
        var C = Dim(cols);
        var rowBody = new List<L> { L.Assign(off, L.Multiply(i, C)) };
        phasePlan.Add(() => $"phase B: for each row i of {rows}×{cols}:");
        foreach (var o in order)
        {
            currentTarget = o.Spec.Target.Name;
            rowBody.Add(OutputRow(o, i, off, R, C));
            currentTarget = null;
        }
        // Products with the rows just written (still in cache): the next sample's forward pass.
        var products = spec.RowProducts.Where(p => p.Terms.All(t => targets.Contains(t.Matrix.Name))).ToList();
        if (products.Count > 0)
        {
            // Every dot of every product, four per call; then each product's terms summed in order.
            var chains = products.SelectMany(p => p.Terms).Select(t => ((L)arrayLocal[t.Matrix.Name], (L)off, (L)arrayLocal[t.Vector.Name])).ToList();
            var dotLocals = chains.Select((_, k) => Local(TT, "rowdot" + k)).ToList();
            rowBody.AddRange(DotsCode(chains, C, (k, value) => L.Assign(dotLocals[k], value)));
            int next = 0;
            foreach (var p in products)
            {
                L sum = dotLocals[next++];
                for (int t = 1; t < p.Terms.Count; t++) sum = L.Add(sum, dotLocals[next++]);
                rowBody.Add(L.Assign(L.ArrayAccess(arrayLocal[p.Output.Name], i), sum));
                phasePlan.Add(() => $"  then {p.Output.Name}[i] = {string.Join(" + ", p.Terms.Select(t => $"{t.Matrix.Name}[i, :] · {t.Vector.Name}"))} (the rows as written)");
            }
        }
        return For(i, L.Constant(0), R, L.Block(rowBody));
    }

    L OutputRow(Output o, ParameterExpression i, ParameterExpression off, ParameterExpression R, ParameterExpression C)
    {
        var dst = o.Target;
        var code = new List<L>();
        var self = o.Terms.Where(t => t.ReadsOwnTarget).ToList();
        var rest = o.Terms.Where(t => !t.ReadsOwnTarget).ToList();
        bool assign = !o.Accumulate;
        var ctxPlan = new List<Func<string>>();
        ctxPlan.Add(() => $"  {o.Spec.Target.Name} {(assign ? "=" : "+=")} ({o.Spec.Label}), in one pass over the row:");

        // The row is written once: dst = keep·dst + Σ (active sources), by RowOps.Combine.
        L readDst = L.Constant(!assign);
        L keep = One;
        // 1. Terms that read the target itself see the old row.
        if (self.Count > 0 && self.All(t => t.Kind == TermKind.MatrixRow))
        {
            // Only c(i)·T[i, :] terms: folded into keep = 1 + Σc (accumulate) or Σc (assign).
            foreach (var t in self) Require(t.Deps, t.Guard);
            var c = GroupCoefficient(self, i);
            keep = assign ? c : L.Add(One, c);
            if (assign) readDst = GuardCondition(self.Select(t => t.Guard)) ?? L.Constant(true);
            ctxPlan.Add(() => $"    keep {(assign ? "" : "1 + ")}Σ {string.Join(", ", self.Select(TermText))}");
        }
        else if (self.Count > 0)
        {
            // Elementwise terms of the old row: into a row buffer, committed before the rest.
            var acc = NewScratch("acc_" + o.Spec.Target.Name, VectorDimOfCols(o), null);
            var inner = new List<L> { L.Call(ClearRow, acc, L.Constant(0), C) };
            foreach (var t in self) inner.Add(TermRow(t, acc, L.Constant(0), i, off, R, C));
            inner.Add(assign ? L.Call(CopyRow, dst, off, acc, L.Constant(0), C) : L.Call(AddRow, dst, off, acc, L.Constant(0), C));
            var cond = GuardCondition(self.Select(t => t.Guard));
            var block = L.Block(inner);
            code.Add(cond is null ? block : assign ? L.IfThenElse(cond, block, L.Call(ClearRow, dst, off, C)) : L.IfThen(cond, block));
            readDst = L.Constant(true);
            ctxPlan.Add(() => $"    first via a row buffer (they read the old row): {string.Join(", ", self.Select(TermText))}");
        }

        var sources = new List<(L? Cond, L Coef, L Buf, L Off)>();
        // 2. Rank-one terms Σ_t c_t a_t[i] b_t[j]. A group shares a right vector b (row coefficient
        //    Σ c_t a_t[i]) or a left vector a (right vector Σ c_t b_t, made in Phase A); the groups are
        //    a minimum vertex cover of the (a, b) graph, so as few sources as possible.
        var (byLeft, byRight) = CoverRankOne(rest.Where(t => t.Kind == TermKind.RankOne).ToList());
        foreach (var (a, grp) in byLeft)
        {
            foreach (var t in grp) Require(t.Deps, t.Guard);
            var combined = Combination(grp, o);
            sources.Add((GuardCondition(grp.Select(t => t.Guard)), L.ArrayIndex(a.Buf, i), combined.Buf, L.Constant(0)));
            ctxPlan.Add(() => $"    {Txt(a.Expr)}[i] · {combined.Buf.Name}: {string.Join(", ", grp.Select(TermText))}");
        }
        foreach (var (b, grp) in byRight)
        {
            foreach (var t in grp) Require(t.Deps, t.Guard);
            sources.Add((GuardCondition(grp.Select(t => t.Guard)), GroupCoefficient(grp, i), b.Buf, L.Constant(0)));
            ctxPlan.Add(() => $"    c(i) · {Txt(b.Expr)}: {string.Join(", ", grp.Select(TermText))}");
        }
        // 3. Scaled rows of other matrices, grouped by matrix.
        foreach (var grp in rest.Where(t => t.Kind == TermKind.MatrixRow).GroupBy(t => t.Matrix!.Name))
        {
            var deps = new List<Node>();
            var src = MatrixSource(grp.First().Matrix!, transposed: false, deps);
            foreach (var t in grp) Require(t.Deps.Concat(deps), t.Guard);
            sources.Add((GuardCondition(grp.Select(t => t.Guard)), GroupCoefficient(grp, i), src, off));
            ctxPlan.Add(() => $"    c(i) · row of {grp.Key}: {string.Join(", ", grp.Select(TermText))}");
        }
        maxSources = Math.Max(maxSources, sources.Count);
        code.Add(L.Assign(count, L.Constant(0)));
        foreach (var (cond, coef, buf, srcOff) in sources)
            code.Add(IfMaybe(cond, L.Block(
                L.Assign(L.ArrayAccess(pRowCoefs, count), coef),
                L.Assign(L.ArrayAccess(pRowSources, count), buf),
                L.Assign(L.ArrayAccess(pRowOffsets, count), srcOff),
                L.PreIncrementAssign(count))));
        code.Add(L.Call(CombineRow, dst, off, readDst, keep, pRowSources, pRowOffsets, pRowCoefs, count, C));
        // 4. Anything else elementwise: a generated loop per term (reads no target row it writes).
        foreach (var t in rest.Where(t => t.Kind == TermKind.General))
        {
            code.Add(TermRow(t, dst, off, i, off, R, C));
            ctxPlan.Add(() => $"    then loop: {TermText(t)}");
        }
        phasePlan.AddRange(ctxPlan);
        return L.Block(code);
    }

    /// <summary>
    /// Groups rank-one terms by a minimum vertex cover of the bipartite graph left vector — right
    /// vector (Kőnig: from a maximum matching). A left group of one term is run as a right group.
    /// </summary>
    static (List<(VecNode, List<Term>)> ByLeft, List<(VecNode, List<Term>)> ByRight) CoverRankOne(List<Term> terms)
    {
        var lefts = terms.Select(t => t.Left!).Distinct().ToList();
        var rights = terms.Select(t => t.Right!).Distinct().ToList();
        var adj = lefts.ToDictionary(a => a, a => terms.Where(t => t.Left == a).Select(t => t.Right!).Distinct().ToList());
        var matchOfRight = new Dictionary<VecNode, VecNode>();
        bool Augment(VecNode a, HashSet<VecNode> seen)
        {
            foreach (var b in adj[a])
            {
                if (!seen.Add(b)) continue;
                if (!matchOfRight.TryGetValue(b, out var other) || Augment(other, seen))
                {
                    matchOfRight[b] = a;
                    return true;
                }
            }
            return false;
        }
        foreach (var a in lefts) Augment(a, []);
        var matchedLeft = matchOfRight.Values.ToHashSet();
        // Z: reachable from unmatched left vertices by alternating paths. Cover = (L \ Z) ∪ (R ∩ Z).
        var zLeft = new HashSet<VecNode>(lefts.Where(a => !matchedLeft.Contains(a)));
        var zRight = new HashSet<VecNode>();
        var queue = new Queue<VecNode>(zLeft);
        while (queue.Count > 0)
        {
            var a = queue.Dequeue();
            foreach (var b in adj[a])
                if (zRight.Add(b) && matchOfRight.TryGetValue(b, out var next) && zLeft.Add(next))
                    queue.Enqueue(next);
        }
        var coverLeft = lefts.Where(a => !zLeft.Contains(a)).ToHashSet();
        var byLeft = new List<(VecNode, List<Term>)>();
        var byRight = new List<(VecNode, List<Term>)>();
        foreach (var a in lefts.Where(coverLeft.Contains))
        {
            var grp = terms.Where(t => t.Left == a).ToList();
            if (grp.Count > 1) byLeft.Add((a, grp));
        }
        var inLeftGroups = byLeft.SelectMany(g => g.Item2).ToHashSet();
        foreach (var b in rights)
        {
            var grp = terms.Where(t => t.Right == b && !inLeftGroups.Contains(t)).ToList();
            if (grp.Count > 0) byRight.Add((b, grp));
        }
        return (byLeft, byRight);
    }

    /// <summary>Σ_t c_t b_t over the active terms of a left group, computed in Phase A.</summary>
    VecNode Combination(List<Term> grp, Output o)
    {
        var dim = MatrixDims(o.Spec.Target.Shape).Cols;
        var buf = NewScratch("comb" + nextId++, dim, null);
        var code = new List<L> { L.Call(ClearRow, buf, L.Constant(0), Dim(dim)) };
        var node = new VecNode { Expr = Expr.NewNum(double.NaN), Buf = buf, Dim = dim };
        foreach (var t in grp)
        {
            code.Add(IfMaybe(t.Guard?.Flag, L.Call(Axpy, buf, L.Constant(0), t.Coef ?? One, t.Right!.Buf, L.Constant(0), Dim(dim))));
            node.After.AddRange(t.Deps);
            Mark(node, t.Guard);
        }
        node.Code = L.Block(code);
        node.Text = () => $"{buf.Name}[{dim}] = {string.Join(" + ", grp.Select(t => TermText(t).Replace($"outer({Txt(t.F.Left!.Value)}, ", "(")))}";
        created.Add(node);
        return node;
    }

    string VectorDimOfCols(Output o) => MatrixDims(o.Spec.Target.Shape).Cols;

    string TermText(Term t)
    {
        var parts = new List<string>();
        parts.AddRange(t.F.Scalars.Select(Print.Text));
        if (t.F.Left is not null) parts.Add($"outer({Txt(t.F.Left.Value)}, {Txt(t.F.Right!.Value)})");
        if (t.F.Body is not null) parts.Add(Txt(t.F.Body.Value));
        var text = string.Join(" * ", parts);
        return t.Guard is null ? text : $"[{t.Guard.Flag.Name}] {text}";
    }

    /// <summary>dst[dOff + j] += value of term t at (i, j), as a generated loop (guarded).</summary>
    L TermRow(Term t, ParameterExpression dst, L dOff, ParameterExpression i, ParameterExpression off, ParameterExpression R, ParameterExpression C)
    {
        if (t.Kind == TermKind.MatrixRow)
        {
            var deps = new List<Node>();
            var src = MatrixSource(t.Matrix!, transposed: false, deps);
            Require(t.Deps.Concat(deps), t.Guard);
            return IfMaybe(t.Guard?.Flag, L.Call(Axpy, dst, dOff, RowCoefficient(t, i), src, off, C));
        }
        if (t.Kind == TermKind.RankOne)
        {
            Require(t.Deps, t.Guard);
            return IfMaybe(t.Guard?.Flag, L.Call(Axpy, dst, dOff, RowCoefficient(t, i), t.Right!.Buf, L.Constant(0), C));
        }
        var j = Local(typeof(int), "j" + locals.Count);
        var cRow = Local(TT, "c" + locals.Count);
        var bodyDeps = new List<Node>(t.Deps);
        var ctx = new Ctx { I = i, J = j, RowOff = off, Rows = R, Cols = C };
        L value = cRow;
        if (t.Right is not null) value = L.Multiply(value, L.ArrayIndex(t.Right.Buf, j));
        if (t.F.Body is not null) value = L.Multiply(value, Elem(t.F.Body.Value, ctx, bodyDeps));
        Require(bodyDeps, t.Guard);
        L c = t.Coef ?? One;
        if (t.Left is not null) c = L.Multiply(c, L.ArrayIndex(t.Left.Buf, i));
        var target = L.ArrayAccess(dst, L.Add(dOff, j));
        var loop = L.Block(
            L.Assign(cRow, c),
            For(j, L.Constant(0), C, L.AddAssign(target, value)));
        return IfMaybe(t.Guard?.Flag, loop);
    }

    L VectorGroup(List<Output> group)
    {
        var dim = VectorDim(group[0].Spec.Target.Shape);
        var k = Local(typeof(int), "k" + locals.Count);
        var ctx = new Ctx { K = k };
        var values = new List<L>();
        var stores = new List<L>();
        phasePlan.Add(() => $"phase B: for each k of {dim}:");
        foreach (var o in group)
        {
            var v = Local(TT, "out_" + o.Spec.Target.Name);
            L sum = Zero;
            foreach (var t in o.Terms)
            {
                var deps = new List<Node>(t.Deps);
                L value = t.Coef ?? One;
                if (t.F.Body is not null) value = L.Multiply(value, Elem(t.F.Body.Value, ctx, deps));
                Require(deps, t.Guard);
                sum = L.Add(sum, t.Guard is null ? value : L.Condition(t.Guard.Flag, value, Zero));
            }
            values.Add(L.Assign(v, sum));
            var target = L.ArrayAccess(o.Target, k);
            stores.Add(!o.Accumulate ? L.Assign(target, v) : L.AddAssign(target, v));
            phasePlan.Add(() => $"  {o.Spec.Target.Name}[k] {(!o.Accumulate ? "=" : "+=")} {string.Join(" + ", o.Terms.Select(TermText))}");
        }
        return For(k, L.Constant(0), Dim(dim), L.Block(values.Concat(stores)));
    }

    L ScalarOutput(Output o)
    {
        L sum = Zero;
        foreach (var t in o.Terms)
        {
            Require(t.Deps, t.Guard);
            L value = t.Coef ?? One;
            sum = L.Add(sum, t.Guard is null ? value : L.Condition(t.Guard.Flag, value, Zero));
        }
        int slot = layout.ScalarSlot(o.Spec.Target.Name);
        var target = L.ArrayAccess(pScalars, L.Constant(slot));
        phasePlan.Add(() => $"phase B: {o.Spec.Target.Name} {(!o.Accumulate ? "=" : "+=")} {string.Join(" + ", o.Terms.Select(TermText))}");
        // The old value is in a local (loaded in the prologue); the new one is stored once.
        return !o.Accumulate ? L.Assign(target, sum) : L.Assign(target, L.Add(o.Target, sum));
    }
}
