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
internal sealed partial class KernelBuilder<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    static readonly Type TT = typeof(T);
    static readonly MethodInfo PowMethod = typeof(RuleDsl.Symbolic.Kernels).GetMethod("Pow", [TT, TT])!;

    /// <summary>x^p per element: x², x³ written out as Kernels.Pow computes them ((x·x)·x, no call per
    /// element, the same bits); any other power through Kernels.Pow.</summary>
    static L PowOf(L x, Expr exponent, Func<L> power)
    {
        if (exponent is not Expr.Num { Item: 2.0 or 3.0 } k) return L.Call(PowMethod, x, power());
        var v = L.Variable(TT, "powbase");
        L square = L.Multiply(v, v);
        return L.Block([v], L.Assign(v, x), k.Item == 2.0 ? square : L.Multiply(square, v));
    }

    static MethodInfo Op(string name) => typeof(RowOps<T>).GetMethod(name)!;
    static readonly MethodInfo Axpy = Op("Axpy"), AddRow = Op("Add"), CopyRow = Op("Copy"), FillRow = Op("Fill"),
        ClearRow = Op("Clear"), DotRow = Op("Dot"), Dots = Op("Dots"), SumRow = Op("Sum"), MatVec = Op("MatVec"), MatVecs4 = Op("MatVecs4"), DotAxpys4 = Op("DotAxpys4"), MatVecs4OrFewer = Op("MatVecs4OrFewer"), AxpysColumns = Op("AxpysColumns"), MatTVec = Op("MatTVec"),
        MatMul = Op("MatMul"), CombineRow = Op("Combine"), CombineRows = Op("CombineRows"), Softmax = Op("Softmax"), LogSoftmax = Op("LogSoftmax");
    static readonly MethodInfo DeferRows = typeof(DeferredRows<T>).GetMethod(nameof(DeferredRows<T>.AddRows))!;
    // tanh of a whole vector at once (VectorMath: within 2 ulp of Math.Tanh, a sixth of Miconi's step saved).
    static readonly MethodInfo VecTanh = typeof(VectorMath).GetMethod(nameof(VectorMath.Tanh), [typeof(T[]), typeof(T[]), typeof(int)])!;
    static readonly MethodInfo DeferSink = typeof(DeferredRows<T>).GetMethod(nameof(DeferredRows<T>.OfThisThread))!;
    // The thread's DeferredRows, found once per step in the prologue (a kernel with deferred rows only).
    ParameterExpression? deferSink;

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
    /// <summary>Elementwise calls (sigmoid, exp, …) that several outputs of the vector group being built read:
    /// computed once into a vector (Phase A) and read at k, instead of once per term (the JIT does not share
    /// calls). The same function of the same arguments, so the same bits.</summary>
    HashSet<Expr> sharedCalls = [];
    /// <summary>The shared calls whose vector is being built (its own loop calls the function).</summary>
    readonly HashSet<Expr> buildingCalls = [];
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

    public sealed record Result(IReadOnlyList<Expression<Action<T[], T[][], int[], T[][], T[][], int[], T[]>>> Lambdas, KernelLayout Layout,
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

    /// <summary>Rows [from, end) four at a time (quad, for rows i..i+4), then one at a time (row, for row i).</summary>
    static L InFours(ParameterExpression i, L from, L end, L quad, L row)
    {
        var brk = L.Label("end_quads");
        return L.Block(
            L.Assign(i, from),
            L.Loop(L.IfThenElse(L.LessThanOrEqual(L.Add(i, L.Constant(4)), end), L.Block(quad, L.AddAssign(i, L.Constant(4))), L.Break(brk)), brk),
            For(i, i, end, row));
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

    ParameterExpression NewScratch(string name, string? dimA, string? dimB, int times = 1)
    {
        var size = new ScratchSize(dimA is null ? -1 : layout.DimSlot(dimA), dimB is null ? -1 : layout.DimSlot(dimB), Times: times);
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
        var lambdas = Methods([.. phaseA, .. phaseB]);
        if (lambdas.Count > 1) plan.Add(() => $"(run as {lambdas.Count} methods in turn, each small enough for the JIT to optimise)");
        var required = Enumerable.Range(0, layout.ArraySymbols.Count).ToArray();
        foreach (var o in outputs)
            foreach (var d in Lower.denseProducts(o.Lowered))
            {
                var text = Txt(d);
                if (!dense.Contains(text)) dense.Add(text);
            }
        return new Result(lambdas, layout, scratch.ToArray(), required, dense, Lines(plan), maxSources);
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
        // More than four Mᵀx needed at run time (W's pass with every pool term active): all of them in one
        // AxpysColumns over all rows (by blocks of columns, the same sums), listed in rowSources (free in
        // Phase A); then the row loops below leave them out. Four or fewer go with the rows, as below.
        var active = needs.Select(n => (L?)n).ToList();
        var allTransposed = Enumerable.Range(0, members.Count).Where(k => members[k].MvTransposed).ToList();
        ParameterExpression? byColumns = null;
        if (allTransposed.Count > 4)
        {
            byColumns = Local(typeof(bool), "bycols" + locals.Count);
            var listed = Local(typeof(int), "listed" + locals.Count);
            code.Add(L.Assign(listed, L.Constant(0)));
            foreach (int k in allTransposed)
                code.Add(IfMaybe(needs[k], L.Block(
                    L.Assign(L.ArrayAccess(pRowSources, listed), members[k].Buf),
                    L.Assign(L.ArrayAccess(pRowSources, L.Add(listed, L.Constant(1))), members[k].MvInput!.Buf),
                    L.AddAssign(listed, L.Constant(2)))));
            code.Add(L.Assign(byColumns, L.GreaterThan(listed, L.Constant(8))));
            code.Add(L.IfThen(byColumns, L.Call(AxpysColumns, M, R, C, pRowSources, L.Divide(listed, L.Constant(2)))));
            maxSources = Math.Max(maxSources, 2 * allTransposed.Count);
            foreach (int k in allTransposed)
                active[k] = needs[k] is null ? L.Not(byColumns) : L.AndAlso(needs[k]!, L.Not(byColumns));
        }
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
            row.Add(IfMaybe(active[k], v.MvTransposed
                ? L.Call(Axpy, v.Buf, L.Constant(0), L.ArrayIndex(x, i), M, off, C)
                : L.Assign(L.ArrayAccess(v.Buf, i), L.Call(DotRow, M, off, x, L.Constant(0), C))));
        }
        // Four rows at a time first (each Mx in Dot's order, each Mᵀx as Axpy4 sums it: the four rows in turn);
        // the members write their own outputs, so running each over four rows before the next changes no sum.
        // The last rows one at a time, as above.
        var quad = new List<L>();
        // Unconditional Mx four at a time as a 4 × 4 tile of M X (MatVecs4: each element in Dot's order):
        // D state tangents W·δr_d share each load of W's rows.
        var tiled = Enumerable.Range(0, members.Count).Where(k => needs[k] is null && !members[k].MvTransposed).ToList();
        for (int at = 0; at < tiled.Count; at += 4)
        {
            var g = tiled.Skip(at).Take(4).Select(k => members[k]).ToList();
            VecNode G(int q) => g[Math.Min(q, g.Count - 1)];
            quad.Add(L.Call(MatVecs4, [M, i, C, .. Enumerable.Range(0, 4).Select(q => (L)G(q).MvInput!.Buf), L.Constant(g.Count),
                .. Enumerable.Range(0, 4).Select(q => (L)G(q).Buf)]));
        }
        // The Mᵀx, four per DotAxpys4 call with the first other Mx: one pass over the four rows for all of them
        // (each output as Axpy4 and Dots would make it); a member whose guard is off goes in as null.
        var transposed = Enumerable.Range(0, members.Count).Where(k => !tiled.Contains(k) && members[k].MvTransposed).ToList();
        var single = Enumerable.Range(0, members.Count).Where(k => !tiled.Contains(k) && !members[k].MvTransposed).ToList();
        L none = L.Constant(null, typeof(T[]));
        L IfNeeded(int k, L value) => active[k] is null ? value : L.Condition(active[k]!, value, none);
        // A call runs when any of its members is needed (with none, the pass must not read the rows).
        L? AnyNeeded(List<int> group) => group.Any(k => active[k] is null) ? null : group.Select(k => active[k]!).Aggregate(L.OrElse);
        for (int at = 0; at < transposed.Count; at += 4)
        {
            var args = new List<L> { M, i, C };
            var group = transposed.Skip(at).Take(4).ToList();
            if (at == 0 && single.Count > 0)
            {
                int k = single[0];
                single.RemoveAt(0);
                group.Add(k);
                args.Add(IfNeeded(k, members[k].MvInput!.Buf));
                args.Add(IfNeeded(k, members[k].Buf));
            }
            else args.AddRange([none, none]);
            for (int slot = 0; slot < 4; slot++)
                if (at + slot < transposed.Count)
                {
                    int k = transposed[at + slot];
                    args.Add(IfNeeded(k, members[k].Buf));
                    args.Add(members[k].MvInput!.Buf);
                }
                else args.AddRange([none, none]);
            quad.Add(IfMaybe(AnyNeeded(group), L.Call(DotAxpys4, args)));
        }
        // The other Mx, four per MatVecs4OrFewer call (a 4 × 4 tile of the ones whose guards are on).
        for (int at = 0; at < single.Count; at += 4)
        {
            var group = single.Skip(at).Take(4).ToList();
            var args = new List<L> { M, i, C };
            for (int slot = 0; slot < 4; slot++)
                if (slot < group.Count)
                {
                    int k = group[slot];
                    args.Add(IfNeeded(k, members[k].MvInput!.Buf));
                    args.Add(members[k].Buf);
                }
                else args.AddRange([none, none]);
            quad.Add(IfMaybe(AnyNeeded(group), L.Call(MatVecs4OrFewer, args)));
        }
        code.Add(InFours(i, L.Constant(0), R, L.Block(quad), L.Block(row)));
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

}
