using System.Linq.Expressions;
using L = System.Linq.Expressions.Expression;

namespace RuleDsl.Runtime.Kernels.Compiler;

/// <summary>
/// The step as several methods: the JIT compiles a method past its size limits (about 2,000 basic blocks
/// or locals, 20,000 instructions) without optimisation (MinOpts: every local on the stack, no loop
/// optimisation), and a rule with many terms and directions (the pool with ten tangents) is past them.
/// The statements are cut into consecutive pieces of bounded size; a scalar or flag one piece computes and a
/// later one reads goes through a frame (one scratch array of T); buffers and sizes are reloaded from the
/// arguments. The arithmetic and its order are unchanged, so the results are the same bits.
/// </summary>
internal sealed partial class KernelBuilder<T>
{
    /// <summary>Expression nodes per method: well inside the JIT's limits for optimised code.</summary>
    const int MethodNodes = 4000;

    sealed class Uses : ExpressionVisitor
    {
        public readonly HashSet<ParameterExpression> Read = [], Written = [];
        public int Nodes;
        readonly HashSet<ParameterExpression> of;

        public Uses(HashSet<ParameterExpression> of) => this.of = of;

        public override L? Visit(L? node)
        {
            if (node is not null) Nodes++;
            return base.Visit(node);
        }

        protected override L VisitParameter(ParameterExpression node)
        {
            if (of.Contains(node)) Read.Add(node);
            return node;
        }

        protected override L VisitBinary(BinaryExpression node)
        {
            if (node.Left is ParameterExpression p && of.Contains(p) && node.NodeType is ExpressionType.Assign
                    or ExpressionType.AddAssign or ExpressionType.SubtractAssign or ExpressionType.MultiplyAssign)
                Written.Add(p);
            return base.VisitBinary(node);
        }

        protected override L VisitUnary(UnaryExpression node)
        {
            if (node.Operand is ParameterExpression p && of.Contains(p) && node.NodeType is ExpressionType.PreIncrementAssign
                    or ExpressionType.PostIncrementAssign or ExpressionType.PreDecrementAssign or ExpressionType.PostDecrementAssign)
                Written.Add(p);
            return base.VisitUnary(node);
        }
    }

    /// <summary>(Phase B) Whether an expression reads the row index (or the row's offset): else it is the same for every row.</summary>
    static bool ReadsRow(L e, ParameterExpression i, ParameterExpression off)
    {
        var uses = new Uses([i, off]);
        uses.Visit(e);
        return uses.Read.Count > 0;
    }

    /// <summary>The step's lambdas, run in order: one when it is small enough, else pieces joined by a frame.</summary>
    List<Expression<Action<T[], T[][], int[], T[][], T[][], int[], T[]>>> Methods(List<L> body)
    {
        Expression<Action<T[], T[][], int[], T[][], T[][], int[], T[]>> Lambda(IEnumerable<ParameterExpression> vars, List<L> code, int part)
        {
            code.Add(L.Empty());
            return L.Lambda<Action<T[], T[][], int[], T[][], T[][], int[], T[]>>(L.Block(vars, code), part < 0 ? $"step_{spec.Name}" : $"step_{spec.Name}_{part}",
                [pScalars, pArrays, pSizes, pScratch, pRowSources, pRowOffsets, pRowCoefs]);
        }
        var all = new HashSet<ParameterExpression>(locals);
        // Buffers and sizes are only read after the prologue loads them: each piece loads its own.
        var reload = new Dictionary<ParameterExpression, L>();
        var statements = new List<L>();
        foreach (var p in prologue)
        {
            if (p is BinaryExpression { NodeType: ExpressionType.Assign, Left: ParameterExpression v } && v.Type != TT) reload[v] = p;
            else statements.Add(p);
        }
        statements.AddRange(body);

        var pieces = new List<(List<L> Code, Uses Uses)>();
        foreach (var s in statements)
        {
            var u = new Uses(all);
            u.Visit(s);
            if (pieces.Count == 0 || pieces[^1].Uses.Nodes + u.Nodes > MethodNodes && pieces[^1].Code.Count > 0)
                pieces.Add(([], new Uses(all)));
            var (code, uses) = pieces[^1];
            code.Add(s);
            uses.Nodes += u.Nodes;
            uses.Read.UnionWith(u.Read);
            uses.Written.UnionWith(u.Written);
        }
        List<Expression<Action<T[], T[][], int[], T[][], T[][], int[], T[]>>> Whole()
        {
            var one = new List<L>(prologue);
            one.AddRange(body);
            return [Lambda(locals, one, -1)];
        }
        if (pieces.Count <= 1) return Whole();

        // Locals read by a later piece than one that writes them travel through the frame (flags as 0/1).
        var frameSlot = new Dictionary<ParameterExpression, int>();
        for (int k = 0; k < pieces.Count; k++)
            foreach (var v in pieces[k].Uses.Written)
            {
                if (frameSlot.ContainsKey(v) || reload.ContainsKey(v)) continue;
                bool laterReads = pieces.Skip(k + 1).Any(q => q.Uses.Read.Contains(v));
                if (!laterReads) continue;
                // A loop index or counter is set before it is read in every piece that uses it.
                if (v.Type == typeof(int) && pieces.Skip(k + 1).All(q => !q.Uses.Read.Contains(v) || q.Uses.Written.Contains(v))) continue;
                // Anything else (no kernel has one today): one method, unoptimised if it must be.
                if (v.Type != TT && v.Type != typeof(bool)) return Whole();
                frameSlot[v] = frameSlot.Count;
            }
        var frame = L.Variable(typeof(T[]), "frame");
        var frameIndex = L.Constant(scratch.Count);
        scratch.Add(new ScratchSize(-1, -1, Math.Max(1, frameSlot.Count)));

        var lambdas = new List<Expression<Action<T[], T[][], int[], T[][], T[][], int[], T[]>>>();
        var written = new HashSet<ParameterExpression>();
        for (int k = 0; k < pieces.Count; k++)
        {
            var (code, uses) = pieces[k];
            var vars = new List<ParameterExpression> { frame };
            var head = new List<L> { L.Assign(frame, L.ArrayIndex(pScratch, frameIndex)) };
            foreach (var p in prologue)
                if (p is BinaryExpression { Left: ParameterExpression v } && reload.ContainsKey(v) && uses.Read.Contains(v)) head.Add(p);
            foreach (var v in uses.Read)
            {
                if (reload.ContainsKey(v)) { vars.Add(v); continue; }
                vars.Add(v);
                if (!frameSlot.TryGetValue(v, out int slot) || !written.Contains(v)) continue;
                var stored = L.ArrayIndex(frame, L.Constant(slot));
                head.Add(L.Assign(v, v.Type == typeof(bool) ? L.NotEqual(stored, Zero) : stored));
            }
            var tail = new List<L>();
            foreach (var v in uses.Written)
            {
                written.Add(v);
                if (!frameSlot.TryGetValue(v, out int slot)) continue;
                L value = v.Type == typeof(bool) ? L.Condition(v, One, Zero) : v;
                tail.Add(L.Assign(L.ArrayAccess(frame, L.Constant(slot)), value));
            }
            lambdas.Add(Lambda(vars, [.. head, .. code, .. tail], k));
        }
        return lambdas;
    }
}
