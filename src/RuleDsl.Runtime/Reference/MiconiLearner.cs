using RuleDsl.Runtime.Engine.Recurrent;
using RuleDsl.Runtime.Tasks.Cognitive;

namespace RuleDsl.Runtime.Reference;

/// <summary>What a trial does besides running the network.</summary>
public enum TrialMode
{
    /// <summary>Accumulate eligibility, change J (after the warm-up trials), update the error baseline.</summary>
    Learn,

    /// <summary>Miconi's test mode: perturbations on, no eligibility, no weight or baseline change.</summary>
    Test,

    /// <summary>As Test, without perturbations: the deterministic dynamics (for analyses).</summary>
    TestWithoutPerturbations,
}

/// <summary>The result of one trial.</summary>
public readonly record struct TrialOutcome(int Index, int Condition, double Error, bool Correct, bool WeightsChanged);

/// <summary>
/// Miconi's (2017) biologically plausible reward-modulated learner for a rate RNN, written plainly as
/// the reference the IR-compiled engine is cross-checked against. One trial, step t = 0..T−1:
/// <code>
///   I   = J r + W_in u(t)                               (r = tanh x of the previous step)
///   I_i += A·U(−1, 1)  with probability p, for t ≥ 4    (exploratory perturbation, per neuron)
///   x  += dt/τ (−x + I);   x_bias = clamp;   r = tanh x;   z(t) = r_out
///   δx  = x − x̄;   x̄ ← α x̄ + (1 − α) x                  (x̄ persists across trials)
///   E_ij += (r_j(t−1) · δx_i)³                          for t ≥ 3
/// </code>
/// then err = trial error of z (mean |z − target| over the scored steps), and for trial index &gt; 100
/// <code>
///   ΔJ_ij = clip(−η Ē_c (err − Ē_c) E_ij, ±MaxDw),   J += ΔJ
/// </code>
/// and finally Ē_c ← 0.75 Ē_c + 0.25 err for the trial's condition c.
///
/// Generic over <see cref="ICognitiveTask"/>: inputs, targets, scoring and condition come from the task,
/// output is the rate of neuron <see cref="MiconiSettings.OutputNeuron"/>. With <see cref="DnmsTask"/> and
/// default settings it is Miconi's DNMS simulation. The per-step loop allocates nothing.
///
/// Deviations that cannot matter statistically: random numbers come from the engine's streams
/// (<see cref="RecurrentStreams"/>: initial weights; per learning trial its initial state and kicks; per
/// trial the task's draws) instead of std::default_random_engine, so that the engine running
/// rules/miconi.rule with examples/miconi_dnms_paper.experiment's settings draws the same numbers and
/// reproduces this learner trial for trial; the increment (r_j δx_i)³ is computed as r_j³·δx_i³
/// (equal up to rounding) so a step costs one multiply-add per synapse.
/// </summary>
public sealed class MiconiLearner
{
    /// <summary>Steps whose eligibility increments are added to E together (keeps the batch in L1).</summary>
    private const int EligibilityBatch = 16;

    private readonly int _n, _k;
    private readonly double _h;                 // dt/τ
    private readonly double[] _j;               // J[i·N + j]: weight from j to i (post × pre)
    private readonly double[] _win;             // W_in[i·K + k]
    private readonly double[] _e;               // eligibility E[i·N + j], post × pre
    private readonly double[] _x, _r, _rPrev, _xBar, _current;
    private readonly double[] _preBatch, _postBatch;   // r(t−1)³ and δx³ of the steps not yet added to E
    private readonly double[] _baseline;        // Ē per condition
    private readonly int[] _biasIndex;
    private readonly double[] _biasValue;
    private double[] _output = [];
    private int _testTrials;                     // trials run in a test mode so far (each its own stream)

    public MiconiLearner(ICognitiveTask task, MiconiSettings? settings = null)
    {
        Task = task ?? throw new ArgumentNullException(nameof(task));
        Settings = settings ?? MiconiSettings.Default;
        Settings.Validate();
        if (Math.Abs(task.Dt - Settings.Dt) > 1e-12)
            throw new ArgumentException($"the task generates trials for dt = {task.Dt} ms but the network steps at dt = {Settings.Dt} ms.");
        _n = Settings.N;
        _k = task.InputCount;
        _h = Settings.Dt / Settings.Tau;

        _j = new double[_n * _n];
        _e = new double[_n * _n];
        _win = new double[_n * _k];
        _x = new double[_n];
        _r = new double[_n];
        _rPrev = new double[_n];
        _xBar = new double[_n];
        _current = new double[_n];
        _preBatch = new double[EligibilityBatch * _n];
        _postBatch = new double[EligibilityBatch * _n];
        _baseline = new double[task.ConditionCount];
        _biasIndex = Settings.BiasNeurons.Select(b => b.Neuron).ToArray();
        _biasValue = Settings.BiasNeurons.Select(b => b.Value).ToArray();

        // Sompolinsky initialisation: J_ij ~ N(0, 1)·G/√N, dense; the engine's draws in the engine's order.
        var init = RecurrentStreams.Init(Settings.Seed, 0);
        double scale = Settings.G / Math.Sqrt(_n);
        for (int i = 0; i < _j.Length; i++) _j[i] = scale * init.Normal();
        for (int i = 0; i < _win.Length; i++) _win[i] = Settings.InputWeightRange * (2 * init.NextDouble() - 1);
        Array.Clear(_win, Settings.OutputNeuron * _k, _k);   // no direct input to the output neuron
    }

    public ICognitiveTask Task { get; }
    public MiconiSettings Settings { get; }

    /// <summary>Number of trials run in <see cref="TrialMode.Learn"/> so far (the next trial's index).</summary>
    public int TrialsRun { get; private set; }

    public int NeuronCount => _n;

    /// <summary>Output trace z(t) of the last trial (valid until the next trial).</summary>
    public ReadOnlySpan<double> LastOutput => _output;

    /// <summary>The running average x̄ of the states (carried across trials, as in Miconi's code).</summary>
    public ReadOnlySpan<double> RunningAverage => _xBar;

    /// <summary>Per-condition error baseline Ē.</summary>
    public ReadOnlySpan<double> ErrorBaseline => _baseline;

    /// <summary>A copy of the recurrent weights J (post × pre).</summary>
    public double[,] RecurrentWeights() => ToMatrix(_j, _n, _n);

    /// <summary>A copy of the input weights W_in (N × K).</summary>
    public double[,] InputWeights() => ToMatrix(_win, _n, _k);

    /// <summary>Replaces J (e.g. to start from saved weights).</summary>
    public void SetRecurrentWeights(double[,] j)
    {
        if (j.GetLength(0) != _n || j.GetLength(1) != _n) throw new ArgumentException($"J must be {_n}×{_n}.");
        for (int a = 0; a < _n; a++)
            for (int b = 0; b < _n; b++) _j[a * _n + b] = j[a, b];
    }

    /// <summary>
    /// The deterministic step map of the network for a constant input u: F(x) = x + dt/τ(−x + J tanh x + W_in u)
    /// with the bias neurons clamped — the map whose fixed and slow points the dynamics analysis looks for.
    /// It captures a copy of the current weights.
    /// </summary>
    public Func<double[], double[]> StepMap(double[] u)
    {
        if (u.Length != _k) throw new ArgumentException($"u must have {_k} entries.");
        var j = (double[])_j.Clone();
        var drive = new double[_n];
        for (int i = 0; i < _n; i++) drive[i] = DenseKernels.Dot(_win.AsSpan(i * _k, _k), u);
        int n = _n;
        double h = _h;
        var biasIndex = _biasIndex;
        var biasValue = _biasValue;
        return x =>
        {
            if (x.Length != n) throw new ArgumentException($"x must have {n} entries.");
            var r = new double[n];
            for (int i = 0; i < n; i++) r[i] = Math.Tanh(x[i]);
            var y = new double[n];
            for (int i = 0; i < n; i++)
                y[i] = x[i] + h * (-x[i] + DenseKernels.Dot(j.AsSpan(i * n, n), r) + drive[i]);
            for (int b = 0; b < biasIndex.Length; b++) y[biasIndex[b]] = biasValue[b];
            return y;
        };
    }

    /// <summary>Samples the next trial from the task and runs it in <see cref="TrialMode.Learn"/>.</summary>
    public TrialOutcome RunTrial() => RunTrial(SampleTrial(TrialsRun), TrialMode.Learn);

    /// <summary>Trial <paramref name="index"/> of the task (the same trial whenever it is asked for).</summary>
    public Trial SampleTrial(int index) => RecurrentStreams.Task(Task, Settings.TaskSeed ?? Settings.Seed, 0, index);

    /// <summary>
    /// Runs one trial. In <see cref="TrialMode.Learn"/> it counts as the next learning trial. Optionally
    /// records the states x and rates r of every step into <paramref name="states"/> / <paramref name="rates"/>
    /// (T × N each).
    /// </summary>
    public TrialOutcome RunTrial(Trial trial, TrialMode mode, double[,]? states = null, double[,]? rates = null)
    {
        int steps = trial.Steps;
        if (trial.Inputs.Length > 0 && trial.Inputs[0].Length != _k)
            throw new ArgumentException($"the trial has {trial.Inputs[0].Length} input channels, the network {_k}.");
        if (states is not null && (states.GetLength(0) != steps || states.GetLength(1) != _n))
            throw new ArgumentException($"states must be {steps}×{_n}.");
        if (rates is not null && (rates.GetLength(0) != steps || rates.GetLength(1) != _n))
            throw new ArgumentException($"rates must be {steps}×{_n}.");
        if (trial.Condition < 0 || trial.Condition >= _baseline.Length)
            throw new ArgumentException($"trial condition {trial.Condition} is outside the task's {_baseline.Length} conditions.");
        if (_output.Length != steps) _output = new double[steps];

        bool learn = mode == TrialMode.Learn;
        bool perturb = mode != TrialMode.TestWithoutPerturbations;
        var s = Settings;
        int n = _n, k = _k;
        double h = _h, alpha = s.TraceAlpha, p = s.PerturbationProbability, amp = s.PerturbationAmplitude;

        if (learn) Array.Clear(_e);
        // Learning trial h draws from the engine's stream of trial h; test trials from streams of their own.
        var rng = learn ? RecurrentStreams.Trial(s.Seed, 0, TrialsRun) : Data.Rng.Stream(Data.StreamKind.TestTrial, s.Seed, _testTrials++);
        for (int i = 0; i < n; i++) _x[i] = s.InitialStateRange * (2 * rng.NextDouble() - 1);
        ClampBiases(_x);
        if (s.ResetAverage) _x.CopyTo(_xBar, 0);
        for (int i = 0; i < n; i++) _r[i] = Math.Tanh(_x[i]);

        Span<double> x = _x, r = _r, rPrev = _rPrev, xBar = _xBar, current = _current;
        ReadOnlySpan<double> jw = _j, win = _win;
        Span<double> e = _e, preBatch = _preBatch, postBatch = _postBatch;
        int batched = 0;

        for (int t = 0; t < steps; t++)
        {
            ReadOnlySpan<double> u = trial.Inputs[t];
            r.CopyTo(rPrev);
            for (int i = 0; i < n; i++)
                current[i] = DenseKernels.Dot(jw.Slice(i * n, n), r) + DenseKernels.Dot(win.Slice(i * k, k), u);

            if (perturb && t >= s.PerturbationFromStep)
                for (int i = 0; i < n; i++)
                    if (rng.NextDouble() < p) current[i] += amp * (2.0 * rng.NextDouble() - 1.0);

            for (int i = 0; i < n; i++) x[i] += h * (current[i] - x[i]);
            ClampBiases(x);
            for (int i = 0; i < n; i++) r[i] = Math.Tanh(x[i]);
            _output[t] = s.OutputBeforeStep ? rPrev[s.OutputNeuron] : r[s.OutputNeuron];
            if (states is not null) for (int i = 0; i < n; i++) states[t, i] = x[i];
            if (rates is not null) for (int i = 0; i < n; i++) rates[t, i] = r[i];

            // Fluctuation δx = x − x̄ (kept in `current`, no longer needed), then the running average.
            for (int i = 0; i < n; i++)
            {
                current[i] = x[i] - xBar[i];
                xBar[i] = alpha * xBar[i] + (1.0 - alpha) * x[i];
            }

            if (learn && t >= s.EligibilityFromStep)
            {
                // E_ij += (r_j(t−1) δx_i)³ = δx_i³ · r_j(t−1)³: a rank-one increment. The factors are
                // batched and added to E every EligibilityBatch steps (same sum, far less memory traffic).
                var pre = preBatch.Slice(batched * n, n);
                var post = postBatch.Slice(batched * n, n);
                for (int j = 0; j < n; j++) { double v = rPrev[j]; pre[j] = v * v * v; }
                for (int i = 0; i < n; i++) { double d = current[i]; post[i] = d * d * d; }
                if (++batched == EligibilityBatch)
                {
                    DenseKernels.RankUpdate(e, n, postBatch, preBatch, batched);
                    batched = 0;
                }
            }
        }
        if (batched > 0) DenseKernels.RankUpdate(e, n, postBatch, preBatch, batched);

        double err = trial.Error(_output);
        bool correct = trial.IsCorrect(_output);
        bool changed = false;
        if (learn)
        {
            int c = trial.Condition;
            if (TrialsRun > s.LearnAfterTrial)
            {
                double factor = -s.Eta * _baseline[c] * (err - _baseline[c]);
                double max = s.MaxDw;
                for (int a = 0; a < _j.Length; a++)
                    _j[a] += Math.Clamp(factor * _e[a], -max, max);
                changed = true;
            }
            _baseline[c] = s.BaselineAlpha * _baseline[c] + (1.0 - s.BaselineAlpha) * err;
            TrialsRun++;
        }
        return new TrialOutcome(trial.Index, trial.Condition, err, correct, changed);
    }

    private void ClampBiases(Span<double> x)
    {
        for (int b = 0; b < _biasIndex.Length; b++) x[_biasIndex[b]] = _biasValue[b];
    }

    private static double[,] ToMatrix(double[] flat, int rows, int cols)
    {
        var m = new double[rows, cols];
        for (int a = 0; a < rows; a++)
            for (int b = 0; b < cols; b++) m[a, b] = flat[a * cols + b];
        return m;
    }
}
