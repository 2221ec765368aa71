using RuleDsl.Runtime.Data;

namespace RuleDsl.Runtime.Tasks.Cognitive;

/// <summary>
/// Fills the arrays of one trial from epochs given in milliseconds. Step t covers time t·dt ms, so an
/// epoch [start, start + duration) ms covers steps [round(start/dt), round((start + duration)/dt)),
/// clipped to the trial. With dt = 1 ms this is Miconi's indexing: "stimulus 1 at 1–200 ms" is
/// start 1, duration 200, i.e. steps 1..200.
/// </summary>
public sealed class TrialBuilder
{
    private readonly double[][] _inputs;
    private readonly double[] _target;
    private readonly bool[] _mask;

    public TrialBuilder(double trialMs, int inputCount, double dt)
    {
        if (dt <= 0 || !double.IsFinite(dt)) throw new ArgumentOutOfRangeException(nameof(dt), "dt must be a positive number of ms.");
        Dt = dt;
        TrialMs = trialMs;
        InputCount = inputCount;
        Steps = StepsFor(trialMs, dt);
        _inputs = new double[Steps][];
        for (int t = 0; t < Steps; t++) _inputs[t] = new double[inputCount];
        _target = new double[Steps];
        _mask = new bool[Steps];
    }

    public double Dt { get; }
    public double TrialMs { get; }
    public int InputCount { get; }
    public int Steps { get; }

    /// <summary>Clears the arrays for the next trial of the same shape, so a learner draws trial after trial
    /// without allocating them again. The trial built before from this builder shares its arrays: it is
    /// overwritten.</summary>
    public TrialBuilder Reset()
    {
        foreach (var row in _inputs) Array.Clear(row);
        Array.Clear(_target);
        Array.Clear(_mask);
        _built = false;
        return this;
    }

    /// <summary>Number of steps of a trial of <paramref name="trialMs"/> ms.</summary>
    public static int StepsFor(double trialMs, double dt)
    {
        int steps = (int)Math.Round(trialMs / dt, MidpointRounding.AwayFromZero);
        if (steps <= 0) throw new ArgumentOutOfRangeException(nameof(trialMs), $"a {trialMs} ms trial has no steps at dt = {dt} ms.");
        return steps;
    }

    /// <summary>First step at or after <paramref name="ms"/>.</summary>
    public int StepAt(double ms) => Math.Clamp((int)Math.Round(ms / Dt, MidpointRounding.AwayFromZero), 0, Steps);

    /// <summary>Steps [first, end) of the epoch [startMs, startMs + durationMs).</summary>
    public (int First, int End) Epoch(double startMs, double durationMs) => (StepAt(startMs), StepAt(startMs + durationMs));

    /// <summary>Adds <paramref name="value"/> to channel <paramref name="channel"/> during the epoch.</summary>
    public TrialBuilder Add(int channel, double startMs, double durationMs, double value)
    {
        ThrowIfBuilt();
        var (a, b) = Epoch(startMs, durationMs);
        for (int t = a; t < b; t++) _inputs[t][channel] += value;
        return this;
    }

    /// <summary>
    /// Adds white noise of standard deviation <paramref name="stdAt1Ms"/>·√(1 ms / dt) to the channel
    /// during the epoch, so the variance of the time-integrated input does not depend on dt.
    /// </summary>
    public TrialBuilder AddNoise(int channel, double startMs, double durationMs, double stdAt1Ms, Rng rng)
    {
        if (stdAt1Ms == 0) return this;
        ThrowIfBuilt();
        double std = stdAt1Ms / Math.Sqrt(Dt);
        var (a, b) = Epoch(startMs, durationMs);
        for (int t = a; t < b; t++) _inputs[t][channel] += std * rng.NormalFresh();
        return this;
    }

    /// <summary>Sets the target and marks the steps of the epoch as scored.</summary>
    public TrialBuilder Score(double startMs, double durationMs, double target)
    {
        ThrowIfBuilt();
        var (a, b) = Epoch(startMs, durationMs);
        for (int t = a; t < b; t++) { _target[t] = target; _mask[t] = true; }
        return this;
    }

    /// <summary>Sets the target (unscored) over the epoch, for tasks that define a target everywhere.</summary>
    public TrialBuilder SetTarget(double startMs, double durationMs, double target)
    {
        ThrowIfBuilt();
        var (a, b) = Epoch(startMs, durationMs);
        for (int t = a; t < b; t++) _target[t] = target;
        return this;
    }

    /// <summary>Mean of channel <paramref name="channel"/> over the epoch (e.g. the realised evidence).</summary>
    public double Mean(int channel, double startMs, double durationMs)
    {
        var (a, b) = Epoch(startMs, durationMs);
        if (b <= a) return 0;
        double s = 0;
        for (int t = a; t < b; t++) s += _inputs[t][channel];
        return s / (b - a);
    }

    /// <summary>Hands the arrays to a <see cref="Trial"/>; the builder cannot be used afterwards until
    /// <see cref="Reset"/>. A builder that is reset and built again returns the same Trial object, rebuilt.</summary>
    public Trial Build(int index, int condition, string label, Scoring scoring)
    {
        if (_built) throw new InvalidOperationException("TrialBuilder.Build was already called; use one builder per trial (or Reset it).");
        _built = true;
        if (_trial is null) return _trial = new(index, condition, label, _inputs, _target, _mask, scoring);
        _trial.Describe(index, condition, label, scoring);
        return _trial;
    }

    private bool _built;
    private Trial? _trial;

    private void ThrowIfBuilt()
    {
        if (_built) throw new InvalidOperationException("this TrialBuilder already built its trial.");
    }
}
