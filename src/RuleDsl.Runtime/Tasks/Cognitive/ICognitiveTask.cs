using RuleDsl.Runtime.Data;

namespace RuleDsl.Runtime.Tasks.Cognitive;

/// <summary>
/// A cognitive task for a rate RNN with one scalar readout (Miconi 2017; Maoutsa's three-factor setting).
/// A task is a trial generator: it fixes the epochs, the inputs, the target trace and the scoring once,
/// parameterised by a settings record; the network only sees <see cref="Trial.Inputs"/> and is judged by
/// <see cref="Trial.Error"/> / <see cref="Trial.IsCorrect"/> on its output trace.
/// </summary>
public interface ICognitiveTask
{
    /// <summary>Short identifier, e.g. "dnms".</summary>
    string Name { get; }

    /// <summary>Number of input channels k of u[t][k].</summary>
    int InputCount { get; }

    /// <summary>
    /// Number of discrete trial conditions (trial types). Reward baselines are kept per condition:
    /// Miconi found one reward predictor per stimulus combination necessary. Conditions cycle with the
    /// trial index (trialIndex mod ConditionCount), as in his code, so every block is balanced.
    /// </summary>
    int ConditionCount { get; }

    /// <summary>Integration step in ms the trials are generated for.</summary>
    double Dt { get; }

    /// <summary>Trial length in steps for a step of <paramref name="dt"/> ms.</summary>
    int TrialSteps(double dt);

    /// <summary>
    /// Generates trial number <paramref name="trialIndex"/>. The condition is a function of the index;
    /// any within-condition randomness (noise, irrelevant features) is drawn from <paramref name="rng"/>,
    /// so the same index and the same generator state give the same trial.
    /// </summary>
    Trial Sample(int trialIndex, Rng rng);

    /// <summary>Human-readable label of a condition index, e.g. "AB (non-match)".</summary>
    string ConditionLabel(int condition);

    /// <summary>
    /// The fraction of trials a network answering at random gets right: 1 over the number of answers the
    /// task asks for (figures draw it as the chance line under the accuracy).
    /// </summary>
    double ChanceLevel { get; }
}

/// <summary>How a trial decides whether an output trace counts as correct.</summary>
public enum Correctness
{
    /// <summary>Correct when the graded error is below <see cref="Scoring.Threshold"/> (Miconi's DNMS: error &lt; 1).</summary>
    ErrorBelowThreshold,

    /// <summary>
    /// Correct when the mean output over the scored steps lies on the same side of
    /// <see cref="Scoring.Threshold"/> as the mean target (a two-alternative choice read from the output).
    /// </summary>
    MeanOutputSide,
}

/// <summary>The scoring rule of a trial: how correctness is read from the output trace.</summary>
public readonly record struct Scoring(Correctness Rule, double Threshold);

/// <summary>
/// One trial: inputs u[t][k] for t = 0..Steps−1, a target per step, the mask of scored steps, the condition.
/// The graded error is the mean |z(t) − target(t)| over the scored steps (Miconi's trial error); the
/// reward is its negative, R = −error.
/// </summary>
public sealed class Trial
{
    public Trial(int index, int condition, string label, double[][] inputs, double[] target, bool[] mask, Scoring scoring)
    {
        if (target.Length != inputs.Length || mask.Length != inputs.Length)
            throw new ArgumentException("inputs, target and mask must have one entry per step.");
        Inputs = inputs;
        Target = target;
        Mask = mask;
        Describe(index, condition, label, scoring);
    }

    /// <summary>Index, condition, label and scoring of the trial now in the arrays: a <see cref="TrialBuilder"/>
    /// that is reused rebuilds its one Trial in place (its arrays were overwritten already).</summary>
    [System.Diagnostics.CodeAnalysis.MemberNotNull(nameof(Label))]
    internal void Describe(int index, int condition, string label, Scoring scoring)
    {
        int scored = Mask.AsSpan().Count(true);
        if (scored == 0) throw new ArgumentException("a trial must score at least one step.");
        Index = index;
        Condition = condition;
        Label = label;
        Scoring = scoring;
        ScoredSteps = scored;
    }

    /// <summary>The trial index it was sampled for.</summary>
    public int Index { get; private set; }

    /// <summary>Condition (trial type) in [0, ConditionCount).</summary>
    public int Condition { get; private set; }

    /// <summary>Readable description of this trial's stimuli and expected answer.</summary>
    public string Label { get; private set; }

    /// <summary>u[t][k]: input of channel k at step t.</summary>
    public double[][] Inputs { get; }

    /// <summary>Target output per step (only scored steps matter).</summary>
    public double[] Target { get; }

    /// <summary>True at the steps that are scored.</summary>
    public bool[] Mask { get; }

    public Scoring Scoring { get; private set; }

    public int Steps => Inputs.Length;

    public int ScoredSteps { get; private set; }

    /// <summary>Mean |output − target| over the scored steps.</summary>
    public double Error(ReadOnlySpan<double> output)
    {
        CheckLength(output);
        double sum = 0;
        for (int t = 0; t < Target.Length; t++)
            if (Mask[t]) sum += Math.Abs(output[t] - Target[t]);
        return sum / ScoredSteps;
    }

    /// <summary>Graded reward R = −Error(output).</summary>
    public double Reward(ReadOnlySpan<double> output) => -Error(output);

    /// <summary>Mean output over the scored steps.</summary>
    public double MeanScoredOutput(ReadOnlySpan<double> output)
    {
        CheckLength(output);
        double sum = 0;
        for (int t = 0; t < Target.Length; t++)
            if (Mask[t]) sum += output[t];
        return sum / ScoredSteps;
    }

    /// <summary>Mean target over the scored steps.</summary>
    public double MeanScoredTarget
    {
        get
        {
            double sum = 0;
            for (int t = 0; t < Target.Length; t++)
                if (Mask[t]) sum += Target[t];
            return sum / ScoredSteps;
        }
    }

    public bool IsCorrect(ReadOnlySpan<double> output) => Scoring.Rule switch
    {
        Correctness.ErrorBelowThreshold => Error(output) < Scoring.Threshold,
        Correctness.MeanOutputSide => MeanScoredOutput(output) > Scoring.Threshold == MeanScoredTarget > Scoring.Threshold,
        _ => throw new InvalidOperationException($"unknown scoring rule {Scoring.Rule}"),
    };

    private void CheckLength(ReadOnlySpan<double> output)
    {
        if (output.Length != Target.Length)
            throw new ArgumentException($"output trace has {output.Length} steps, the trial has {Target.Length}.");
    }
}
