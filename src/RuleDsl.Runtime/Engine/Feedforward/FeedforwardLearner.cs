using System.Diagnostics;
using RuleDsl.Runtime.Kernels;
using RuleDsl.Runtime.Kernels.Compiler;
using RuleDsl.Runtime.Meta;
using RuleDsl.Semantics;
using Setting = RuleDsl.Syntax.Setting;
using Precision = RuleDsl.Syntax.Precision;
using RuleDsl.Symbolic;
using static RuleDsl.Runtime.Kernels.Ir;

namespace RuleDsl.Runtime.Engine.Feedforward;

/// <summary>The network of one experiment: layer sizes and the feedback pathway.</summary>
public sealed record FeedforwardConfig(int[] Layers, string Feedback = "fa")
{
    public int Depth => Layers.Length - 1;
}

/// <summary>Time per phase of the inner loop, summed over episodes (Stopwatch ticks). Forward and
/// backward include their state tangents (each equation runs with all its tangents as one kernel).</summary>
public sealed class FeedforwardPhases
{
    public long Forward, Backward, Update, Query, Setup;
    public static double Seconds(long ticks) => ticks / (double)System.Diagnostics.Stopwatch.Frequency;
    public override string ToString() =>
        $"setup {Seconds(Setup):F3} s, forward {Seconds(Forward):F3} s, backward {Seconds(Backward):F3} s, update {Seconds(Update):F3} s, query {Seconds(Query):F3} s";
}

/// <summary>One episode's task: an online training stream and a query set, labels 0..M−1.</summary>
public sealed record EpisodeData(double[][] TrainX, int[] TrainY, double[][] QueryX, int[] QueryY);

public interface IEpisodeSource
{
    /// <summary>The task of episode <paramref name="episode"/>; the same episode always gives the same task.</summary>
    EpisodeData Get(int episode);
}

/// <summary>
/// Algorithm 1's inner loop with tangent propagation through learning. A fresh network (Xavier-uniform
/// W and B) learns the episode's training stream online with the rule; along each θ-direction v the
/// weight tangents U = dW/dθ·v are carried through every step, together with the state tangents of
/// the forward and feedback passes. The meta-loss tangent on the query set is then exact, and memory
/// does not grow with the number of steps. Every equation and every tangent is IR from the model and
/// the rule, turned into kernels by the backend.
/// </summary>
public sealed class FeedforwardLearner : IInnerLoop
{
    readonly FeedforwardConfig _config;
    readonly Rule[] _rules;
    readonly Param[] _params;
    readonly IEpisodeSource _data;
    readonly int _seed;
    readonly Kernels _k;
    readonly bool _needsPreError;
    // The buffers and bound kernels of the last episode, reused by the next one with the same number
    // of directions (an episode allocates nothing else of size; taken out while in use).
    Tuple<State, Plan[]>? _cached;

    /// <summary>Weights whose largest magnitude passes this are taken to have exploded.</summary>
    public double ExplosionThreshold { get; init; } = 1e6;

    /// <summary>θ: the union of the layers' parameters by name, in order of first appearance.</summary>
    public int ParameterCount => _params.Length;
    public IReadOnlyList<Param> Params => _params;
    /// <summary>The rule of layer 1 (of every layer unless per-layer rules were given).</summary>
    public Rule Rule => _rules[0];
    /// <summary>The rule of each layer ℓ = 1..L (index ℓ − 1).</summary>
    public IReadOnlyList<Rule> LayerRules => _rules;

    /// <summary>Run the next sample's forward pass inside each update where the backend can (same
    /// numbers either way; off: separate passes, for benchmarks).</summary>
    public bool FuseForward { get; set; } = true;

    /// <summary>Called after an episode's training stream with each layer's weights, layer 1 first (for tests).</summary>
    public Action<double[][]>? OnTrained { get; set; }

    /// <summary>When set, each episode adds its time per phase here (for benchmarks; off by default).</summary>
    public FeedforwardPhases? Phases { get; set; }

    public FeedforwardLearner(FeedforwardConfig config, FeedforwardModel model, Rule rule, IEpisodeSource data, IKernelBackend backend, int seed)
        : this(config, model, Enumerable.Repeat(rule, Math.Max(0, config.Layers.Length - 1)).ToArray(), data, backend, seed) { }

    /// <summary>A learner whose layer ℓ learns with <paramref name="layerRules"/>[ℓ − 1] (Table 1 of the
    /// paper: e.g. F0 in the first layer, eHebb in the others). Parameters with the same name are one
    /// θ shared by every layer that uses it.</summary>
    public FeedforwardLearner(FeedforwardConfig config, FeedforwardModel model, IReadOnlyList<Rule> layerRules, IEpisodeSource data, IKernelBackend backend, int seed)
    {
        if (config.Layers.Length < 2) throw new ArgumentException("a network needs at least an input and an output layer");
        if (!model.Feedback.ContainsKey(config.Feedback))
            throw new ArgumentException($"unknown feedback '{config.Feedback}': the model defines {string.Join(", ", model.Feedback.Keys)}");
        if (layerRules.Count != config.Depth)
            throw new ArgumentException($"the network has {config.Depth} layers of weights but {layerRules.Count} rules were given (one per layer)");
        foreach (var rule in layerRules.Distinct())
            if (rule.Setting != Setting.Feedforward) throw new ArgumentException($"rule {rule.Name} is not a feedforward rule");
        _config = config;
        _rules = layerRules.ToArray();
        _params = Theta.UnionOfParams(_rules);
        _data = data;
        _seed = seed;
        _needsPreError = _rules[0].Inputs.Any(s => s.Name == "e_pre");
        _k = new Kernels(model, config.Feedback, backend);
        _precision = backend.Precision;
        // A feedback pass that reads a pre × out matrix B carries the error straight from the output
        // layer (direct feedback alignment): its B has the output layer's size, whatever the mode's name.
        _directFeedback = ExprModule.symbols(model.Feedback[config.Feedback]).Any(x => x.Name == "B" && x.Shape.Equals(Shape.NewMatrix("pre", "out")));
    }

    readonly bool _directFeedback;
    readonly Precision _precision;

    /// <summary>The kernels of one learner: each equation together with its tangents along D directions
    /// (the tangent of X along direction k is δX#k, as RuleKernels names it), compiled once per D. An
    /// equation and all its tangents run as one kernel, so the products on a matrix (W y and W δy_k for
    /// every k; B e and B δe_k) share one pass over it.</summary>
    sealed class Kernels
    {
        readonly System.Collections.Concurrent.ConcurrentDictionary<(string, Rule?, int, bool), IKernel> _cache = new();
        readonly FeedforwardModel _m;
        readonly IKernelBackend _backend;
        /// <summary>Whether the update can carry the next sample's forward pass (z = W y, and a backend
        /// that computes products with the rows it has just written).</summary>
        public readonly bool CanFuse;
        readonly Expr _fb, _dFb, _syn, _dSyn, _dZ, _dZFirst, _dY, _dYOut, _dEOut, _dLoss;
        public readonly IKernel FbBp, Orth;

        public Kernels(FeedforwardModel m, string mode, IKernelBackend backend)
        {
            _m = m;
            _backend = backend;
            CanFuse = backend is IRowProductBackend && m.PreActivation.Equals(MatMul(Sym("W", Mat("post", "pre")), Sym("y_pre", Vec("pre"))));
            _dZ = Tangent(m.PreActivation, "W", "y_pre");
            _dZFirst = Tangent(m.PreActivation, "W");
            _dY = Tangent(m.Hidden, "z_post");
            _dYOut = Tangent(m.Output, "z_post");
            _dEOut = Tangent(m.OutputError, "z_post");
            _fb = m.Feedback[mode];
            _dFb = Tangent(_fb, "e_post", "e_out", "z_pre", "W");
            _syn = m.Synthetic[mode];
            _dSyn = Tangent(_syn, "e_post", "e_out", "W");
            _dLoss = Tangent(m.Loss, "z_post");
            FbBp = backend.Compile("feedback_bp", [Set("e_pre_bp", Vec("pre"), Rename(m.Feedback["bp"], new Dictionary<string, string> { ["e_post"] = "e_post_bp" }))]);
            // Eq. 10: E_W = ‖z_ℓ − W ȳ_{ℓ−1}‖², ȳ_{ℓ−1} = Wᵀ σ(z_ℓ)
            var orth = Sym("z_post", Vec("post")) - MatMul(Sym("W", Mat("post", "pre")), MatMul(Transpose(Sym("W", Mat("post", "pre"))), Sym("y_post", Vec("post"))));
            Orth = backend.Compile("orthonormality", [Set("orth", Shape.Scalar, Call(Fn.Dot, orth, orth))]);
        }

        /// <summary>δX → δX#k for every tangent symbol in e (the same equation along direction k).</summary>
        static Expr Along(Expr e, int k) => Rename(e, ExprModule.symbols(e).Where(x => x.Name.StartsWith('δ'))
            .Select(x => x.Name).Distinct().ToDictionary(n => n, n => $"{n}#{k}"));

        IKernel WithTangents(string name, string target, Shape shape, Expr value, Expr tangent, int d) =>
            _cache.GetOrAdd((name, null, d, false), _ =>
            {
                var outputs = new List<KernelOutput> { Set(target, shape, value) };
                for (int k = 0; k < d; k++) outputs.Add(new KernelOutput(RuleKernels.Tangent(new Symbol(target, shape), k), Along(tangent, k), false));
                return _backend.Compile($"{name}[{d}]", outputs);
            });

        /// <summary>z = W y and δz_k = W δy_k + U_k y (layer 1: U_k x) for k &lt; d.</summary>
        public IKernel Forward(int d, bool first) => first
            ? WithTangents("z_1", "z_post", Vec("post"), _m.PreActivation, _dZFirst, d)
            : WithTangents("z", "z_post", Vec("post"), _m.PreActivation, _dZ, d);
        public IKernel Activation(int d, bool output) => output
            ? WithTangents("y_out", "y_post", Vec("post"), _m.Output, _dYOut, d)
            : WithTangents("y", "y_post", Vec("post"), _m.Hidden, _dY, d);
        public IKernel OutputError(int d) => WithTangents("e_out", "e_post", Vec("post"), _m.OutputError, _dEOut, d);
        /// <summary>e_pre by the feedback pathway (layer 1: the synthetic e_0) and its tangents.</summary>
        public IKernel Feedback(int d, bool first) => first
            ? WithTangents("e0", "e_pre", Vec("pre"), _syn, _dSyn, d)
            : WithTangents("feedback", "e_pre", Vec("pre"), _fb, _dFb, d);
        public IKernel Loss(int d) => WithTangents("loss", "L", Shape.Scalar, _m.Loss, _dLoss, d);

        /// <summary>The weight update of a rule and its tangents along all d directions as one kernel, so
        /// the step makes one pass over W and every U_k. The first layer's variant carries no δy_pre
        /// (the input is fixed).</summary>
        public IKernel Update(Rule rule, int d, bool first) => _cache.GetOrAdd(("update", rule, d, first), _ =>
        {
            // What carries a tangent through the update: θ, W and the network's state (B is fixed; so is
            // the first layer's input).
            var carried = Tangents.carried(rule, first ? ["B", "y_pre"] : ["B"]).ToArray();
            var outputs = new List<KernelOutput> { new(rule.Weight, rule.Update, true) };
            for (int k = 0; k < d; k++)
                outputs.Add(new KernelOutput(RuleKernels.Tangent(rule.Weight, k), RuleKernels.TangentOf(rule.Update, carried, k), true));
            return _backend.Compile(first ? $"update_1 {rule.Name}[{d}]" : $"update {rule.Name}[{d}]", outputs);
        });

        /// <summary>A layer's traces stepped once (E_next = E + f) with their tangents along all d
        /// directions, as one kernel: every output reads the traces as they were. Null: the rule has none.</summary>
        public IKernel? Traces(Rule rule, int d, bool first) => rule.Traces.IsEmpty ? null : _cache.GetOrAdd(("traces", rule, d, first), _ =>
        {
            var carried = Tangents.carried(rule, first ? ["B", "y_pre"] : ["B"]).ToArray();
            var outputs = rule.Traces.Select(t => new KernelOutput(t.Symbol, t.Next, false)).ToList();
            for (int k = 0; k < d; k++)
                foreach (var t in rule.Traces)
                    outputs.Add(new KernelOutput(RuleKernels.Tangent(t.Symbol, k), RuleKernels.TangentOf(t.Next, carried, k), false));
            return _backend.Compile(first ? $"traces_1 {rule.Name}[{d}]" : $"traces {rule.Name}[{d}]", outputs);
        });

        /// <summary>The update, and with the rows it writes the next sample's forward pass through this
        /// layer: z' = W_new y' and δz'_k = W_new δy'_k + U_k,new y' (layer 1: U_k,new x'; δx' = 0), the
        /// tangent of z = W y. The primed buffers are the other half of the double-buffered state.</summary>
        public IKernel FusedUpdate(Rule rule, int d, bool first) => _cache.GetOrAdd(("fused", rule, d, first), _ =>
        {
            var update = Update(rule, d, first);
            Symbol V(string n, string dim) => new(n, Vec(dim));
            var w = new Symbol("W", Mat("post", "pre"));
            var products = new List<RowProduct> { new(V("z_next_post", "post"), [(w, V("y_next_pre", "pre"))]) };
            for (int k = 0; k < d; k++)
            {
                var terms = new List<(Symbol, Symbol)>();
                if (!first) terms.Add((w, RuleKernels.Tangent(V("y_next_pre", "pre"), k)));
                terms.Add((RuleKernels.Tangent(w, k), V("y_next_pre", "pre")));
                products.Add(new RowProduct(RuleKernels.Tangent(V("z_next_post", "post"), k), terms));
            }
            return ((IRowProductBackend)_backend).Compile("fused " + update.Name, update.Outputs, products);
        });
    }

    /// <summary>The buffers of one network and its tangents along D directions.</summary>
    sealed class State
    {
        public readonly int L, D;
        public readonly Tensor[] W, B, E, EBp;
        public readonly Tensor[][] U, DE;
        // The forward state (y, z and their tangents) twice: the update of one online step computes the
        // next sample's forward pass into the other half while it still reads this step's.
        public readonly Tensor[][] Ys, Zs;
        public readonly Tensor[][][] DYs, DZs;
        public readonly Tensor Target, LossT;
        public readonly Tensor[] DLossT;
        public readonly Tensor[] OnesN;
        public readonly Tensor OrthT = Tensor.Scalar();
        public readonly Dictionary<string, Tensor> Theta = [];
        public readonly Tensor[][] V; // per direction, per θ: the θ-tangent
        // Per layer: the rule's traces by name, and per direction their tangents by name (δE).
        public readonly Dictionary<string, Tensor>[] Traces;
        public readonly Dictionary<string, Tensor>[][] DTraces;
        readonly Dictionary<string, int> _paramIndex = [];

        public State(int[] n, bool directFeedback, IReadOnlyList<Param> ps, int directions, IReadOnlyList<Rule> rules, Precision p)
        {
            L = n.Length - 1; D = directions;
            W = new Tensor[L + 1]; B = new Tensor[L + 1];
            for (int l = 1; l <= L; l++)
            {
                W[l] = Tensor.Matrix(n[l], n[l - 1], p);
                B[l] = directFeedback ? Tensor.Matrix(n[l - 1], n[L], p) : Tensor.Matrix(n[l - 1], n[l], p);
            }
            Ys = [.. Enumerable.Range(0, 2).Select(_ => n.Select(k => Tensor.Vector(k, p)).ToArray())];
            Zs = [.. Enumerable.Range(0, 2).Select(_ => n.Select(k => Tensor.Vector(k, p)).ToArray())];
            E = n.Select(k => Tensor.Vector(k, p)).ToArray();
            EBp = n.Select(k => Tensor.Vector(k, p)).ToArray();
            OnesN = n.Select(k => { var t = Tensor.Vector(k, p); t.Fill(1.0); return t; }).ToArray();
            U = Enumerable.Range(0, L + 1).Select(l => Enumerable.Range(0, D).Select(_ => l == 0 ? Tensor.Scalar() : Tensor.Matrix(n[l], n[l - 1], p)).ToArray()).ToArray();
            DYs = [.. Enumerable.Range(0, 2).Select(_ => n.Select(k => Enumerable.Range(0, D).Select(_ => Tensor.Vector(k, p)).ToArray()).ToArray())];
            DZs = [.. Enumerable.Range(0, 2).Select(_ => n.Select(k => Enumerable.Range(0, D).Select(_ => Tensor.Vector(k, p)).ToArray()).ToArray())];
            DE = n.Select(k => Enumerable.Range(0, D).Select(_ => Tensor.Vector(k, p)).ToArray()).ToArray();
            Target = Tensor.Vector(n[L], p);
            LossT = Tensor.Scalar();
            DLossT = Enumerable.Range(0, D).Select(_ => Tensor.Scalar()).ToArray();
            for (int r = 0; r < ps.Count; r++)
            {
                Theta[ps[r].Symbol.Name] = Tensor.Scalar();
                _paramIndex[Differentiate.tangentSymbol(ps[r].Symbol).Name] = r;
            }
            V = Enumerable.Range(0, D).Select(_ => ps.Select(_ => Tensor.Scalar()).ToArray()).ToArray();
            // A trace has the shape the checker gave it: post×pre like W, or a post or pre vector.
            Tensor Sized(Shape shape, int l) =>
                shape.IsMatrix ? Tensor.Matrix(n[l], n[l - 1], p) : shape.Equals(Shape.NewVector("post")) ? Tensor.Vector(n[l], p) : Tensor.Vector(n[l - 1], p);
            Traces = new Dictionary<string, Tensor>[L + 1];
            DTraces = new Dictionary<string, Tensor>[L + 1][];
            for (int l = 0; l <= L; l++)
            {
                // Not `[]`: beside an F# list C# would build an FSharpList, which a notebook's FSharp.Core may lack.
                IEnumerable<RuleDsl.Semantics.Trace> traces = l == 0 ? Enumerable.Empty<RuleDsl.Semantics.Trace>() : rules[l - 1].Traces;
                Traces[l] = traces.ToDictionary(t => t.Symbol.Name, t => Sized(t.Symbol.Shape, l));
                DTraces[l] = Enumerable.Range(0, D).Select(_ =>
                    traces.ToDictionary(t => Differentiate.tangentSymbol(t.Symbol).Name, t => Sized(t.Symbol.Shape, l))).ToArray();
            }
        }

        /// <summary>Every buffer an episode reads before writing back to zero (W and B are drawn anew).</summary>
        public void Clear()
        {
            foreach (var group in new[] { Ys[0], Ys[1], Zs[0], Zs[1], E, EBp }) foreach (var t in group) t.Clear();
            foreach (var group in new[] { U, DYs[0], DYs[1], DZs[0], DZs[1], DE }) foreach (var ts in group) foreach (var t in ts) t.Clear();
            Target.Clear(); LossT.Clear(); OrthT.Clear();
            foreach (var t in DLossT) t.Clear();
            // Traces start at zero each episode, like the network, and so do their tangents.
            foreach (var layer in Traces) foreach (var t in layer.Values) t.Clear();
            foreach (var layer in DTraces) foreach (var dir in layer) foreach (var t in dir.Values) t.Clear();
        }

        /// <summary>What the equations of layer <paramref name="l"/> call each name, with the forward state
        /// in half <paramref name="p"/> (direction d for tangents; a name δX#k is the tangent of X along
        /// direction k; X_next_… is the other half: the next sample's forward pass).</summary>
        public Tensor? Lookup(int l, int d, string name, int p)
        {
            int hash = name.IndexOf('#');
            if (hash > 0) return Lookup(l, int.Parse(name.AsSpan(hash + 1), System.Globalization.CultureInfo.InvariantCulture), name[..hash], p);
            if (name.Contains("_next_")) return Lookup(l, d, name.Replace("_next_", "_"), 1 - p);
            var (Y, Z, DY, DZ) = (Ys[p], Zs[p], DYs[p], DZs[p]);
            switch (name)
            {
                case "W": return W[l];
                case "B": return B[l];
                case "y_pre": return Y[l - 1];
                case "y_post": return Y[l];
                case "z_post": return Z[l];
                case "z_pre": return Z[l - 1];
                case "e_post": return E[l];
                case "e_pre": return E[l - 1];
                case "e_out": return E[L];
                case "e_post_bp": return EBp[l];
                case "e_pre_bp": return EBp[l - 1];
                case "target": return Target;
                case "ones_pre": return OnesN[l - 1];
                case "ones_post": return OnesN[l];
                case "L": return LossT;
                case "orth": return OrthT;
                case "δW": return U[l][d];
                case "δy_pre": return DY[l - 1][d];
                case "δy_post": return DY[l][d];
                case "δz_post": return DZ[l][d];
                case "δz_pre": return DZ[l - 1][d];
                case "δe_post": return DE[l][d];
                case "δe_pre": return DE[l - 1][d];
                case "δe_out": return DE[L][d];
                case "δL": return DLossT[d];
            }
            if (Traces[l].TryGetValue(name, out var trace)) return trace;
            if (d < D && DTraces[l][d].TryGetValue(name, out var dTrace)) return dTrace;
            if (Theta.TryGetValue(name, out var t)) return t;
            if (_paramIndex.TryGetValue(name, out int r)) return V[d][r];
            return null;
        }
    }

    /// <summary>The kernels of every layer, bound to one state's buffers. Each kernel carries all D
    /// tangents of its equation; the *Plain ones (no tangents) serve the query's analyses.</summary>
    sealed class Plan
    {
        public readonly BoundKernel[] Fwd, Act, Fb, FbPlain, Upd, FbBp, Orth;
        /// <summary>Each layer's traces and their tangents (null where the layer's rule has none).</summary>
        public readonly BoundKernel?[] Trc;
        /// <summary>The update with the next sample's forward pass into the other half (null: not fused).</summary>
        public readonly BoundKernel[]? FusedUpd;
        public readonly BoundKernel EOut, EOutPlain, Loss;
        /// <summary>Which half of the forward state this plan reads.</summary>
        public readonly int Half;

        public Plan(Kernels k, State s, IReadOnlyList<Rule> rules, bool needsPreError, int half)
        {
            int L = s.L, D = s.D;
            Half = half;
            BoundKernel B(IKernel kernel, int l) => BoundKernel.Bind(kernel, n => s.Lookup(l, 0, n, half));
            Fwd = new BoundKernel[L + 1]; Act = new BoundKernel[L + 1]; Fb = new BoundKernel[L + 1]; FbPlain = new BoundKernel[L + 1];
            Upd = new BoundKernel[L + 1]; FbBp = new BoundKernel[L + 1]; Orth = new BoundKernel[L + 1]; Trc = new BoundKernel?[L + 1];
            if (k.CanFuse) FusedUpd = new BoundKernel[L + 1];
            for (int l = 1; l <= L; l++)
            {
                Fwd[l] = B(k.Forward(D, l == 1), l);
                Act[l] = B(k.Activation(D, l == L), l);
                if (l >= 2 || needsPreError)
                {
                    Fb[l] = B(k.Feedback(D, l == 1), l);
                    FbPlain[l] = B(k.Feedback(0, l == 1), l);
                }
                if (l >= 2) FbBp[l] = B(k.FbBp, l);
                Upd[l] = B(k.Update(rules[l - 1], D, l == 1), l);
                if (k.Traces(rules[l - 1], D, l == 1) is { } traces) Trc[l] = B(traces, l);
                if (FusedUpd is not null) FusedUpd[l] = B(k.FusedUpdate(rules[l - 1], D, l == 1), l);
                Orth[l] = B(k.Orth, l);
            }
            EOut = B(k.OutputError(D), L);
            EOutPlain = B(k.OutputError(0), L);
            Loss = B(k.Loss(D), L);
        }
    }

    /// <summary>Fresh Xavier-uniform weights and feedback for an episode (Eq. S.4).</summary>
    static void Initialise(State s, Data.Rng rng)
    {
        s.Clear();
        for (int l = 1; l <= s.L; l++)
            foreach (var m in new[] { s.W[l], s.B[l] })
            {
                // float32: drawn in double (the same stream as float64), then rounded.
                var a = m.Precision.IsFloat32 ? new double[m.Length] : m.Data;
                rng.XavierUniform(a, m.Cols, m.Rows);
                if (m.Precision.IsFloat32) m.CopyFrom(a);
            }
    }

    /// <summary>The stream of an episode's initial weights depends on (seed, episode) only, so a
    /// finite-difference check replays exactly the same network.</summary>
    public static Data.Rng WeightStream(int seed, int episode) => Data.Rng.Stream(Data.StreamKind.FeedforwardWeights, (ulong)seed, episode);

    public EpisodeOutcome Run(double[] theta, double[][] directions, int episode, CancellationToken cancel)
    {
        long start = Stopwatch.GetTimestamp();
        if (theta.Length != _params.Length) throw new ArgumentException($"θ has {theta.Length} components, the rule{(_rules.Distinct().Count() > 1 ? "s have" : " has")} {_params.Length}");
        var task = _data.Get(episode);
        var cached = Interlocked.Exchange(ref _cached, null);
        var (s, plan) = cached is { } c && c.Item1.D == directions.Length ? c : NewState(directions.Length);
        try
        {
            return Run(s, plan, task, theta, directions, episode, start, cancel);
        }
        finally
        {
            _cached = Tuple.Create(s, plan);
        }
    }

    Tuple<State, Plan[]> NewState(int directions)
    {
        var s = new State(_config.Layers, _directFeedback, _params, directions, _rules, _precision);
        return Tuple.Create(s, new[] { new Plan(_k, s, _rules, _needsPreError, 0), new Plan(_k, s, _rules, _needsPreError, 1) });
    }

    EpisodeOutcome Run(State s, Plan[] plans, EpisodeData task, double[] theta, double[][] directions, int episode, long start, CancellationToken cancel)
    {
        _tForward = _tBackward = 0;
        long tUpdate = 0;
        for (int r = 0; r < theta.Length; r++) s.Theta[_params[r].Symbol.Name].Value = theta[r];
        for (int d = 0; d < directions.Length; d++)
            for (int r = 0; r < theta.Length; r++) s.V[d][r].Value = directions[d][r];
        Initialise(s, WeightStream(_seed, episode));

        int L = s.L;
        long trainStart = Stopwatch.GetTimestamp();
        // With a fusing backend, the update of step i also runs step i + 1's forward pass (into the other
        // half of the forward state), so W and every U_k are streamed once per step instead of twice.
        int n = task.TrainX.Length, half = 0;
        bool ready = false;
        for (int i = 0; i < n; i++)
        {
            if ((i & 31) == 0) cancel.ThrowIfCancellationRequested();
            var plan = plans[half];
            if (ready) SetTarget(s, task.TrainY[i]);
            else Forward(s, plan, task.TrainX[i], task.TrainY[i]);
            Backward(s, plan);
            bool fuse = FuseForward && plan.FusedUpd is not null && i + 1 < n;
            long tu = Stopwatch.GetTimestamp();
            if (fuse)
            {
                s.Ys[1 - half][0].CopyFrom(task.TrainX[i + 1]);
                for (int l = 1; l <= L; l++)
                {
                    plan.Trc[l]?.Run();            // the traces first: the update reads their new values
                    plan.FusedUpd![l].Run();       // W, every U_k, and z', δz'_k of the next sample
                    plans[1 - half].Act[l].Run(); // y', δy'_k: the input of the next layer's products
                }
            }
            else
                for (int l = 1; l <= L; l++)
                {
                    plan.Trc[l]?.Run();
                    plan.Upd[l].Run(); // W and every U_d in one step (all read the old W)
                }
            tUpdate += Stopwatch.GetTimestamp() - tu;
            if (!s.Zs[half][L].AllFinite()) return EpisodeOutcome.Failed($"the output became non-finite at training step {i + 1}");
            if ((i & 15) == 15 || i == n - 1)
            {
                for (int l = 1; l <= L; l++)
                {
                    double m = s.W[l].MaxAbs();
                    if (!double.IsFinite(m) || m > ExplosionThreshold)
                        return EpisodeOutcome.Failed($"the weights of layer {l} exploded (max |W| = {m:G3}) at training step {i + 1}");
                }
            }
            ready = fuse;
            if (fuse) half = 1 - half;
        }

        OnTrained?.Invoke([.. s.W.Skip(1).Select(w => w.ToArray())]);
        long queryStart = Stopwatch.GetTimestamp();
        if (Phases is { } ph)
        {
            ph.Setup += trainStart - start; ph.Forward += _tForward;
            ph.Backward += _tBackward; ph.Update += tUpdate;
        }
        // Query: meta-loss, its tangents, accuracy, and the analyses of the trained network.
        int D = directions.Length, q = task.QueryX.Length, correct = 0;
        double loss = 0;
        var dloss = new double[D];
        var angle = new double[L];
        var orth = new double[L + 1];
        var qp = plans[half];
        for (int i = 0; i < q; i++)
        {
            var plan = qp;
            Forward(s, plan, task.QueryX[i], task.QueryY[i]);
            plan.Loss.Run();
            loss += s.LossT.Value;
            for (int d = 0; d < D; d++) dloss[d] += s.DLossT[d].Value;
            if (ArgMax(s.Zs[half][L]) == task.QueryY[i]) correct++;
            // Teaching signals of this rule's network vs what backprop would send through the same weights.
            plan.EOutPlain.Run();
            for (int l = L; l >= 2; l--) plan.FbPlain[l].Run();
            s.EBp[L].CopyFrom(s.E[L]);
            for (int l = L; l >= 2; l--) plan.FbBp[l].Run();
            for (int l = 1; l < L; l++) angle[l] += Angle(s.E[l], s.EBp[l]);
            for (int l = 1; l <= L; l++) { plan.Orth[l].Run(); orth[l] += s.OrthT.Value; }
        }
        loss /= q;
        for (int d = 0; d < D; d++) dloss[d] /= q;
        if (Phases is { } phq) phq.Query += Stopwatch.GetTimestamp() - queryStart;
        var metrics = new Dictionary<string, double> { ["accuracy"] = (double)correct / q, ["meta_loss"] = loss };
        for (int l = 1; l < L; l++) metrics[$"angle_{l}"] = angle[l] / q;
        for (int l = 1; l <= L; l++) metrics[$"orth_{l}"] = orth[l] / q;
        if (!double.IsFinite(loss) || dloss.Any(x => !double.IsFinite(x)))
            return EpisodeOutcome.Failed("the query loss or its tangent is not finite", metrics);
        return new EpisodeOutcome(loss, dloss, metrics);
    }

    // Phase clocks (Stopwatch ticks) of the running episode; read into Phases at its end.
    long _tForward, _tBackward;

    void Forward(State s, Plan p, double[] x, int label)
    {
        long t0 = Stopwatch.GetTimestamp();
        s.Ys[p.Half][0].CopyFrom(x);
        SetTarget(s, label);
        for (int l = 1; l <= s.L; l++)
        {
            p.Fwd[l].Run();
            p.Act[l].Run();
        }
        _tForward += Stopwatch.GetTimestamp() - t0;
    }

    static void SetTarget(State s, int label)
    {
        s.Target.Clear();
        s.Target[label] = 1;
    }

    void Backward(State s, Plan p)
    {
        long t0 = Stopwatch.GetTimestamp();
        p.EOut.Run();
        for (int l = s.L; l >= 1; l--)
        {
            if (l == 1 && !_needsPreError) break;
            p.Fb[l].Run();
        }
        _tBackward += Stopwatch.GetTimestamp() - t0;
    }

    static int ArgMax(Tensor v)
    {
        int best = 0;
        for (int i = 1; i < v.Length; i++) if (v[i] > v[best]) best = i;
        return best;
    }

    static double Angle(Tensor a, Tensor b) => a.Precision.IsFloat32 ? Angle(a.ToArray(), b.ToArray()) : Angle(a.Data, b.Data);

    /// <summary>The angle in degrees between two teaching signals (Fig. 3d).</summary>
    public static double Angle(double[] a, double[] b)
    {
        double ab = 0, aa = 0, bb = 0;
        for (int i = 0; i < a.Length; i++) { ab += a[i] * b[i]; aa += a[i] * a[i]; bb += b[i] * b[i]; }
        if (aa == 0 || bb == 0) return 90;
        return Math.Acos(Math.Clamp(ab / Math.Sqrt(aa * bb), -1, 1)) * 180 / Math.PI;
    }
}
