using System.Collections.Concurrent;
using RuleDsl.Runtime.Kernels;
using RuleDsl.Runtime.Meta;
using RuleDsl.Semantics;
using Setting = RuleDsl.Syntax.Setting;
using Precision = RuleDsl.Syntax.Precision;
using RuleDsl.Symbolic;
using static RuleDsl.Runtime.Kernels.Ir;

namespace RuleDsl.Runtime.Engine.Recurrent;

/// <summary>One trial of a cognitive task as the engine sees it: input per step, target and scoring
/// mask per step, and the condition (trial type) whose reward baseline it uses.</summary>
public readonly record struct TrialData(double[][] Inputs, double[] Target, double[] Mask, int Condition)
{
    /// <summary>The task's own trial object, for its scoring.</summary>
    public object? Source { get; init; }
}

/// <summary>Arrays a learner hands back to its <see cref="ITrialSource"/> for the next trial.</summary>
public sealed class TrialBuffers
{
    public Tasks.Cognitive.TrialBuilder? Builder { get; set; }
    public double[] Mask { get; set; } = [];
    /// <summary>The generator of the task's trial streams, restarted for every trial.</summary>
    public Data.Rng? Rng { get; set; }
}

public interface ITrialSource
{
    int InputCount { get; }
    int Conditions { get; }
    /// <summary>Trial <paramref name="trial"/> of episode <paramref name="episode"/>; deterministic.</summary>
    TrialData Get(int episode, int trial);

    /// <summary>The same trial, written into buffers the caller passes for every trial (it stays valid
    /// until the next call with them); a source without such buffers returns a fresh one.</summary>
    TrialData Get(int episode, int trial, TrialBuffers reuse) => Get(episode, trial);
    /// <summary>Whether a trial counts as correct, given its reward and the network's output per step.</summary>
    bool IsCorrect(TrialData trial, double reward, double[] output);
}

/// <summary>Network size, initialisation and exploration; defaults close to the literature.</summary>
public sealed record RecurrentConfig(
    int Units = 100,
    int Horizon = 100,
    double Gamma = 1.0,
    double Gain = 1.5,
    double PerturbationProbability = 0.015,
    double PerturbationAmplitude = 16,
    double InitialState = 0.1,
    double WeightLimit = 1e3,
    /// <summary>The Euler step (seconds); the model must be built with the same dt.</summary>
    double Dt = 0.005,
    /// <summary>The unit whose rate is the output; it receives no external input.</summary>
    int OutputUnit = 0,
    /// <summary>Units held at a fixed state throughout (Miconi's bias units: 1, 1, −1).</summary>
    (int Unit, double Value)[]? Clamped = null,
    /// <summary>Perturbations only at steps ≥ this (Miconi: from the fourth step).</summary>
    int PerturbationFromStep = 4,
    /// <summary>Traces accumulate only at steps ≥ this (Miconi: from the third step).</summary>
    int TraceFromStep = 3,
    /// <summary>Weights change only after this many learning trials (Miconi: 100, while the reward
    /// baselines settle); the baselines are updated from the first trial.</summary>
    int LearnAfterTrial = 0,
    /// <summary>x̄ carried from one trial into the next (Miconi's) instead of restarting at each
    /// trial's initial state; it starts at 0 in a fresh network.</summary>
    bool CarryAverage = false,
    /// <summary>The output z = w_out·r read (and scored) after the Euler step, from r(t) = φ(x(t))
    /// (Miconi's), instead of before it, from the rates r(t−1) that drive the step.</summary>
    bool ReadoutAfterStep = false,
    /// <summary>Trials to criterion (a metric of every run) count the trials up to the first window of
    /// <see cref="CriterionWindow"/> successive trials with at least this fraction correct (the
    /// experiment's `criterion` and `criterion_window`).</summary>
    double Criterion = 0.9,
    int CriterionWindow = 100);

/// <summary>
/// Learning trials of a rate RNN with a three-factor rule, carrying forward-mode sensitivities along
/// θ-directions through the whole learning trajectory (the poster's four recursions: state, average,
/// eligibility and weight tangents, plus the reward and its baseline). The objective is
/// J = Σ_h γ^h R^h over the horizon; the loop minimises −J/H. Memory does not grow with the number of
/// trials. Exploration noise comes from a stream seeded by (seed, episode, trial), so a finite-
/// difference check replays the same noise.
/// </summary>
public sealed class RecurrentLearner : IInnerLoop
{
    readonly RecurrentConfig _config;
    readonly Rule _rule;
    readonly ITrialSource _task;
    readonly int _seed;
    readonly IKernel _rate, _dRate, _readout, _dReadout, _reward, _dReward, _traces, _dTraces, _step, _dStep, _update, _dUpdate, _baseline, _dBaseline;
    readonly IKernel? _average, _dAverage;
    readonly Symbol[] _traceSymbols;
    readonly RankOneTraces _factored;
    readonly Precision _precision;
    readonly IKernelBackend _backend;
    readonly ConcurrentDictionary<IKernel, TangentBlock> _blocks = new();
    // Whether a kernel of the step loop writes W or W_in (then their products cannot come from copies made per trial).
    readonly bool _perStepWritesWeights;

    /// <summary>The fast paths taken (all by default; <see cref="RecurrentSpeedups.None"/>: the plain path).</summary>
    public RecurrentSpeedups Speedups { get; set; } = RecurrentSpeedups.Default;

    /// <summary>Why the trace is not factored into rank-k updates (null when it is).</summary>
    public string? NotFactored => _factored.Why;

    public int ParameterCount => _rule.Params.Length;

    /// <summary>Called after every learning trial with (trial, reward, correct).</summary>
    public Action<int, double, bool>? OnTrial { get; set; }

    /// <summary>Called at the end of an episode with the trained recurrent and input weights.</summary>
    public Action<double[], double[]>? OnTrained { get; set; }

    public RecurrentLearner(RecurrentConfig config, RecurrentModel model, Rule rule, ITrialSource task, IKernelBackend backend, int seed)
    {
        if (rule.Setting != Setting.Recurrent) throw new ArgumentException($"rule {rule.Name} is not a recurrent rule");
        _config = config; _rule = rule; _task = task; _seed = seed;
        _precision = backend.Precision; _backend = backend;
        _traceSymbols = rule.Traces.Select(t => t.Symbol).ToArray();
        IKernel K(string name, params KernelOutput[] outs) => backend.Compile(name, outs);
        _rate = K("r", Set("r", Vec("pre"), model.Rate));
        _dRate = K("δr", Set("δr", Vec("pre"), Tangent(model.Rate, "x_pre")));
        _readout = K("z", Set("z", Shape.Scalar, model.Readout));
        _dReadout = K("δz", Set("δz", Shape.Scalar, Tangent(model.Readout, "r_post")));
        _reward = K("reward", new KernelOutput(new Symbol("Racc", Shape.Scalar), model.RewardRate, true));
        _dReward = K("δreward", new KernelOutput(new Symbol("δRacc", Shape.Scalar), Tangent(model.RewardRate, "z"), true));
        string[] state = [.. Tangents.carried(rule, []).Select(s => s.Name)];
        var traceOutputs = rule.Traces.Select(t => new KernelOutput(t.Symbol, t.Next, false)).ToArray();
        var tangentOutputs = rule.Traces.Select(t => new KernelOutput(Differentiate.tangentSymbol(t.Symbol), Tangent(t.Next, state), false)).ToArray();
        _traces = K("traces", traceOutputs);
        _dTraces = K("δtraces", tangentOutputs);
        _step = K("step", Set("x", Vec("post"), model.Dynamics), Set("xbar", Vec("post"), model.Average));
        _dStep = K("δstep", Set("δx", Vec("post"), Tangent(model.Dynamics, "x", "r", "W")), Set("δxbar", Vec("post"), Tangent(model.Average, "x", "xbar")));
        if (config.CarryAverage)
        {
            _average = K("average", Set("xbar", Vec("post"), model.Average));
            _dAverage = K("δaverage", Set("δxbar", Vec("post"), Tangent(model.Average, "x", "xbar")));
        }
        _update = K("update", new KernelOutput(rule.Weight, rule.Update, true));
        _dUpdate = K("δupdate", new KernelOutput(Differentiate.tangentSymbol(rule.Weight), Tangent(rule.Update, state), true));
        _baseline = K("baseline", Set("Rbar", Shape.Scalar, model.Baseline));
        _dBaseline = K("δbaseline", Set("δRbar", Shape.Scalar, Tangent(model.Baseline, "Rbar", "R")));
        IKernel[] perStep = [_rate, _dRate, _readout, _dReadout, _reward, _dReward, _traces, _dTraces, _step, _dStep];
        _factored = RankOneTraces.Of(rule, backend, perStep.Where(k => k != _traces), traceOutputs, tangentOutputs);
        _perStepWritesWeights = perStep.SelectMany(k => k.Outputs).Any(o => o.Target.Name is "W" or "W_in" || o.Target.Name == rule.Weight.Name);
    }

    sealed class State
    {
        public readonly int N, D;
        public readonly Tensor X, XBar, Rate, W, Win, U, Noise, WOut, Z, Target, Mask, Racc, R, Rbar, Dt, Free, Clamp;
        public readonly Tensor[] RbarByCondition;
        public readonly Dictionary<string, Tensor> Named = [];
        public readonly Tensor[] DX, DXBar, DRate, DZ, DRacc, DR, DRbar, UW;
        public readonly Tensor[][] DRbarByCondition;
        public readonly Dictionary<string, Tensor>[] NamedTangent;

        public State(int n, int inputs, int conditions, Rule rule, int directions, double dt, Precision p)
        {
            N = n; D = directions;
            X = Tensor.Vector(n, p); XBar = Tensor.Vector(n, p); Rate = Tensor.Vector(n, p);
            W = Tensor.Matrix(n, n, p); Win = Tensor.Matrix(n, inputs, p); U = Tensor.Vector(inputs, p); Noise = Tensor.Vector(n, p);
            WOut = Tensor.Vector(n, p); Z = Tensor.Scalar(); Target = Tensor.Scalar(); Mask = Tensor.Scalar();
            Racc = Tensor.Scalar(); R = Tensor.Scalar(); Rbar = Tensor.Scalar(); Dt = Tensor.Scalar(dt);
            Free = Tensor.Vector(n, p); Clamp = Tensor.Vector(n, p);
            var ones = Tensor.Vector(n, p);
            ones.Fill(1.0);
            Named["ones_post"] = ones;
            Named["ones_pre"] = ones;
            RbarByCondition = Enumerable.Range(0, conditions).Select(_ => Tensor.Scalar()).ToArray();
            Tensor[] PerDir(Func<Tensor> make) => Enumerable.Range(0, directions).Select(_ => make()).ToArray();
            DX = PerDir(() => Tensor.Vector(n, p)); DXBar = PerDir(() => Tensor.Vector(n, p)); DRate = PerDir(() => Tensor.Vector(n, p));
            DZ = PerDir(() => Tensor.Scalar()); DRacc = PerDir(() => Tensor.Scalar()); DR = PerDir(() => Tensor.Scalar());
            DRbar = PerDir(() => Tensor.Scalar()); UW = PerDir(() => Tensor.Matrix(n, n, p));
            DRbarByCondition = Enumerable.Range(0, conditions).Select(_ => PerDir(() => Tensor.Scalar())).ToArray();
            foreach (var (name, t) in new[] { ("x", X), ("x_pre", X), ("xbar", XBar), ("xbar_pre", XBar), ("r", Rate), ("r_post", Rate),
                         ("W", W), ("W_in", Win), ("u", U), ("noise", Noise), ("w_out", WOut), ("z", Z), ("target", Target), ("mask", Mask),
                         ("Racc", Racc), ("R", R), ("Rbar", Rbar), ("dt", Dt), ("free", Free), ("clamp", Clamp) })
                Named[name] = t;
            foreach (var tr in rule.Traces)
            {
                var s = tr.Symbol.Shape;
                Named[tr.Symbol.Name] = s.IsMatrix ? Tensor.Matrix(n, n, p) : s.IsVector ? Tensor.Vector(n, p) : Tensor.Scalar();
            }
            foreach (var q in rule.Params) Named[q.Symbol.Name] = Tensor.Scalar();
            NamedTangent = new Dictionary<string, Tensor>[directions];
            for (int d = 0; d < directions; d++)
            {
                var m = new Dictionary<string, Tensor>
                {
                    ["δx"] = DX[d],
                    ["δx_pre"] = DX[d],
                    ["δxbar"] = DXBar[d],
                    ["δxbar_pre"] = DXBar[d],
                    ["δr"] = DRate[d],
                    ["δr_post"] = DRate[d],
                    ["δz"] = DZ[d],
                    ["δRacc"] = DRacc[d],
                    ["δR"] = DR[d],
                    ["δRbar"] = DRbar[d],
                    ["δW"] = UW[d],
                };
                foreach (var tr in rule.Traces)
                {
                    var s = tr.Symbol.Shape;
                    m[Differentiate.tangentSymbol(tr.Symbol).Name] = s.IsMatrix ? Tensor.Matrix(n, n, p) : s.IsVector ? Tensor.Vector(n, p) : Tensor.Scalar();
                }
                foreach (var q in rule.Params) m[Differentiate.tangentSymbol(q.Symbol).Name] = Tensor.Scalar();
                NamedTangent[d] = m;
            }
        }

        public Tensor? Lookup(int d, string name) =>
            Named.TryGetValue(name, out var t) ? t : d < D && NamedTangent[d].TryGetValue(name, out var u) ? u : null;

        /// <summary>For a kernel of all directions: δX#d is direction d's δX.</summary>
        public Tensor? LookupAlong(string name) =>
            TangentBlock.Split(name) is var (d, baseName) ? Lookup(d, baseName) : Lookup(0, name);
    }


    public EpisodeOutcome Run(double[] theta, double[][] directions, int episode, CancellationToken cancel)
    {
        int n = _config.Units, D = directions.Length;
        var s = new State(n, _task.InputCount, _task.Conditions, _rule, D, _config.Dt, _precision);
        BoundKernel B(IKernel k, int d = 0) => BoundKernel.Bind(k, name => s.Lookup(d, name));
        // One kernel for all directions (or blocks of them) where the block path is on (bit-identical), else one per direction.
        BoundKernel[] PerDir(IKernel k) => Speedups.BlockTangents && D > 1 ? Block(k) : Enumerable.Range(0, D).Select(d => B(k, d)).ToArray();
        BoundKernel[] Block(IKernel k)
        {
            var block = _blocks.GetOrAdd(k, k => new TangentBlock(_backend, k.Name, k.Outputs));
            int w = block.Width(D);
            return [.. Enumerable.Range(0, (D + w - 1) / w).Select(g => BoundKernel.Bind(block.For(g * w, Math.Min(w, D - g * w)), s.LookupAlong))];
        }
        var rate = B(_rate); var dRate = PerDir(_dRate);
        var readout = B(_readout); var dReadout = PerDir(_dReadout);
        var reward = B(_reward); var dReward = PerDir(_dReward);
        var traces = _traceSymbols.Length > 0 ? B(_traces) : null; var dTraces = _traceSymbols.Length > 0 ? PerDir(_dTraces) : [];
        var step = B(_step); var dStep = PerDir(_dStep);
        var update = B(_update); var dUpdate = PerDir(_dUpdate);
        var baseline = B(_baseline); var dBaseline = PerDir(_dBaseline);
        var average = _average is null ? null : B(_average); var dAverage = _dAverage is null ? [] : PerDir(_dAverage);
        // A carried x̄ as Miconi's: it averages the states after each step, never a trial's initial state.
        // Factored traces: the trace kernels hand their rows to a DeferredRows each (E, and δE per
        // direction), flushed before the weight update reads them.
        bool factor = Speedups.FactoredTraces && traces is not null && _factored.Traces is not null
                      && (_factored.Terms <= 1 || Speedups.FactorSeveralTerms);
        bool factorTangents = factor && Speedups.FactoredTangents && _factored.TangentTraces is not null;
        if (factor) traces = B(_factored.Traces!);
        if (factorTangents) dTraces = Enumerable.Range(0, D).Select(d => B(_factored.TangentTraces!, d)).ToArray();
        var sink = factor ? RowSink.Of(_precision) : null;
        var dSinks = factorTangents ? Enumerable.Range(0, D).Select(_ => RowSink.Of(_precision)).ToArray() : null;
        bool reuseRates = Speedups.ReuseRates && _config.ReadoutAfterStep;
        // W and W_in laid out for the steps of a trial: no per-step kernel writes them (W changes in the
        // update between trials).
        var packed = Speedups.PackedWeights && !_perStepWritesWeights ? PackedWeights.Of(_precision) : null;
        var carried = average is null ? [] : new double[n];
        var dCarried = average is null ? [] : Enumerable.Range(0, D).Select(_ => new double[n]).ToArray();

        for (int r = 0; r < theta.Length; r++) s.Named[_rule.Params[r].Symbol.Name].Value = theta[r];
        for (int d = 0; d < D; d++)
            for (int r = 0; r < theta.Length; r++) s.NamedTangent[d][Differentiate.tangentSymbol(_rule.Params[r].Symbol).Name].Value = directions[d][r];

        // A fresh network: W ~ N(0, G²/N), W_in ~ U[−1, 1], the output read from unit 0.
        var init = RecurrentStreams.Init((ulong)_seed, episode);
        double sd = _config.Gain / Math.Sqrt(n);
        for (int i = 0; i < s.W.Length; i++) s.W[i] = sd * init.Normal();
        for (int i = 0; i < s.Win.Length; i++) s.Win[i] = 2 * init.NextDouble() - 1;
        for (int k = 0; k < s.Win.Cols; k++) s.Win[_config.OutputUnit, k] = 0;
        s.WOut[_config.OutputUnit] = 1;
        s.Free.Fill(1.0);
        foreach (var (unit, value) in _config.Clamped ?? []) { s.Free[unit] = 0; s.Clamp[unit] = value; }

        double objective = 0, weight = 1;
        var dObjective = new double[D];
        int correct = 0, counted = 0;
        var criterion = Reference.CriterionTracker.Of(_config.Criterion, _config.CriterionWindow);
        double lastRewards = 0;
        double[] output = [];
        var buffers = new TrialBuffers();
        // Every trial clears the traces and their tangents: found once, not by name per trial.
        var traceTensors = _traceSymbols.Select(t => s.Named[t.Name]).ToArray();
        var traceTangentTensors = Enumerable.Range(0, D).SelectMany(d => _traceSymbols.Select(t => s.NamedTangent[d][Differentiate.tangentSymbol(t).Name])).ToArray();
        var noiseRng = new Data.Rng(0);   // restarted at each trial's stream
        var kicks = new double[n];        // drawn in double whatever the precision, as the reference learner draws them
        int H = _config.Horizon;
        for (int h = 0; h < H; h++)
        {
            cancel.ThrowIfCancellationRequested();
            var trial = _task.Get(episode, h, buffers);
            var noise = RecurrentStreams.Trial((ulong)_seed, episode, h, noiseRng);
            // Start of trial: state near zero, traces and reward accumulators cleared; tangents of the
            // state restart at zero too (the initial state does not depend on θ). A carried x̄ keeps
            // its value and its tangent.
            for (int i = 0; i < n; i++) s.X[i] = _config.InitialState * (2 * noise.NextDouble() - 1);
            foreach (var (unit, value) in _config.Clamped ?? []) s.X[unit] = value;
            if (!_config.CarryAverage) s.XBar.CopyFrom(s.X);
            foreach (var t in traceTensors) t.Clear();
            foreach (var t in traceTangentTensors) t.Clear();
            s.Racc.Clear();
            for (int d = 0; d < D; d++)
            {
                s.DX[d].Clear(); s.DRacc[d].Clear();
                if (!_config.CarryAverage) s.DXBar[d].Clear();
            }
            double scored = 0;
            // The output trace, reused while trials keep their length (the task scores output.Length steps).
            if (output.Length != trial.Target.Length) output = new double[trial.Target.Length];
            void ReadOut(int t)
            {
                foreach (var k in dReadout) k.Run(); readout.Run();
                output[t] = s.Z.Value;
                foreach (var k in dReward) k.Run(); reward.Run();
            }
            packed?.Use(s.W, s.Win);
            try
            {
                for (int t = 0; t < trial.Target.Length; t++)
                {
                    s.U.CopyFrom(trial.Inputs[t]);
                    s.Target.Value = trial.Target[t];
                    s.Mask.Value = trial.Mask[t];
                    scored += trial.Mask[t];
                    if (t >= _config.PerturbationFromStep) noise.Kicks(kicks, _config.PerturbationProbability, _config.PerturbationAmplitude);
                    else Array.Clear(kicks);
                    s.Noise.CopyFrom(kicks);
                    // With the readout after the step, the rates of x(t−1) were computed for it already.
                    if (!(reuseRates && t > 0)) { foreach (var k in dRate) k.Run(); rate.Run(); }
                    if (!_config.ReadoutAfterStep) ReadOut(t);
                    if (average is not null && t == 0)
                    {
                        s.XBar.CopyTo(carried);
                        for (int d = 0; d < D; d++) s.DXBar[d].CopyTo(dCarried[d]);
                    }
                    foreach (var k in dStep) k.Run(); step.Run();
                    if (average is not null && t == 0)
                    {
                        // The step averaged in the initial state; x̄ stays as the last trial left it.
                        s.XBar.CopyFrom(carried);
                        for (int d = 0; d < D; d++) s.DXBar[d].CopyFrom(dCarried[d]);
                    }
                    // Traces see the state after the step: x = x(t), xbar = x̄(t−1) (the step updates it
                    // from the old x), r = r(t−1), the rates that drove the step — Miconi's (r_j(t−1) δx_i(t)).
                    if (traces is not null && t >= _config.TraceFromStep)
                    {
                        for (int d = 0; d < dTraces.Length; d++)
                        {
                            dSinks?[d].Use();
                            dTraces[d].Run();
                        }
                        sink?.Use();
                        traces.Run();
                    }
                    if (_config.ReadoutAfterStep)
                    {
                        // r(t) = φ(x(t)) now; the next step reuses them (or, plain, computes the same rates again).
                        foreach (var k in dRate) k.Run(); rate.Run();
                        ReadOut(t);
                    }
                }
            }
            finally { packed?.Release(); }
            sink?.Flush();
            foreach (var ds in dSinks ?? []) ds.Flush();
            sink?.Release();
            // The step averages the state it starts from, so the trial's last state is averaged in here.
            if (average is not null) { foreach (var k in dAverage) k.Run(); average.Run(); }
            if (!s.X.AllFinite()) return EpisodeOutcome.Failed($"the network state became non-finite in learning trial {h + 1}");
            double R = s.Racc.Value / Math.Max(scored, 1);
            s.R.Value = R;
            for (int d = 0; d < D; d++) s.DR[d].Value = s.DRacc[d].Value / Math.Max(scored, 1);
            // The weight change uses the baseline of this trial type as it was before this trial.
            s.Rbar.Value = s.RbarByCondition[trial.Condition].Value;
            for (int d = 0; d < D; d++) s.DRbar[d].Value = s.DRbarByCondition[trial.Condition][d].Value;
            if (h >= _config.LearnAfterTrial) { foreach (var k in dUpdate) k.Run(); update.Run(); }
            foreach (var k in dBaseline) k.Run(); baseline.Run();
            s.RbarByCondition[trial.Condition].Value = s.Rbar.Value;
            for (int d = 0; d < D; d++) s.DRbarByCondition[trial.Condition][d].Value = s.DRbar[d].Value;

            double m = s.W.MaxAbs();
            if (!double.IsFinite(m) || m > _config.WeightLimit)
                return EpisodeOutcome.Failed($"the recurrent weights exploded (max |W| = {m:G3}) in learning trial {h + 1}");
            objective += weight * R;
            for (int d = 0; d < D; d++) dObjective[d] += weight * s.DR[d].Value;
            weight *= _config.Gamma;
            bool ok = _task.IsCorrect(trial, R, output);
            if (h >= H - Math.Min(H, 100)) { counted++; if (ok) correct++; lastRewards += R; }
            criterion.Add(ok);
            OnTrial?.Invoke(h, R, ok);
        }
        OnTrained?.Invoke(s.W.ToArray(), s.Win.ToArray());
        var metrics = new Dictionary<string, double>
        {
            ["J"] = objective,
            ["accuracy"] = counted == 0 ? 0 : (double)correct / counted,
            ["final_reward"] = counted == 0 ? 0 : lastRewards / counted,
            // The first trial at which ≥ 90 of the last 100 were correct; NaN if never within the horizon.
            ["trials_to_criterion"] = criterion.TrialsToCriterion ?? double.NaN,
        };
        // Minimise −J/H: the mean discounted reward, negated.
        return new EpisodeOutcome(-objective / H, dObjective.Select(x => -x / H).ToArray(), metrics);
    }
}
