using System.Diagnostics;
using RuleDsl.Runtime.Compiler;
using RuleDsl.Runtime.Meta;
using RuleDsl.Semantics;
using RuleDsl.Symbolic;
using static RuleDsl.Runtime.Engine.Ir;

namespace RuleDsl.Runtime.Engine.Feedforward;

/// <summary>The network of one experiment: layer sizes and the feedback pathway.</summary>
public sealed record FeedforwardConfig(int[] Layers, string Feedback = "fa")
{
    public int Depth => Layers.Length - 1;
}

/// <summary>Seconds spent per phase of the inner loop, summed over episodes (Stopwatch ticks).</summary>
public sealed class FeedforwardPhases
{
    public long Forward, StateTangents, Backward, Update, Query, Setup;
    public static double Seconds(long ticks) => ticks / (double)System.Diagnostics.Stopwatch.Frequency;
    public override string ToString() =>
        $"setup {Seconds(Setup):F3} s, forward {Seconds(Forward):F3} s, state tangents {Seconds(StateTangents):F3} s, backward {Seconds(Backward):F3} s, update {Seconds(Update):F3} s, query {Seconds(Query):F3} s";
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
    readonly FeedforwardModel _model;
    readonly Rule _rule;
    readonly IEpisodeSource _data;
    readonly int _seed;
    readonly Kernels _k;
    readonly bool _needsPreError;

    /// <summary>Weights whose largest magnitude passes this are taken to have exploded.</summary>
    public double ExplosionThreshold { get; init; } = 1e6;

    public int ParameterCount => _rule.Params.Length;
    public Rule Rule => _rule;

    /// <summary>When set, each episode adds its time per phase here (for benchmarks; off by default).</summary>
    public FeedforwardPhases? Phases { get; set; }

    public FeedforwardLearner(FeedforwardConfig config, FeedforwardModel model, Rule rule, IEpisodeSource data, IKernelBackend backend, int seed)
    {
        if (config.Layers.Length < 2) throw new ArgumentException("a network needs at least an input and an output layer");
        if (!model.Feedback.ContainsKey(config.Feedback))
            throw new ArgumentException($"unknown feedback '{config.Feedback}': the model defines {string.Join(", ", model.Feedback.Keys)}");
        if (rule.Setting != Setting.Feedforward) throw new ArgumentException($"rule {rule.Name} is not a feedforward rule");
        if (!rule.Traces.IsEmpty) throw new ArgumentException($"rule {rule.Name} declares traces, which the feedforward setting does not carry");
        _config = config;
        _model = model;
        _rule = rule;
        _data = data;
        _seed = seed;
        _needsPreError = rule.Inputs.Any(s => s.Name == "e_pre");
        _k = new Kernels(model, rule, config.Feedback, backend);
    }

    /// <summary>The kernels of one learner: each equation and its tangent, compiled once.</summary>
    sealed class Kernels
    {
        public readonly IKernel Z, Y, YOut, DZ, DZFirst, DY, DYOut, EOut, DEOut, Fb, DFb, Syn, DSyn, Loss, DLoss, FbBp, Orth;
        readonly System.Collections.Concurrent.ConcurrentDictionary<(int, bool), IKernel> _updates = new();
        readonly Rule _rule;
        readonly IKernelBackend _backend;
        readonly Symbol[] _carried, _carriedFirst;

        /// <summary>The weight update and its tangents along all D directions as one kernel, so the
        /// step makes one pass over W and every U_d (tangents named δX#d, as RuleKernels names them).
        /// Compiled once per D; the first layer's variant carries no δy_pre (the input is fixed).</summary>
        public IKernel Update(int directions, bool firstLayer) => _updates.GetOrAdd((directions, firstLayer), key =>
        {
            var (d, first) = key;
            var carried = first ? _carriedFirst : _carried;
            var outputs = new List<KernelOutput> { new(_rule.Weight, _rule.Update, true) };
            for (int k = 0; k < d; k++)
                outputs.Add(new KernelOutput(RuleKernels.Tangent(_rule.Weight, k), RuleKernels.TangentOf(_rule.Update, carried, k), true));
            return _backend.Compile(first ? $"update_1[{d}]" : $"update[{d}]", outputs);
        });

        public Kernels(FeedforwardModel m, Rule rule, string mode, IKernelBackend backend)
        {
            IKernel K(string name, params KernelOutput[] outs) => backend.Compile(name, outs);
            var thetas = rule.Params.Select(p => p.Symbol).ToArray();
            Z = K("z", Set("z_post", Vec("post"), m.PreActivation));
            Y = K("y", Set("y_post", Vec("post"), m.Hidden));
            YOut = K("y_out", Set("y_post", Vec("post"), m.Output));
            DZ = K("δz", Set("δz_post", Vec("post"), Tangent(m.PreActivation, "W", "y_pre")));
            DZFirst = K("δz_1", Set("δz_post", Vec("post"), Tangent(m.PreActivation, "W")));
            DY = K("δy", Set("δy_post", Vec("post"), Tangent(m.Hidden, "z_post")));
            DYOut = K("δy_out", Set("δy_post", Vec("post"), Tangent(m.Output, "z_post")));
            EOut = K("e_out", Set("e_post", Vec("post"), m.OutputError));
            DEOut = K("δe_out", Set("δe_post", Vec("post"), Tangent(m.OutputError, "z_post")));
            var fb = m.Feedback[mode];
            Fb = K("feedback", Set("e_pre", Vec("pre"), fb));
            DFb = K("δfeedback", Set("δe_pre", Vec("pre"), Tangent(fb, "e_post", "e_out", "z_pre", "W")));
            var syn = m.Synthetic[mode];
            Syn = K("e0", Set("e_pre", Vec("pre"), syn));
            DSyn = K("δe0", Set("δe_pre", Vec("pre"), Tangent(syn, "e_post", "e_out", "W")));
            _rule = rule;
            _backend = backend;
            // What carries a tangent through the update: θ, W and the network's state (B is fixed).
            var carried = new HashSet<string>(["W", "y_pre", "y_post", "e_pre", "e_post", "z_post", .. thetas.Select(t => t.Name)]);
            _carried = ExprModule.symbols(rule.Update).Where(x => carried.Contains(x.Name)).ToArray();
            _carriedFirst = _carried.Where(x => x.Name != "y_pre").ToArray();
            Loss = K("loss", Set("L", Shape.Scalar, m.Loss));
            DLoss = K("δloss", Set("δL", Shape.Scalar, Tangent(m.Loss, "z_post")));
            FbBp = K("feedback_bp", Set("e_pre_bp", Vec("pre"), Rename(m.Feedback["bp"], new Dictionary<string, string> { ["e_post"] = "e_post_bp" })));
            // Eq. 10: E_W = ‖z_ℓ − W ȳ_{ℓ−1}‖², ȳ_{ℓ−1} = Wᵀ σ(z_ℓ)
            var orth = Sym("z_post", Vec("post")) - MatMul(Sym("W", Mat("post", "pre")), MatMul(Transpose(Sym("W", Mat("post", "pre"))), Sym("y_post", Vec("post"))));
            Orth = K("orthonormality", Set("orth", Shape.Scalar, Call(Fn.Dot, orth, orth)));
        }
    }

    /// <summary>The buffers of one network and its tangents along D directions.</summary>
    sealed class State
    {
        public readonly int L, D;
        public readonly Tensor[] W, B, Y, Z, E, EBp;
        public readonly Tensor[][] U, DY, DZ, DE;
        public readonly Tensor Target, LossT;
        public readonly Tensor[] DLossT;
        public readonly Tensor[] OnesN;
        public readonly Tensor OrthT = Tensor.Scalar();
        public readonly Dictionary<string, Tensor> Theta = [];
        public readonly Tensor[][] V; // per direction, per θ: the θ-tangent

        public State(int[] n, string feedback, Rule rule, int directions)
        {
            L = n.Length - 1; D = directions;
            W = new Tensor[L + 1]; B = new Tensor[L + 1];
            for (int l = 1; l <= L; l++)
            {
                W[l] = Tensor.Matrix(n[l], n[l - 1]);
                B[l] = feedback == "dfa" ? Tensor.Matrix(n[l - 1], n[L]) : Tensor.Matrix(n[l - 1], n[l]);
            }
            Y = n.Select(Tensor.Vector).ToArray();
            Z = n.Select(Tensor.Vector).ToArray();
            E = n.Select(Tensor.Vector).ToArray();
            EBp = n.Select(Tensor.Vector).ToArray();
            OnesN = n.Select(k => { var t = Tensor.Vector(k); Array.Fill(t.Data, 1.0); return t; }).ToArray();
            U = Enumerable.Range(0, L + 1).Select(l => Enumerable.Range(0, D).Select(_ => l == 0 ? Tensor.Scalar() : Tensor.Matrix(n[l], n[l - 1])).ToArray()).ToArray();
            DY = n.Select(k => Enumerable.Range(0, D).Select(_ => Tensor.Vector(k)).ToArray()).ToArray();
            DZ = n.Select(k => Enumerable.Range(0, D).Select(_ => Tensor.Vector(k)).ToArray()).ToArray();
            DE = n.Select(k => Enumerable.Range(0, D).Select(_ => Tensor.Vector(k)).ToArray()).ToArray();
            Target = Tensor.Vector(n[L]);
            LossT = Tensor.Scalar();
            DLossT = Enumerable.Range(0, D).Select(_ => Tensor.Scalar()).ToArray();
            foreach (var p in rule.Params) Theta[p.Symbol.Name] = Tensor.Scalar();
            V = Enumerable.Range(0, D).Select(_ => rule.Params.Select(_ => Tensor.Scalar()).ToArray()).ToArray();
        }

        /// <summary>What the equations of layer <paramref name="l"/> call each name (direction d for
        /// tangents; a name δX#k is the tangent of X along direction k).</summary>
        public Tensor? Lookup(int l, int d, string name, IReadOnlyList<Param> ps)
        {
            int hash = name.IndexOf('#');
            if (hash > 0) return Lookup(l, int.Parse(name.AsSpan(hash + 1), System.Globalization.CultureInfo.InvariantCulture), name[..hash], ps);
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
            if (Theta.TryGetValue(name, out var t)) return t;
            if (name.StartsWith('δ'))
            {
                int r = ps.Select((p, i) => (p, i)).FirstOrDefault(x => "δ" + x.p.Symbol.Name == name, (null!, -1)).Item2;
                if (r >= 0) return V[d][r];
            }
            return null;
        }
    }

    /// <summary>The kernels of every layer, bound to one state's buffers.</summary>
    sealed class Plan
    {
        public readonly BoundKernel[] Z, Y, Fb, Upd, FbBp, Orth;
        public readonly BoundKernel[][] DZ, DY, DFb;
        public readonly BoundKernel EOut, Loss;
        public readonly BoundKernel[] DEOut, DLoss;

        public Plan(Kernels k, State s, Rule rule, bool needsPreError)
        {
            int L = s.L, D = s.D;
            var ps = rule.Params.ToList();
            BoundKernel B(IKernel kernel, int l, int d = 0) => BoundKernel.Bind(kernel, n => s.Lookup(l, d, n, ps));
            Z = new BoundKernel[L + 1]; Y = new BoundKernel[L + 1]; Fb = new BoundKernel[L + 1];
            Upd = new BoundKernel[L + 1]; FbBp = new BoundKernel[L + 1]; Orth = new BoundKernel[L + 1];
            DZ = new BoundKernel[L + 1][]; DY = new BoundKernel[L + 1][]; DFb = new BoundKernel[L + 1][];
            for (int l = 1; l <= L; l++)
            {
                Z[l] = B(k.Z, l);
                Y[l] = B(l == L ? k.YOut : k.Y, l);
                DZ[l] = Enumerable.Range(0, D).Select(d => B(l == 1 ? k.DZFirst : k.DZ, l, d)).ToArray();
                DY[l] = Enumerable.Range(0, D).Select(d => B(l == L ? k.DYOut : k.DY, l, d)).ToArray();
                if (l >= 2 || needsPreError)
                {
                    Fb[l] = B(l == 1 ? k.Syn : k.Fb, l);
                    DFb[l] = Enumerable.Range(0, D).Select(d => B(l == 1 ? k.DSyn : k.DFb, l, d)).ToArray();
                }
                if (l >= 2) FbBp[l] = B(k.FbBp, l);
                Upd[l] = B(k.Update(D, l == 1), l);
                Orth[l] = B(k.Orth, l);
            }
            EOut = B(k.EOut, L);
            DEOut = Enumerable.Range(0, D).Select(d => B(k.DEOut, L, d)).ToArray();
            Loss = B(k.Loss, L);
            DLoss = Enumerable.Range(0, D).Select(d => B(k.DLoss, L, d)).ToArray();
        }
    }

    /// <summary>Fresh Xavier-uniform weights and feedback for an episode (Eq. S.4).</summary>
    static void Initialise(State s, Data.Rng rng)
    {
        for (int l = 1; l <= s.L; l++)
        {
            foreach (var m in new[] { s.W[l], s.B[l] }) rng.XavierUniform(m.Data, m.Cols, m.Rows);
            foreach (var u in s.U[l]) u.Clear();
        }
        foreach (var t in s.DY[0]) t.Clear();
    }

    /// <summary>The stream of an episode's initial weights depends on (seed, episode) only, so a
    /// finite-difference check replays exactly the same network.</summary>
    public static Data.Rng WeightStream(int seed, int episode) => Data.Rng.For((ulong)seed, 0x3e1du, (ulong)episode);

    public EpisodeOutcome Run(double[] theta, double[][] directions, int episode, CancellationToken cancel)
    {
        long start = Stopwatch.GetTimestamp();
        _tForward = _tTangents = _tBackward = 0;
        long tUpdate = 0;
        var task = _data.Get(episode);
        var s = new State(_config.Layers, _config.Feedback, _rule, directions.Length);
        var plan = new Plan(_k, s, _rule, _needsPreError);
        for (int r = 0; r < theta.Length; r++) s.Theta[_rule.Params[r].Symbol.Name].Value = theta[r];
        for (int d = 0; d < directions.Length; d++)
            for (int r = 0; r < theta.Length; r++) s.V[d][r].Value = directions[d][r];
        Initialise(s, WeightStream(_seed, episode));

        int L = s.L;
        long trainStart = Stopwatch.GetTimestamp();
        for (int i = 0; i < task.TrainX.Length; i++)
        {
            if ((i & 31) == 0) cancel.ThrowIfCancellationRequested();
            Forward(s, plan, task.TrainX[i], task.TrainY[i]);
            Backward(s, plan);
            long tu = Stopwatch.GetTimestamp();
            for (int l = 1; l <= L; l++) plan.Upd[l].Run(); // W and every U_d in one step (all read the old W)
            tUpdate += Stopwatch.GetTimestamp() - tu;
            if (!s.Z[L].AllFinite()) return EpisodeOutcome.Failed($"the output became non-finite at training step {i + 1}");
            if ((i & 15) == 15 || i == task.TrainX.Length - 1)
            {
                for (int l = 1; l <= L; l++)
                {
                    double m = s.W[l].MaxAbs();
                    if (!double.IsFinite(m) || m > ExplosionThreshold)
                        return EpisodeOutcome.Failed($"the weights of layer {l} exploded (max |W| = {m:G3}) at training step {i + 1}");
                }
            }
        }

        long queryStart = Stopwatch.GetTimestamp();
        if (Phases is { } ph)
        {
            ph.Setup += trainStart - start; ph.Forward += _tForward; ph.StateTangents += _tTangents;
            ph.Backward += _tBackward; ph.Update += tUpdate;
        }
        // Query: meta-loss, its tangents, accuracy, and the analyses of the trained network.
        int D = directions.Length, q = task.QueryX.Length, correct = 0;
        double loss = 0;
        var dloss = new double[D];
        var angle = new double[L];
        var orth = new double[L + 1];
        for (int i = 0; i < q; i++)
        {
            Forward(s, plan, task.QueryX[i], task.QueryY[i]);
            plan.Loss.Run();
            loss += s.LossT.Value;
            for (int d = 0; d < D; d++) { plan.DLoss[d].Run(); dloss[d] += s.DLossT[d].Value; }
            if (ArgMax(s.Z[L].Data) == task.QueryY[i]) correct++;
            // Teaching signals of this rule's network vs what backprop would send through the same weights.
            plan.EOut.Run();
            for (int l = L; l >= 2; l--) plan.Fb[l].Run();
            s.E[L].Data.CopyTo(s.EBp[L].Data, 0);
            for (int l = L; l >= 2; l--) plan.FbBp[l].Run();
            for (int l = 1; l < L; l++) angle[l] += Angle(s.E[l].Data, s.EBp[l].Data);
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
    long _tForward, _tTangents, _tBackward;

    void Forward(State s, Plan p, double[] x, int label)
    {
        s.Y[0].CopyFrom(x);
        s.Target.Clear();
        s.Target[label] = 1;
        for (int l = 1; l <= s.L; l++)
        {
            long t0 = Stopwatch.GetTimestamp();
            p.Z[l].Run();
            p.Y[l].Run();
            long t1 = Stopwatch.GetTimestamp();
            foreach (var k in p.DZ[l]) k.Run();
            foreach (var k in p.DY[l]) k.Run();
            long t2 = Stopwatch.GetTimestamp();
            _tForward += t1 - t0; _tTangents += t2 - t1;
        }
    }

    void Backward(State s, Plan p)
    {
        long t0 = Stopwatch.GetTimestamp();
        p.EOut.Run();
        long t1 = Stopwatch.GetTimestamp();
        foreach (var k in p.DEOut) k.Run();
        _tBackward += t1 - t0; _tTangents += Stopwatch.GetTimestamp() - t1;
        for (int l = s.L; l >= 1; l--)
        {
            if (l == 1 && !_needsPreError) break;
            t0 = Stopwatch.GetTimestamp();
            p.Fb[l].Run();
            t1 = Stopwatch.GetTimestamp();
            foreach (var k in p.DFb[l]) k.Run();
            _tBackward += t1 - t0; _tTangents += Stopwatch.GetTimestamp() - t1;
        }
    }

    static int ArgMax(double[] v)
    {
        int best = 0;
        for (int i = 1; i < v.Length; i++) if (v[i] > v[best]) best = i;
        return best;
    }

    /// <summary>The angle in degrees between two teaching signals (Fig. 3d).</summary>
    public static double Angle(double[] a, double[] b)
    {
        double ab = 0, aa = 0, bb = 0;
        for (int i = 0; i < a.Length; i++) { ab += a[i] * b[i]; aa += a[i] * a[i]; bb += b[i] * b[i]; }
        if (aa == 0 || bb == 0) return 90;
        return Math.Acos(Math.Clamp(ab / Math.Sqrt(aa * bb), -1, 1)) * 180 / Math.PI;
    }
}
