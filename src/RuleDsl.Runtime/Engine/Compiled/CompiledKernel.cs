using Microsoft.FSharp.Collections;
using RuleDsl.Symbolic;
using L = System.Linq.Expressions.Expression;
using LE = System.Linq.Expressions;

namespace RuleDsl.Runtime.Engine.Compiled;

/// <summary>
/// One kernel compiled to a delegate over flat arrays. The equations are lowered (rank-one chains
/// become vector work), then generated in two phases:
/// <list type="number">
/// <item>a preamble that computes every scalar and vector the outputs need exactly once (common
/// sub-expressions shared by structural equality): dot products, sums, mat-vec products, softmax;</item>
/// <item>one fused loop per output shape that computes every output element from the inputs and
/// writes it only after all outputs of that element are computed (read-before-write).</item>
/// </list>
/// A term whose scalar factors include a symbol that is zero at run time (a θ at 0, a direction
/// component at 0) is skipped, together with the preamble work only it needs.
/// </summary>
sealed class CompiledKernel : IKernel
{
    public string Name { get; }
    public IReadOnlyList<Symbol> Inputs { get; }
    public IReadOnlyList<KernelOutput> Outputs { get; }
    /// <summary>The code the kernel runs, for reading and tests.</summary>
    public IReadOnlyList<Expr> Lowered { get; }
    /// <summary>The generated expression tree, printed (what `ruledsl compile --show` prints).</summary>
    public string Code { get; }

    readonly Action<double[][], int[], double[][]> _run;
    readonly (int Buffer, bool Cols)[] _dimSources;
    readonly int[][] _scratchDims;
    readonly ThreadLocal<Frame> _frame;

    sealed class Frame(int buffers, int dims, int scratch)
    {
        public readonly double[][] Buffers = new double[buffers][];
        public readonly int[] Dims = new int[dims];
        public readonly double[][] Scratch = Enumerable.Range(0, scratch).Select(_ => Array.Empty<double>()).ToArray();
    }

    public CompiledKernel(string name, IReadOnlyList<KernelOutput> outputs)
    {
        Name = name;
        Outputs = outputs;
        Lowered = outputs.Select(o => Lowering.lower(o.Value)).ToList();
        Inputs = Lowered.SelectMany(e => ExprModule.symbols(e)).Distinct().ToList();
        var gen = new Generator(name, Inputs, outputs.Select(o => o.Target).ToList());
        try
        {
            _run = gen.Build(Lowered, outputs.Select(o => o.Accumulate).ToList());
        }
        catch (Exception ex) when (ex is not KernelCompileException)
        {
            throw new KernelCompileException(name, ex.Message);
        }
        Code = gen.Code;
        _dimSources = gen.DimNames.Select(d => gen.DimSource[d]).ToArray();
        _scratchDims = gen.ScratchDims.Select(ds => ds.Select(d => gen.DimIndex[d]).ToArray()).ToArray();
        int buffers = Inputs.Count + outputs.Count;
        _frame = new ThreadLocal<Frame>(() => new Frame(buffers, _dimSources.Length, _scratchDims.Length));
    }

    public void Run(Tensor[] inputs, Tensor[] targets)
    {
        var f = _frame.Value!;
        int n = inputs.Length;
        for (int i = 0; i < n; i++) f.Buffers[i] = inputs[i].Data;
        for (int k = 0; k < targets.Length; k++) f.Buffers[n + k] = targets[k].Data;
        for (int d = 0; d < _dimSources.Length; d++)
        {
            var (b, cols) = _dimSources[d];
            var t = b < n ? inputs[b] : targets[b - n];
            f.Dims[d] = cols ? t.Cols : t.Rows;
        }
        for (int s = 0; s < _scratchDims.Length; s++)
        {
            int size = 1;
            foreach (var d in _scratchDims[s]) size *= f.Dims[d];
            if (f.Scratch[s].Length < size) f.Scratch[s] = new double[size];
        }
        _run(f.Buffers, f.Dims, f.Scratch);
    }

    /// <summary>Builds the expression tree of one kernel.</summary>
    sealed class Generator
    {
        readonly string _kernel;
        readonly IReadOnlyList<Symbol> _inputs;
        readonly IReadOnlyList<Symbol> _targets;
        readonly LE.ParameterExpression _bufs = L.Parameter(typeof(double[][]), "bufs");
        readonly LE.ParameterExpression _dims = L.Parameter(typeof(int[]), "dims");
        readonly LE.ParameterExpression _scratch = L.Parameter(typeof(double[][]), "scratch");
        readonly List<LE.ParameterExpression> _vars = [];
        readonly List<L> _body = [];
        readonly Dictionary<string, LE.ParameterExpression> _array = [];
        readonly Dictionary<string, LE.ParameterExpression> _scalar = [];
        readonly Dictionary<string, LE.ParameterExpression> _dim = [];
        readonly Dictionary<Expr, Node> _nodes = [];
        readonly Dictionary<string, LE.ParameterExpression> _gate = [];

        public readonly Dictionary<string, (int Buffer, bool Cols)> DimSource = [];
        public readonly Dictionary<string, int> DimIndex = [];
        public readonly List<string> DimNames = [];
        public readonly List<string[]> ScratchDims = [];
        public string Code { get; private set; } = "";

        /// <summary>A value computed in the preamble: a scalar local, or an array (vector or matrix).</summary>
        sealed record Node(LE.ParameterExpression Var, Shape Shape);

        /// <summary>Where an element is being computed: a scalar, element i of a vector, element (i, j) of a matrix.</summary>
        readonly record struct Ctx(string? Row, L? I, string? Col, L? J)
        {
            public static readonly Ctx Scalar = new(null, null, null, null);
            public Ctx Swap() => new(Col, J, Row, I);
        }

        public Generator(string kernel, IReadOnlyList<Symbol> inputs, IReadOnlyList<Symbol> targets)
        {
            _kernel = kernel;
            _inputs = inputs;
            _targets = targets;
            var all = inputs.Concat(targets).ToList();
            for (int b = 0; b < all.Count; b++)
            {
                var s = all[b].Shape;
                if (s.IsVector) AddDim(((Shape.Vector)s).Item, b, false);
                if (s.IsMatrix)
                {
                    var m = (Shape.Matrix)s;
                    AddDim(m.rows, b, false);
                    AddDim(m.cols, b, true);
                }
            }
        }

        void AddDim(string name, int buffer, bool cols)
        {
            if (DimSource.ContainsKey(name)) return;
            DimSource[name] = (buffer, cols);
            DimIndex[name] = DimNames.Count;
            DimNames.Add(name);
        }

        LE.ParameterExpression Var(Type t, string name)
        {
            var v = L.Variable(t, name);
            _vars.Add(v);
            return v;
        }

        L Dim(string name)
        {
            if (_dim.TryGetValue(name, out var v)) return v;
            throw new KernelCompileException(_kernel, $"no input gives the size of dimension '{name}'");
        }

        public Action<double[][], int[], double[][]> Build(IReadOnlyList<Expr> values, IReadOnlyList<bool> accumulate)
        {
            // Load buffers, sizes and scalar inputs into locals once.
            var all = _inputs.Concat(_targets).ToList();
            foreach (var d in DimNames)
            {
                var v = Var(typeof(int), "n_" + d);
                _body.Add(L.Assign(v, L.ArrayIndex(_dims, L.Constant(DimIndex[d]))));
                _dim[d] = v;
            }
            for (int b = 0; b < all.Count; b++)
            {
                var name = all[b].Name;
                if (_array.ContainsKey(name)) continue;
                var arr = Var(typeof(double[]), "b_" + b);
                _body.Add(L.Assign(arr, L.ArrayIndex(_bufs, L.Constant(b))));
                _array[name] = arr;
                if (b < _inputs.Count && all[b].Shape.IsScalar)
                {
                    var s = Var(typeof(double), "s_" + b);
                    _body.Add(L.Assign(s, L.ArrayIndex(arr, L.Constant(0))));
                    _scalar[name] = s;
                }
            }

            // Terms of each output, with their gates (scalar symbols among their factors).
            var terms = values.Select(v => (v.IsAdd ? ((Expr.Add)v).Item : ListModule.OfSeq([v])).ToList()).ToList();
            var gatesOf = new Dictionary<Expr, List<string>>();
            foreach (var ts in terms)
                foreach (var t in ts)
                    gatesOf[t] = Gates(t);

            // Preamble: every node the outputs need, in dependency order, each under the condition
            // that some term needing it is open.
            var order = new List<Expr>();
            var conds = new Dictionary<Expr, List<List<string>>>();
            foreach (var ts in terms)
                foreach (var t in ts)
                    Collect(t, gatesOf[t], order, conds);
            foreach (var e in order)
            {
                var compute = Materialize(e);
                var cond = Condition(conds[e]);
                _body.Add(cond is null ? compute : L.IfThen(cond, compute));
            }

            // Outputs, grouped by shape: one fused loop per group, all values before any write.
            var groups = values.Select((v, k) => k).GroupBy(k => _targets[k].Shape);
            foreach (var g in groups)
                EmitOutputs(g.Key, g.ToList(), terms, gatesOf, accumulate);

            var block = L.Block(_vars, _body.Append(L.Empty()));
            var lambda = L.Lambda<Action<double[][], int[], double[][]>>(block, _bufs, _dims, _scratch);
            Code = (string?)typeof(L).GetProperty("DebugView", System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Instance)?.GetValue(lambda) ?? "";
            return lambda.Compile();
        }

        /// <summary>Scalar input symbols that multiply a whole term: if one is zero, the term is zero.</summary>
        List<string> Gates(Expr term)
        {
            var factors = term.IsMul ? ((Expr.Mul)term).Item.ToList() : [term];
            return factors.Where(f => f.IsSym && ((Expr.Sym)f).Item.Shape.IsScalar && _scalar.ContainsKey(((Expr.Sym)f).Item.Name))
                .Select(f => ((Expr.Sym)f).Item.Name).Distinct().ToList();
        }

        L? Condition(List<List<string>> gateSets)
        {
            if (gateSets.Any(g => g.Count == 0)) return null;
            L? any = null;
            foreach (var set in gateSets.Distinct(new SetComparer()))
            {
                L all = set.Select(Gate).Aggregate(L.AndAlso);
                any = any is null ? all : L.OrElse(any, all);
            }
            return any;
        }

        sealed class SetComparer : IEqualityComparer<List<string>>
        {
            public bool Equals(List<string>? a, List<string>? b) => a!.SequenceEqual(b!);
            public int GetHashCode(List<string> s) => string.Join(",", s).GetHashCode();
        }

        L Gate(string name)
        {
            if (!_gate.TryGetValue(name, out var g))
            {
                g = Var(typeof(bool), "open_" + name);
                _body.Add(L.Assign(g, L.NotEqual(_scalar[name], L.Constant(0.0))));
                _gate[name] = g;
            }
            return g;
        }

        static Shape ShapeOf(Expr e) => Typing.shapeOf(e);

        static List<Expr> Children(Expr e) => e switch
        {
            Expr.Add a => a.Item.ToList(),
            Expr.Mul m => m.Item.ToList(),
            Expr.Pow p => [p.Item1, p.Item2],
            Expr.Call c => c.Item2.ToList(),
            _ => [],
        };

        static bool IsCall(Expr e, Fn fn) => e.IsCall && ((Expr.Call)e).Item1.Equals(fn);
        static FSharpList<Expr> Args(Expr e) => ((Expr.Call)e).Item2;

        /// <summary>Whether a sub-expression is computed once in the preamble rather than inline.</summary>
        static bool NeedsNode(Expr e)
        {
            if (e.IsNum || e.IsSym) return false;
            if (ShapeOf(e).IsScalar) return true;
            return IsCall(e, Fn.MatMul) || IsCall(e, Fn.Softmax) || IsCall(e, Fn.LogSoftmax);
        }

        /// <summary>Post-order walk: children's nodes before their parents', each once.</summary>
        void Collect(Expr e, List<string> gates, List<Expr> order, Dictionary<Expr, List<List<string>>> conds)
        {
            if (e.IsNum || e.IsSym) return;
            foreach (var c in Children(e)) Collect(c, gates, order, conds);
            // The vector argument of a mat-vec product or a softmax must exist as an array.
            if (IsCall(e, Fn.MatMul) || IsCall(e, Fn.Softmax) || IsCall(e, Fn.LogSoftmax))
            {
                var v = Args(e).Last();
                if (!v.IsSym && !NeedsNode(v) && ShapeOf(v).IsVector) Note(v, gates, order, conds);
            }
            if (NeedsNode(e)) Note(e, gates, order, conds);
        }

        static void Note(Expr e, List<string> gates, List<Expr> order, Dictionary<Expr, List<List<string>>> conds)
        {
            if (!conds.TryGetValue(e, out var list))
            {
                conds[e] = list = [];
                order.Add(e);
            }
            list.Add(gates);
        }

        LE.ParameterExpression Scratch(Shape shape, string name)
        {
            string[] dims = shape.IsVector ? [((Shape.Vector)shape).Item] : [((Shape.Matrix)shape).rows, ((Shape.Matrix)shape).cols];
            int slot = ScratchDims.Count;
            ScratchDims.Add(dims);
            var v = Var(typeof(double[]), name + slot);
            _body.Add(L.Assign(v, L.ArrayIndex(_scratch, L.Constant(slot))));
            return v;
        }

        /// <summary>The preamble code that computes node <paramref name="e"/>.</summary>
        L Materialize(Expr e)
        {
            var shape = ShapeOf(e);
            // A node's code is generated before the node is registered, so that it is built from its
            // children rather than from itself.
            if (shape.IsScalar)
            {
                var v = Var(typeof(double), "t");
                L code;
                if (IsCall(e, Fn.Dot))
                {
                    var a = Args(e)[0];
                    var b = Args(e)[1];
                    code = Reduce(v, ShapeOf(a), ctx => L.Multiply(Gen(a, ctx), Gen(b, ctx)));
                }
                else if (IsCall(e, Fn.SumAll))
                {
                    var a = Args(e)[0];
                    code = Reduce(v, ShapeOf(a), ctx => Gen(a, ctx));
                }
                else code = L.Assign(v, Gen(e, Ctx.Scalar));
                _nodes[e] = new Node(v, shape);
                return code;
            }
            if (shape.IsVector)
            {
                string dim = ((Shape.Vector)shape).Item;
                var arr = Scratch(shape, "v");
                L code;
                if (IsCall(e, Fn.MatMul)) code = MatVec(arr, Args(e)[0], Args(e)[1], dim);
                else if (IsCall(e, Fn.Softmax) || IsCall(e, Fn.LogSoftmax)) code = Softmax(arr, Args(e)[0], dim, IsCall(e, Fn.LogSoftmax));
                else
                {
                    var i = Var(typeof(int), "i");
                    code = For(i, Dim(dim), L.Assign(L.ArrayAccess(arr, i), Gen(e, new Ctx(dim, i, null, null))));
                }
                _nodes[e] = new Node(arr, shape);
                return code;
            }
            // A product of two dense matrices: O(n³), reported by Lowering.denseProducts.
            if (IsCall(e, Fn.MatMul))
            {
                var m = (Shape.Matrix)shape;
                var arr = Scratch(shape, "m");
                var a = Args(e)[0];
                var b = Args(e)[1];
                string k = ((Shape.Matrix)ShapeOf(a)).cols;
                LE.ParameterExpression i = Var(typeof(int), "i"), j = Var(typeof(int), "j"), t = Var(typeof(int), "k");
                var acc = Var(typeof(double), "acc");
                var code = For(i, Dim(m.rows), For(j, Dim(m.cols), L.Block(
                    L.Assign(acc, L.Constant(0.0)),
                    For(t, Dim(k), L.AddAssign(acc, L.Multiply(Gen(a, new Ctx(m.rows, i, k, t)), Gen(b, new Ctx(k, t, m.cols, j))))),
                    L.Assign(L.ArrayAccess(arr, L.Add(L.Multiply(i, Dim(m.cols)), j)), acc))));
                _nodes[e] = new Node(arr, shape);
                return code;
            }
            throw new KernelCompileException(_kernel, $"not supported: {Print.Text(e)}");
        }

        /// <summary>out[o] = Σ_k M(o,k) v[k]. When M reads its matrices transposed, the loops run over
        /// the stored rows (scatter), so memory is read in order either way.</summary>
        L MatVec(LE.ParameterExpression output, Expr m, Expr v, string outDim)
        {
            var ms = (Shape.Matrix)ShapeOf(m);
            string inDim = ms.cols;
            L VecAt(L k) => v.IsSym ? L.ArrayIndex(_array[((Expr.Sym)v).Item.Name], k) : L.ArrayIndex(_nodes[v].Var, k);
            LE.ParameterExpression o = Var(typeof(int), "o"), k = Var(typeof(int), "k");
            bool transposed = IsCall(m, Fn.Transpose);
            if (transposed)
            {
                var vk = Var(typeof(double), "vk");
                return L.Block(
                    For(o, Dim(outDim), L.Assign(L.ArrayAccess(output, o), L.Constant(0.0))),
                    For(k, Dim(inDim), L.Block(
                        L.Assign(vk, VecAt(k)),
                        For(o, Dim(outDim), L.AddAssign(L.ArrayAccess(output, o), L.Multiply(Gen(m, new Ctx(outDim, o, inDim, k)), vk))))));
            }
            var acc = Var(typeof(double), "acc");
            return For(o, Dim(outDim), L.Block(
                L.Assign(acc, L.Constant(0.0)),
                For(k, Dim(inDim), L.AddAssign(acc, L.Multiply(Gen(m, new Ctx(outDim, o, inDim, k)), VecAt(k)))),
                L.Assign(L.ArrayAccess(output, o), acc)));
        }

        /// <summary>softmax (or log-softmax) of a vector, shifted by its maximum for stability.</summary>
        L Softmax(LE.ParameterExpression output, Expr v, string dim, bool log)
        {
            L At(L i) => v.IsSym ? L.ArrayIndex(_array[((Expr.Sym)v).Item.Name], i) : L.ArrayIndex(_nodes[v].Var, i);
            LE.ParameterExpression i = Var(typeof(int), "i"), max = Var(typeof(double), "max"), sum = Var(typeof(double), "sum");
            var exp = typeof(Math).GetMethod(nameof(Math.Exp))!;
            var lg = typeof(Math).GetMethod(nameof(Math.Log), [typeof(double)])!;
            var mx = typeof(Math).GetMethod(nameof(Math.Max), [typeof(double), typeof(double)])!;
            var body = new List<L>
            {
                L.Assign(max, L.Constant(double.NegativeInfinity)),
                For(i, Dim(dim), L.Assign(max, L.Call(mx, max, At(i)))),
                L.Assign(sum, L.Constant(0.0)),
                For(i, Dim(dim), L.AddAssign(sum, L.Call(exp, L.Subtract(At(i), max)))),
            };
            body.Add(log
                ? For(i, Dim(dim), L.Assign(L.ArrayAccess(output, i), L.Subtract(L.Subtract(At(i), max), L.Call(lg, sum))))
                : For(i, Dim(dim), L.Assign(L.ArrayAccess(output, i), L.Divide(L.Call(exp, L.Subtract(At(i), max)), sum))));
            return L.Block(body);
        }

        /// <summary>v = Σ over the elements of a shape of term(element).</summary>
        L Reduce(LE.ParameterExpression v, Shape over, Func<Ctx, L> term)
        {
            var init = L.Assign(v, L.Constant(0.0));
            if (over.IsVector)
            {
                string d = ((Shape.Vector)over).Item;
                var i = Var(typeof(int), "i");
                return L.Block(init, For(i, Dim(d), L.AddAssign(v, term(new Ctx(d, i, null, null)))));
            }
            if (over.IsMatrix)
            {
                var m = (Shape.Matrix)over;
                LE.ParameterExpression i = Var(typeof(int), "i"), j = Var(typeof(int), "j");
                return L.Block(init, For(i, Dim(m.rows), For(j, Dim(m.cols), L.AddAssign(v, term(new Ctx(m.rows, i, m.cols, j))))));
            }
            return L.Assign(v, term(Ctx.Scalar));
        }

        /// <summary>The value of an element-wise expression at one element.</summary>
        L Gen(Expr e, Ctx ctx)
        {
            if (_nodes.TryGetValue(e, out var node))
            {
                if (node.Shape.IsScalar) return node.Var;
                if (node.Shape.IsVector) return L.ArrayIndex(node.Var, ctx.I!);
                var m = (Shape.Matrix)node.Shape;
                return L.ArrayIndex(node.Var, L.Add(L.Multiply(ctx.I!, Dim(m.cols)), ctx.J!));
            }
            switch (e)
            {
                case Expr.Num n:
                    return L.Constant(n.Item);
                case Expr.Sym s:
                    {
                        var sym = s.Item;
                        if (sym.Shape.IsScalar) return _scalar.TryGetValue(sym.Name, out var sv) ? sv : L.ArrayIndex(_array[sym.Name], L.Constant(0));
                        if (sym.Shape.IsVector)
                        {
                            // In a matrix context a vector can only stand under outer(), which sets the index.
                            if (ctx.I is null) throw new KernelCompileException(_kernel, $"vector {sym.Name} used where a scalar is computed");
                            return L.ArrayIndex(_array[sym.Name], ctx.I);
                        }
                        var ms = (Shape.Matrix)sym.Shape;
                        return L.ArrayIndex(_array[sym.Name], L.Add(L.Multiply(ctx.I!, Dim(ms.cols)), ctx.J!));
                    }
                case Expr.Add a:
                    return a.Item.Select(x => Gen(x, ctx)).Aggregate(L.Add);
                case Expr.Mul m:
                    return m.Item.Select(x => Gen(x, ctx)).Aggregate(L.Multiply);
                case Expr.Pow p:
                    return Power(Gen(p.Item1, ctx), p.Item2, ctx);
                case Expr.Call c when c.Item1.Equals(Fn.Transpose):
                    return Gen(c.Item2.Head, ctx.Swap());
                case Expr.Call c when c.Item1.Equals(Fn.Outer):
                    return L.Multiply(Gen(c.Item2[0], new Ctx(ctx.Row, ctx.I, null, null)), Gen(c.Item2[1], new Ctx(ctx.Col, ctx.J, null, null)));
                case Expr.Call c when Builtins.isElementwise(c.Item1):
                    return Builtins.info(c.Item1).Linq!.Value.Invoke(ListModule.OfSeq(c.Item2.Select(x => Gen(x, ctx))));
            }
            throw new KernelCompileException(_kernel, $"not supported: {Print.Text(e)}");
        }

        /// <summary>x^p with the integer powers spelled out, as Kernels.Pow computes them.</summary>
        L Power(L x, Expr exponent, Ctx ctx)
        {
            if (exponent is Expr.Num n && (n.Item is 1 or 2 or 3 or -1 or 0.5 or 0))
            {
                var t = Var(typeof(double), "p");
                L body = n.Item switch
                {
                    1 => t,
                    2 => L.Multiply(t, t),
                    3 => L.Multiply(L.Multiply(t, t), t),
                    -1 => L.Divide(L.Constant(1.0), t),
                    0.5 => L.Call(typeof(Math).GetMethod(nameof(Math.Sqrt))!, t),
                    _ => L.Constant(1.0),
                };
                return L.Block(L.Assign(t, x), body);
            }
            return L.Call(typeof(Kernels).GetMethod(nameof(Kernels.Pow), [typeof(double), typeof(double)])!, x, Gen(exponent, ctx));
        }

        void EmitOutputs(Shape shape, List<int> outs, List<List<Expr>> terms, Dictionary<Expr, List<string>> gatesOf, IReadOnlyList<bool> accumulate)
        {
            L Value(int k, Ctx ctx) => terms[k]
                .Select(t =>
                {
                    var g = gatesOf[t];
                    L v = Gen(t, ctx);
                    return g.Count == 0 ? v : L.Condition(g.Select(Gate).Aggregate(L.AndAlso), v, L.Constant(0.0));
                })
                .Aggregate(L.Add);

            // Compute every output's element into a temporary, then write them all.
            L Element(Ctx ctx, Func<int, L> index)
            {
                var temps = outs.Select(k => Var(typeof(double), "out" + k)).ToList();
                var block = new List<L>();
                for (int q = 0; q < outs.Count; q++) block.Add(L.Assign(temps[q], Value(outs[q], ctx)));
                for (int q = 0; q < outs.Count; q++)
                {
                    var target = L.ArrayAccess(_array[_targets[outs[q]].Name], index(outs[q]));
                    block.Add(accumulate[outs[q]] ? L.AddAssign(target, temps[q]) : L.Assign(target, temps[q]));
                }
                return L.Block(block);
            }

            if (shape.IsScalar)
            {
                _body.Add(Element(Ctx.Scalar, _ => L.Constant(0)));
            }
            else if (shape.IsVector)
            {
                string d = ((Shape.Vector)shape).Item;
                var i = Var(typeof(int), "i");
                _body.Add(For(i, Dim(d), Element(new Ctx(d, i, null, null), _ => i)));
            }
            else
            {
                var m = (Shape.Matrix)shape;
                // An output matrix read transposed inside the fused loop would see half-updated values.
                var targetNames = outs.Select(k => _targets[k].Name).ToHashSet();
                foreach (var k in outs)
                    foreach (var t in terms[k])
                        if (ReadsTransposed(t, targetNames) is { } name)
                            throw new KernelCompileException(_kernel, $"not supported: the output {name} is read transposed while it is written");
                LE.ParameterExpression i = Var(typeof(int), "i"), j = Var(typeof(int), "j"), row = Var(typeof(int), "row");
                _body.Add(For(i, Dim(m.rows), L.Block(
                    L.Assign(row, L.Multiply(i, Dim(m.cols))),
                    For(j, Dim(m.cols), Element(new Ctx(m.rows, i, m.cols, j), _ => L.Add(row, j))))));
            }
        }

        /// <summary>A target read transposed by the element-wise code (preamble nodes are computed before any write).</summary>
        string? ReadsTransposed(Expr e, HashSet<string> targets)
        {
            if (_nodes.ContainsKey(e) || e.IsNum || e.IsSym) return null;
            if (IsCall(e, Fn.Transpose) && Args(e).Head is Expr.Sym s && targets.Contains(s.Item.Name)) return s.Item.Name;
            return Children(e).Select(c => ReadsTransposed(c, targets)).FirstOrDefault(n => n is not null);
        }

        static L For(LE.ParameterExpression i, L n, L body)
        {
            var brk = L.Label("end");
            return L.Block(
                L.Assign(i, L.Constant(0)),
                L.Loop(L.IfThenElse(L.LessThan(i, n), L.Block(body, L.PostIncrementAssign(i)), L.Break(brk)), brk));
        }
    }
}
