using System.Linq.Expressions;
using System.Numerics;
using System.Reflection;
using Microsoft.FSharp.Collections;
using RuleDsl.Symbolic;
using L = System.Linq.Expressions.Expression;

namespace RuleDsl.Runtime.Kernels.Compiler;

/// <summary>Phase B of <see cref="KernelBuilder{T}"/>: the terms of each output with their guards, and the
/// row loops that write every output once.</summary>
internal sealed partial class KernelBuilder<T>
{
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
                foreach (var k in Children(e))
                    foreach (var x in MatrixLeaves(k)) yield return x;
                break;
        }
    }

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
        // Each output over its rows in turn (one stream at a time, not one per output: eleven interleaved
        // streams ran at half the speed). With row products, in blocks of about BlockElements, each
        // output's dots over the block right after its rows (still in cache). A row of one output reads only the same
        // row of the others (readers first), so every element sees the same values in the same order.
        var products = spec.RowProducts.Where(p => p.Terms.All(t => targets.Contains(t.Matrix.Name))).ToList();
        // A deferred kernel's rows go as one step (one output over all rows; its range is [0, R)).
        bool split = spec.DeferRows || order.Count > 1;
        var first = Local(typeof(int), "block");
        var blockEnd = Local(typeof(int), "blockend");
        var rowLoops = new List<L>();
        var rowBody = new List<L> { L.Assign(off, L.Multiply(i, C)) };
        phasePlan.Add(() => !split ? $"phase B: for each row i of {rows}×{cols}:"
            : products.Count > 0 ? $"phase B: for each block of rows of {rows}×{cols} (about {BlockElements} elements), each output in turn over the block's rows i, then its products' dots over them:"
            : $"phase B: each output in turn, for each row i of {rows}×{cols}:");
        // Products with the rows just written (still in cache): the next sample's forward pass. Each chain
        // (a matrix row times a vector) is one dot; a product sums its chains' dots in order.
        var chains = products.SelectMany(p => p.Terms).ToList();
        // Split: the dots of a matrix run right after its rows of the block are written, four rows and up to
        // four vectors at a time (MatVecs4: each dot in Dot's order, so the same bits as a Dot per row; one
        // Dot per row is bound by its add latency), into a column per chain, summed per row at the end.
        var dotCols = split ? chains.Select((_, k) => NewScratch("rowdots" + k, rows, null)).ToList() : [];
        foreach (var o in order)
        {
            currentTarget = o.Spec.Target.Name;
            var (row, whole) = OutputRow(o, i, off, R, C, split ? (first, blockEnd) : null);
            currentTarget = null;
            if (!split) { rowBody.Add(row); continue; }
            rowLoops.Add(whole ? row : For(i, first, blockEnd, L.Block(L.Assign(off, L.Multiply(i, C)), row)));
            var mine = chains.Select((t, k) => (t, k)).Where(x => x.t.Matrix.Name == o.Spec.Target.Name).ToList();
            if (mine.Count == 0) continue;
            rowLoops.Add(BlockDots(o.Target, mine.Select(x => (arrayLocal[x.t.Vector.Name], dotCols[x.k])).ToList(), i, off, C, first, blockEnd));
            phasePlan.Add(() => $"  then over the block's rows, four at a time: {string.Join(", ", mine.Select(x => $"{x.t.Matrix.Name}[i, :] · {x.t.Vector.Name}"))}");
        }
        if (products.Count > 0)
        {
            Func<int, L> dot;
            if (!split)
            {
                // One output: every dot of every product right after its row, four per call.
                var dotLocals = chains.Select((_, k) => Local(TT, "rowdot" + k)).ToList();
                rowBody.AddRange(DotsCode(chains.Select(t => ((L)arrayLocal[t.Matrix.Name], (L)off, (L)arrayLocal[t.Vector.Name])).ToList(), C,
                    (k, value) => L.Assign(dotLocals[k], value)));
                dot = k => dotLocals[k];
            }
            else dot = k => L.ArrayIndex(dotCols[k], i);
            int next = 0;
            foreach (var p in products)
            {
                L sum = dot(next++);
                for (int t = 1; t < p.Terms.Count; t++) sum = L.Add(sum, dot(next++));
                rowBody.Add(L.Assign(L.ArrayAccess(arrayLocal[p.Output.Name], i), sum));
                phasePlan.Add(() => $"  then {p.Output.Name}[i] = {string.Join(" + ", p.Terms.Select(t => $"{t.Matrix.Name}[i, :] · {t.Vector.Name}"))} (the rows as written)");
            }
        }
        if (!split) return For(i, L.Constant(0), R, L.Block(rowBody));
        if (products.Count == 0) return L.Block(L.Assign(first, L.Constant(0)), L.Assign(blockEnd, R), L.Block(rowLoops));
        var step = Local(typeof(int), "blockrows");
        rowLoops.Add(For(i, first, blockEnd, L.Block(rowBody)));
        var brk = L.Label("end_blocks");
        return L.Block(
            // Rows per block: a multiple of four where there are four (CombineRows' and MatVecs4's quads).
            L.Assign(step, L.Call(typeof(Math).GetMethod(nameof(Math.Max), [typeof(int), typeof(int)])!, L.Constant(1), L.Divide(L.Constant(BlockElements), C))),
            L.IfThen(L.GreaterThanOrEqual(step, L.Constant(4)), L.SubtractAssign(step, L.Modulo(step, L.Constant(4)))),
            L.Assign(first, L.Constant(0)),
            L.Loop(L.IfThenElse(L.LessThan(first, R),
                L.Block(
                    L.Assign(blockEnd, L.Call(typeof(Math).GetMethod(nameof(Math.Min), [typeof(int), typeof(int)])!, L.Add(first, step), R)),
                    L.Block(rowLoops),
                    L.AddAssign(first, step)),
                L.Break(brk)), brk));
    }

    /// <summary>dst_k[i] = M[i, :] · v_k for the rows [first, end): MatVecs4 over each four rows (up to four
    /// vectors per call), then a row at a time for the rest.</summary>
    L BlockDots(ParameterExpression m, List<(ParameterExpression Vector, ParameterExpression Dst)> dots, ParameterExpression i, ParameterExpression off,
        ParameterExpression C, ParameterExpression first, ParameterExpression end)
    {
        var quads = new List<L>();
        for (int at = 0; at < dots.Count; at += 4)
        {
            int count = Math.Min(4, dots.Count - at);
            var args = new List<L> { m, i, C };
            for (int k = 0; k < 4; k++) args.Add(dots[at + Math.Min(k, count - 1)].Vector);
            args.Add(L.Constant(count));
            for (int k = 0; k < 4; k++) args.Add(dots[at + Math.Min(k, count - 1)].Dst);
            quads.Add(L.Call(MatVecs4, args));
        }
        var rest = new List<L> { L.Assign(off, L.Multiply(i, C)) };
        rest.AddRange(DotsCode(dots.Select(d => ((L)m, (L)off, (L)d.Vector)).ToList(), C, (k, value) => L.Assign(L.ArrayAccess(dots[k].Dst, i), value)));
        return InFours(i, first, end, L.Block(quads), L.Block(rest));
    }

    /// <summary>Matrix elements per block of rows in Phase B when rows are multiplied as written (128 KB of
    /// doubles per output; `bench ff-fuse-ab`, 2026-12-07: fused/unfused 0.86–0.89 at 16384 elements,
    /// 0.95–1.04 at 8192, 1.01–1.05 at 4096, pool with 10 tangents).</summary>
    const int BlockElements = 16384;

    /// <summary>The code that writes output o: for row i (inside the caller's row loop), or, given a row
    /// range [first, end) and only scaled-row and rank-one terms, for all its rows (WholeRange).</summary>
    (L Code, bool WholeRange) OutputRow(Output o, ParameterExpression i, ParameterExpression off, ParameterExpression R, ParameterExpression C,
        (ParameterExpression First, ParameterExpression End)? range = null)
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
        // The row is old row · keep + Σ c(i) · vector: a deferred kernel hands it to the thread's DeferredRows.
        if (spec.DeferRows && (self.Count > 0 && !self.All(t => t.Kind == TermKind.MatrixRow) || rest.Any(t => t.Kind != TermKind.RankOne)
                || spec.RowProducts.Count > 0))
            throw new KernelCompileError($"not supported: deferred rows of {o.Spec.Target.Name} need rank-one terms only, in rule {spec.Name}");
        if (range is { } r && (self.Count == 0 || self.All(t => t.Kind == TermKind.MatrixRow))
            && rest.All(t => t.Kind != TermKind.General))
        {
            ctxPlan.Add(() => spec.DeferRows ? "    (deferred: the row coefficients of every row first, then the whole step to the thread's DeferredRows)"
                : "    (the row coefficients of every row first, then RowOps.CombineRows over the rows)");
            phasePlan.AddRange(ctxPlan);
            return (WholeRange(o, sources, readDst, self.Count > 0 ? keep : null, i, off, R, C, r.First, r.End), true);
        }
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
        return (L.Block(code), false);
    }

    /// <summary>
    /// All rows [first, end) of one output: the active sources are listed once (sources in rowSources,
    /// 1 in rowOffsets for a matrix whose row i is read, 0 for a vector); each one's coefficient for every
    /// row goes into a table (and keep into a vector), then RowOps.CombineRows writes the rows, each as
    /// RowOps.Combine would with the same sources and coefficients (the same bits), without a call and
    /// a list of sources per row.
    /// </summary>
    L WholeRange(Output o, List<(L? Cond, L Coef, L Buf, L Off)> sources, L readDst, L? keep, ParameterExpression i,
        ParameterExpression off, ParameterExpression R, ParameterExpression C, ParameterExpression first, ParameterExpression end)
    {
        var rows = MatrixDims(o.Spec.Target.Shape).Rows;
        var table = sources.Count == 0 ? null : NewScratch("coefs_" + o.Spec.Target.Name, rows, null, sources.Count);
        var keepRows = keep is null ? null : NewScratch("keep_" + o.Spec.Target.Name, rows, null);
        var once = new List<L> { L.Assign(count, L.Constant(0)) };
        var perRow = new List<L> { L.Assign(off, L.Multiply(i, C)) };
        foreach (var (cond, coef, buf, srcOff) in sources)
        {
            var at = Local(typeof(int), "at" + locals.Count);
            var listed = new List<L>
            {
                L.Assign(L.ArrayAccess(pRowSources, count), buf),
                L.Assign(L.ArrayAccess(pRowOffsets, count), L.Constant(srcOff == off ? 1 : 0)),
                L.Assign(at, L.Multiply(count, R)),
                L.PreIncrementAssign(count),
            };
            // A coefficient that is a vector's element a[i] (a rank-one group's left vector) is copied as one
            // block, not element by element inside the row loop with its guard (the same values).
            // One that does not depend on the row (a scalar: U_3's −δθ3 for W's row) is computed once and filled in.
            if (coef is BinaryExpression { NodeType: ExpressionType.ArrayIndex } element && element.Right == i)
                listed.Add(L.Call(CopyRow, table!, L.Add(at, first), element.Left, first, L.Subtract(end, first)));
            else if (!ReadsRow(coef, i, off)) listed.Add(L.Call(FillRow, table!, L.Add(at, first), coef, L.Subtract(end, first)));
            else perRow.Add(IfMaybe(cond, L.Assign(L.ArrayAccess(table!, L.Add(at, i)), coef)));
            once.Add(IfMaybe(cond, L.Block(listed)));
        }
        if (keepRows is not null)
        {
            if (ReadsRow(keep!, i, off)) perRow.Add(L.Assign(L.ArrayAccess(keepRows, i), keep!));
            else once.Add(L.Call(FillRow, keepRows, first, keep!, L.Subtract(end, first)));
        }
        L keepArg = keepRows is null ? L.Constant(null, typeof(T[])) : keepRows;
        L tableArg = table is null ? L.Constant(Array.Empty<T>()) : table;
        return L.Block(
            L.Block(once),
            perRow.Count > 1 ? For(i, first, end, L.Block(perRow)) : L.Empty(),
            spec.DeferRows
                // The whole step in one call (first = 0, end = R: a deferred kernel's rows are not split).
                ? L.Call(DeferredSink(), DeferRows, o.Target, C, readDst, keepArg, pRowSources, tableArg, R, count)
                : L.Call(CombineRows, o.Target, first, end, C, readDst, keepArg, pRowSources, pRowOffsets, tableArg, R, count));
    }

    /// <summary>The thread's DeferredRows, looked up once per step in the prologue.</summary>
    ParameterExpression DeferredSink()
    {
        if (deferSink is null)
        {
            deferSink = Local(typeof(DeferredRows<T>), "deferred");
            prologue.Add(L.Assign(deferSink, L.Call(DeferSink)));
        }
        return deferSink;
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
        sharedCalls = SharedCalls(group.SelectMany(o => o.Terms).Where(t => t.F.Body is not null).Select(t => t.F.Body!.Value));
        var values = new List<L>();
        var stores = new List<L>();
        // Lanes when every term's body has them: each output's lanes computed before any is stored, as below.
        bool lanes = UseLanes && group.All(o => o.Terms.All(t => t.F.Body is null || HasLanes(t.F.Body.Value)));
        var laneValues = new List<L>();
        var laneStores = new List<L>();
        phasePlan.Add(() => $"phase B: for each k of {dim}{(lanes ? $" ({Vector<T>.Count} lanes at a time)" : "")}:");
        foreach (var o in group)
        {
            var v = Local(TT, "out_" + o.Spec.Target.Name);
            L sum = Zero, laneSum = ZeroLanes;
            foreach (var t in o.Terms)
            {
                var deps = new List<Node>(t.Deps);
                L coef = t.Coef ?? One, value = coef;
                if (t.F.Body is not null) value = L.Multiply(value, Elem(t.F.Body.Value, ctx, deps));
                if (lanes)
                {
                    // The scalar term lane by lane: the coefficient broadcast, times the body's lanes.
                    L laneValue = L.New(Broadcast, coef);
                    if (t.F.Body is not null) laneValue = L.Multiply(laneValue, Lane(t.F.Body.Value, k, deps));
                    laneSum = L.Add(laneSum, t.Guard is null ? laneValue : L.Condition(t.Guard.Flag, laneValue, ZeroLanes));
                }
                Require(deps, t.Guard);
                sum = L.Add(sum, t.Guard is null ? value : L.Condition(t.Guard.Flag, value, Zero));
            }
            values.Add(L.Assign(v, sum));
            var target = L.ArrayAccess(o.Target, k);
            stores.Add(!o.Accumulate ? L.Assign(target, v) : L.AddAssign(target, v));
            if (lanes)
            {
                var vl = Local(VT, "lanes_" + o.Spec.Target.Name);
                laneValues.Add(L.Assign(vl, laneSum));
                laneStores.Add(Store(!o.Accumulate ? vl : L.Add(L.New(LoadLanes, o.Target, k), vl), o.Target, k));
            }
            phasePlan.Add(() => $"  {o.Spec.Target.Name}[k] {(!o.Accumulate ? "=" : "+=")} {string.Join(" + ", o.Terms.Select(TermText))}");
        }
        var scalar = L.Block(values.Concat(stores));
        sharedCalls = [];
        return lanes ? LaneLoop(k, Dim(dim), L.Block(laneValues.Concat(laneStores)), scalar) : For(k, L.Constant(0), Dim(dim), scalar);
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
