using RuleDsl.Runtime.Data;

namespace RuleDsl.Runtime.Tasks.Cognitive;

/// <summary>
/// Settings of the Go/NoGo task: a go or a no-go cue, a delay, then a response window in which the output
/// must be high on go trials and stay at rest on no-go trials.
/// </summary>
/// <param name="TrialMs">Trial duration (ms).</param>
/// <param name="CueStartMs">Onset of the cue (ms).</param>
/// <param name="CueMs">Duration of the cue (ms).</param>
/// <param name="ResponseMs">Scored response window, at the end of the trial (ms); the delay is what lies
/// between the cue's end and the response window.</param>
/// <param name="CueValue">Input value on the cue channel while it is on.</param>
/// <param name="GoTarget">Output target on go trials (high).</param>
/// <param name="NoGoTarget">Output target on no-go trials (rest, 0: withhold the response).</param>
/// <param name="Dt">Integration step (ms).</param>
public sealed record GoNoGoSettings(
    double TrialMs = 700,
    double CueStartMs = 1,
    double CueMs = 200,
    double ResponseMs = 200,
    double CueValue = 1.0,
    double GoTarget = 0.98,
    double NoGoTarget = 0.0,
    double Dt = 1.0)
{
    public static GoNoGoSettings Default { get; } = new();
}

/// <summary>
/// Go/NoGo with a delayed response. Channels: 0 = go cue, 1 = no-go cue. Conditions: 0 = go, 1 = no-go.
/// Correct when the mean output over the response window lies on the target's side of the midpoint
/// between the go and no-go targets (0.49 by default).
/// </summary>
public sealed class GoNoGoTask : CognitiveTask
{
    public GoNoGoTask(GoNoGoSettings? settings = null) : base((settings ?? GoNoGoSettings.Default).Dt)
    {
        Settings = settings ?? GoNoGoSettings.Default;
        var s = Settings;
        RequireEpoch("go-nogo cue", s.CueStartMs, s.CueMs, s.TrialMs);
        RequireEpoch("go-nogo response", s.TrialMs - s.ResponseMs, s.ResponseMs, s.TrialMs);
        if (s.CueStartMs + s.CueMs > s.TrialMs - s.ResponseMs + 1e-9)
            throw new ArgumentException("go-nogo: the cue must end before the response window starts.");
        if (s.GoTarget == s.NoGoTarget) throw new ArgumentException("go-nogo: GoTarget and NoGoTarget must differ.");
    }

    public GoNoGoSettings Settings { get; }
    public override string Name => "go-nogo";
    public override int InputCount => 2;
    public override int ConditionCount => 2;

    /// <summary>respond or withhold: two answers.</summary>
    public override double ChanceLevel => 0.5;
    public override double TrialMs => Settings.TrialMs;
    public override string ConditionLabel(int condition) => condition == 0 ? "go" : "no-go";

    /// <summary>Midpoint between the two targets, the decision threshold on the mean output.</summary>
    public double DecisionThreshold => 0.5 * (Settings.GoTarget + Settings.NoGoTarget);

    protected override Trial Generate(int trialIndex, int condition, TrialBuilder trial, Rng rng)
    {
        var s = Settings;
        bool go = condition == 0;
        trial.Add(go ? 0 : 1, s.CueStartMs, s.CueMs, s.CueValue)
             .Score(s.TrialMs - s.ResponseMs, s.ResponseMs, go ? s.GoTarget : s.NoGoTarget);
        return trial.Build(trialIndex, condition, ConditionLabel(condition), new Scoring(Correctness.MeanOutputSide, DecisionThreshold));
    }
}
