using RuleDsl.Runtime.Data;

namespace RuleDsl.Runtime.Tasks.Cognitive;

/// <summary>
/// Common plumbing for the tasks: dt, trial length, condition cycling and argument checks.
/// A new task derives from this and writes one method, <see cref="Generate"/>, which fills a
/// <see cref="TrialBuilder"/> for a given condition (see docs/tasks.md, "Adding a task").
/// </summary>
public abstract class CognitiveTask : ICognitiveTask
{
    protected CognitiveTask(double dt)
    {
        if (!(dt > 0) || !double.IsFinite(dt)) throw new ArgumentOutOfRangeException(nameof(dt), $"dt must be a positive number of ms, got {dt}.");
        Dt = dt;
    }

    public abstract string Name { get; }
    public abstract int InputCount { get; }
    public abstract int ConditionCount { get; }
    public double Dt { get; }

    /// <summary>Trial duration in ms.</summary>
    public abstract double TrialMs { get; }

    public int TrialSteps(double dt) => TrialBuilder.StepsFor(TrialMs, dt);

    public abstract string ConditionLabel(int condition);

    public abstract double ChanceLevel { get; }

    /// <summary>The condition of trial <paramref name="trialIndex"/>: conditions cycle, as in Miconi's code.</summary>
    public int ConditionOf(int trialIndex)
    {
        if (trialIndex < 0) throw new ArgumentOutOfRangeException(nameof(trialIndex), "trial index must be non-negative.");
        return trialIndex % ConditionCount;
    }

    public Trial Sample(int trialIndex, Rng rng)
    {
        ArgumentNullException.ThrowIfNull(rng);
        int condition = ConditionOf(trialIndex);
        var builder = new TrialBuilder(TrialMs, InputCount, Dt);
        return Generate(trialIndex, condition, builder, rng);
    }

    /// <summary>Trial <paramref name="trialIndex"/> written into <paramref name="reuse"/>'s arrays (reset first):
    /// the same trial as <see cref="Sample(int, Rng)"/>, and the trial built before from that builder is
    /// overwritten. A builder for this task comes from <see cref="NewBuilder"/>.</summary>
    public Trial Sample(int trialIndex, Rng rng, TrialBuilder reuse)
    {
        ArgumentNullException.ThrowIfNull(rng);
        if (reuse.TrialMs != TrialMs || reuse.InputCount != InputCount || reuse.Dt != Dt)
            throw new ArgumentException($"a trial builder for {reuse.TrialMs} ms, {reuse.InputCount} inputs at dt = {reuse.Dt} does not fit task {Name}");
        return Generate(trialIndex, ConditionOf(trialIndex), reuse.Reset(), rng);
    }

    /// <summary>An empty builder of this task's trial shape, to pass to <see cref="Sample(int, Rng, TrialBuilder)"/>.</summary>
    public TrialBuilder NewBuilder() => new(TrialMs, InputCount, Dt);

    /// <summary>Fills <paramref name="trial"/> for <paramref name="condition"/> and builds it.</summary>
    protected abstract Trial Generate(int trialIndex, int condition, TrialBuilder trial, Rng rng);

    /// <summary>Checks that an epoch lies inside the trial; used by settings validation.</summary>
    protected static void RequireEpoch(string what, double startMs, double durationMs, double trialMs)
    {
        if (!(startMs >= 0) || !(durationMs > 0) || startMs + durationMs > trialMs + 1e-9)
            throw new ArgumentException($"{what}: epoch [{startMs}, {startMs + durationMs}) ms must have positive length and lie inside the {trialMs} ms trial.");
    }

    protected static void RequireCoherences(string what, IReadOnlyList<double> coherences)
    {
        if (coherences.Count == 0) throw new ArgumentException($"{what}: at least one coherence level is needed.");
        foreach (var c in coherences)
            if (!(c >= 0) || !double.IsFinite(c)) throw new ArgumentException($"{what}: coherence levels must be finite and ≥ 0, got {c}.");
    }

    protected static string Signed(double v) => v.ToString("+0.###;-0.###;0", System.Globalization.CultureInfo.InvariantCulture);
}

/// <summary>The four tasks by name, for experiment files and the CLI.</summary>
public static class CognitiveTasks
{
    public static readonly IReadOnlyList<string> Names = ["dnms", "perceptual-decision", "context-integration", "go-nogo"];

    /// <summary>The task called <paramref name="name"/> with default settings at step <paramref name="dt"/> ms.</summary>
    public static ICognitiveTask Create(string name, double dt = 1.0) => name switch
    {
        "dnms" => new DnmsTask(DnmsSettings.Default with { Dt = dt }),
        "perceptual-decision" => new PerceptualDecisionTask(PerceptualDecisionSettings.Default with { Dt = dt }),
        "context-integration" => new ContextIntegrationTask(ContextIntegrationSettings.Default with { Dt = dt }),
        "go-nogo" => new GoNoGoTask(GoNoGoSettings.Default with { Dt = dt }),
        _ => throw new ArgumentException($"unknown task '{name}'; known tasks: {string.Join(", ", Names)}."),
    };
}
