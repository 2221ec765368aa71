using System.Diagnostics;
using RuleDsl.Syntax;

namespace RuleDsl.Runtime.Meta;

/// <summary>One inner learning run (an episode, or a horizon of learning trials) from a fresh
/// network, carrying tangents along the given θ-directions. Both research settings implement it:
/// the meta-learning loop below does not know which network it is training.</summary>
public interface IInnerLoop
{
    int ParameterCount { get; }

    /// <summary>Runs episode <paramref name="episode"/> with coefficients θ. Returns the objective
    /// to minimise (a meta-loss, or −J for a reward objective) and its directional derivative
    /// along each row of <paramref name="directions"/>.</summary>
    EpisodeOutcome Run(double[] theta, double[][] directions, int episode, CancellationToken cancel);
}

/// <summary>What an episode produced. <see cref="Failure"/> is set (and the numbers are not to be
/// used) when the weights, traces or loss became non-finite or exploded.</summary>
public sealed record EpisodeOutcome(
    double Objective,
    double[] Directional,
    IReadOnlyDictionary<string, double> Metrics,
    string? Failure = null)
{
    public static EpisodeOutcome Failed(string why, IReadOnlyDictionary<string, double>? metrics = null) =>
        new(double.NaN, [], metrics ?? new Dictionary<string, double>(), why);

    /// <summary>Why this outcome's numbers are not to be used — it failed, or its objective or a directional
    /// derivative is not finite — or null. The meta-loop and the benchmark judge an episode by it.</summary>
    public string? Diverged => Failure
        ?? (!double.IsFinite(Objective) || Directional.Any(d => !double.IsFinite(d)) ? "the meta-loss or its gradient is not finite" : null);
}

/// <summary>The outer loop's settings (the experiment's, for a run). Under <see cref="DivergencePolicy.Shrink"/>
/// θ is scaled by <see cref="MetaTrainer.ShrinkFactor"/>.</summary>
public sealed record MetaSettings(
    int Episodes,
    double LearningRate = 1e-3,
    int Projections = 2,
    double Sigma = 0.01,
    int Seed = 0,
    int Batch = 1,
    bool ProximalL1 = false,
    double Clip = 0,
    int MaxDiverged = MetaTrainer.DefaultMaxDiverged)
{
    public Penalty Penalty { get; init; } = Penalty.None;
    public GradientEstimator Estimator { get; init; } = GradientEstimator.Exact;
    public DivergencePolicy OnDivergence { get; init; } = DivergencePolicy.Skip;
}

/// <summary>One row of a run's log: the episode as it happened, and θ after its meta-step.</summary>
public sealed record MetaStep(
    int Episode,
    double Objective,
    double Penalised,
    double[] ThetaBefore,
    double[] ThetaAfter,
    double[] Gradient,
    double[] StandardError,
    double GradientNorm,
    double LearningRate,
    IReadOnlyDictionary<string, double> Metrics,
    string? Failure,
    double Seconds);

/// <summary>Everything needed to resume a run after its last completed episode. <see cref="DivergedInARow"/>
/// carries the streak of diverged episodes with θ unchanged across an interruption; <see cref="Stopped"/> says
/// why a trial stopped for divergence (null while it may go on): such a trial does not resume.</summary>
public sealed record MetaCheckpoint(int NextEpisode, double[] Theta, AdamState Adam, double LearningRate, int Failures,
    int DivergedInARow = 0, string? Stopped = null);

/// <summary>The outer loop of Algorithm 1: for each episode, draw directions, run the inner loop with
/// tangents, turn directional derivatives into a gradient, add the penalty, take an Adam step.
/// With a batch of B, a meta-step runs B inner loops (inner episodes e·B … e·B + B − 1, each with its
/// own directions) and averages their objectives, gradients and metrics; B = 1 is Algorithm 1.</summary>
public sealed class MetaTrainer
{
    readonly IInnerLoop _inner;
    readonly MetaSettings _settings;
    readonly Adam _adam;
    readonly Theta _bounds;  // θ as described (its min and max are used); _theta holds its values
    readonly double[] _steps;
    double[] _theta;
    int _next;
    int _failures;
    int _inARow;
    string? _stopped;

    /// <summary>A meta-training run of <paramref name="theta"/> from its initial values (or from <paramref name="resume"/>).</summary>
    public MetaTrainer(IInnerLoop inner, MetaSettings settings, Theta theta, MetaCheckpoint? resume = null)
    {
        if (theta.Count != inner.ParameterCount)
            throw new ArgumentException($"θ has {theta.Count} entries but the rule has {inner.ParameterCount}");
        _inner = inner;
        _settings = settings;
        _adam = new Adam(inner.ParameterCount, settings.LearningRate);
        _bounds = theta;
        _steps = theta.Steps;
        _theta = theta.Initial;
        if (resume is not null)
        {
            _theta = (double[])resume.Theta.Clone();
            _adam.Restore(resume.Adam);
            _adam.LearningRate = resume.LearningRate;
            _next = resume.NextEpisode;
            _failures = resume.Failures;
            _inARow = resume.DivergedInARow;
            _stopped = resume.Stopped;
        }
    }

    /// <summary>How far θ moves toward zero after a diverged episode under <see cref="DivergencePolicy.Shrink"/>.</summary>
    public const double ShrinkFactor = 0.9;

    /// <summary>Consecutive diverged episodes with θ unchanged after which a trial stops (MetaSettings.MaxDiverged).</summary>
    public const int DefaultMaxDiverged = 20;

    public double[] Theta => (double[])_theta.Clone();
    public int Failures => _failures;
    /// <summary>Why this trial stopped for divergence, or null: under `on_divergence = stop` its first diverged
    /// episode, otherwise <see cref="MetaSettings.MaxDiverged"/> diverged episodes in a row that left θ where it
    /// was — nothing would change the next one, so the rest of the run would only repeat them.</summary>
    public string? Stopped => _stopped;
    public MetaCheckpoint Checkpoint => new(_next, Theta, _adam.State with { M = (double[])_adam.State.M.Clone(), V = (double[])_adam.State.V.Clone() }, _adam.LearningRate, _failures,
        _inARow, _stopped);

    /// <summary>The directions of one episode depend only on (seed, episode), so a resumed run
    /// draws exactly what the uninterrupted run would have drawn.</summary>
    public static Data.Rng DirectionStream(int seed, int episode) => Data.Rng.Stream(Data.StreamKind.Directions, (ulong)seed, episode);

    /// <summary>Runs the remaining episodes, yielding each meta-step as soon as it is done.</summary>
    public IEnumerable<MetaStep> Run(CancellationToken cancel = default)
    {
        var penalty = _settings.Penalty;
        for (; _next < _settings.Episodes && _stopped is null;)
        {
            cancel.ThrowIfCancellationRequested();
            int episode = _next;
            var sw = Stopwatch.StartNew();
            var before = Theta;
            var members = new List<(double Objective, double[] Gradient, double[] Se, IReadOnlyDictionary<string, double> Metrics)>();
            string? failure = null;
            EpisodeOutcome? lastFailed = null;
            int batch = Math.Max(1, _settings.Batch);
            for (int b = 0; b < batch; b++)
            {
                int inner = episode * batch + b;
                var (m, outcome, why) = RunMember(inner, cancel);
                if (m is { } ok) members.Add(ok);
                else { failure ??= why; lastFailed = outcome; }
            }
            // A batch meta-step goes on with the members that did not diverge; it fails only when all did.
            if (members.Count > 0) failure = null;

            double[] grad = new double[_theta.Length], se = new double[_theta.Length];
            // A failed step logs what its (last) failed run measured, as far as it got.
            double objective = lastFailed?.Objective ?? double.NaN, penalised = double.NaN, norm = 0;
            var metrics = members.Count > 0 ? MeanMetrics(members.Select(m => m.Metrics).ToList())
                : new Dictionary<string, double>(lastFailed?.Metrics ?? new Dictionary<string, double>());
            if (batch > 1) metrics["batch_failed"] = batch - members.Count;
            if (failure is null)
            {
                objective = members.Average(m => m.Objective);
                for (int i = 0; i < grad.Length; i++)
                {
                    grad[i] = members.Average(m => m.Gradient[i]);
                    // One member: the estimator's own standard error; several: the spread of their gradients.
                    se[i] = members.Count == 1 ? members[0].Se[i]
                        : Math.Sqrt(members.Sum(m => (m.Gradient[i] - grad[i]) * (m.Gradient[i] - grad[i])) / (members.Count - 1) / members.Count);
                }
                // The penalty's (sub)gradient, unless the L1 penalty takes a proximal step after Adam's.
                bool proximal = _settings.ProximalL1 && penalty.Kind.IsL1;
                var penaltyGrad = new double[grad.Length];
                if (!proximal) penalty.AddGradient(_theta, penaltyGrad);
                // The log keeps the unclipped norm: a row whose grad_norm is above `clip` was clipped.
                norm = Math.Sqrt(grad.Zip(penaltyGrad, (g, p) => (g + p) * (g + p)).Sum());
                // Clip the meta-loss gradient's norm (not the penalty's): one heavy-tailed gradient would
                // otherwise fill Adam's second moment and stall θ for as long as β₂ remembers it.
                double lossNorm = Math.Sqrt(grad.Sum(g => g * g));
                double shrink = _settings.Clip > 0 && lossNorm > _settings.Clip ? _settings.Clip / lossNorm : 1;
                for (int i = 0; i < grad.Length; i++) grad[i] = shrink * grad[i] + penaltyGrad[i];
                penalised = objective + penalty.Value(_theta);
                _adam.Step(_theta, grad, _steps);
                if (proximal) _adam.ShrinkL1(_theta, penalty.Lambda, _steps);
                // Bounded parameters (`min`, `max`): projected gradient descent, Adam's moments kept.
                for (int i = 0; i < _theta.Length; i++) _theta[i] = _bounds.Clamp(i, _theta[i]);
            }
            else
            {
                _failures++;
                if (_settings.OnDivergence.IsReduceStep) _adam.LearningRate /= 2;
                if (_settings.OnDivergence.IsShrink)
                {
                    for (int i = 0; i < _theta.Length; i++) _theta[i] = _bounds.Clamp(i, ShrinkFactor * _theta[i]);
                    _adam.ForgetMomentum();
                }
            }
            _next = episode + 1;
            // Shrink moves θ after a diverged episode, so only a streak that left θ where it was counts.
            _inARow = failure is not null && _theta.AsSpan().SequenceEqual(before) ? _inARow + 1 : 0;
            if (failure is not null && _settings.OnDivergence.IsStop)
                _stopped = $"episode {episode} diverged ({failure}) and on_divergence = stop";
            else if (_settings.MaxDiverged > 0 && _inARow >= _settings.MaxDiverged)
                _stopped = $"{_inARow} episodes in a row (to episode {episode}) diverged with θ unchanged (the last: {failure})";
            yield return new MetaStep(episode, objective, penalised, before, Theta, grad, se, norm, _adam.LearningRate,
                metrics, failure, sw.Elapsed.TotalSeconds);
        }
    }

    /// <summary>One inner loop of a meta-step: its objective, gradient estimate and metrics, or why it failed.</summary>
    ((double Objective, double[] Gradient, double[] Se, IReadOnlyDictionary<string, double> Metrics)?, EpisodeOutcome, string?) RunMember(int inner, CancellationToken cancel)
    {
        var directions = Directions.Draw(_settings.Estimator, _theta.Length, _settings.Projections, DirectionStream(_settings.Seed, inner));
        EpisodeOutcome outcome;
        try
        {
            outcome = _settings.Estimator.IsReinforce
                ? Reinforce.Run(_inner, Theta, directions, _settings.Sigma, inner, cancel)
                : _inner.Run(Theta, directions, inner, cancel);
        }
        catch (ArithmeticException ex) { outcome = EpisodeOutcome.Failed(ex.Message); }

        string? failure = outcome.Diverged;
        if (failure is null && outcome.Directional.Length != directions.Length)
            throw new InvalidOperationException($"the inner loop returned {outcome.Directional.Length} directional derivatives for {directions.Length} directions");
        if (failure is not null) return (null, outcome, failure);
        var (grad, se) = Directions.Combine(_settings.Estimator, directions, outcome.Directional);
        return ((outcome.Objective, grad, se, outcome.Metrics), outcome, null);
    }

    /// <summary>Each metric's mean over the members that have a finite value of it (NaN when none has:
    /// e.g. trials to criterion when no network reached it).</summary>
    static Dictionary<string, double> MeanMetrics(IReadOnlyList<IReadOnlyDictionary<string, double>> all)
    {
        if (all.Count == 1) return new Dictionary<string, double>(all[0]);
        var result = new Dictionary<string, double>();
        foreach (var key in all.SelectMany(m => m.Keys).Distinct())
        {
            var finite = all.Where(m => m.TryGetValue(key, out var v) && double.IsFinite(v)).Select(m => m[key]).ToList();
            result[key] = finite.Count > 0 ? finite.Average() : double.NaN;
        }
        return result;
    }
}
