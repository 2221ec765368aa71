using RuleDsl.Runtime.Data;

namespace RuleDsl.Runtime.Tasks.Cognitive;

/// <summary>
/// Settings of the delayed non-match-to-sample task. Defaults are Miconi's (2017, dnms/net.cpp):
/// 1000 ms trials, stimulus 1 at 1–200 ms, stimulus 2 at 400–600 ms, response scored over the last
/// 200 ms, targets ±0.98, correct when the error is below 1.
/// </summary>
/// <param name="TrialMs">Trial duration (ms).</param>
/// <param name="Stim1StartMs">Onset of the first stimulus (ms).</param>
/// <param name="Stim1Ms">Duration of the first stimulus (ms).</param>
/// <param name="Stim2StartMs">Onset of the second stimulus (ms).</param>
/// <param name="Stim2Ms">Duration of the second stimulus (ms).</param>
/// <param name="ResponseMs">Scored response window, at the end of the trial (ms).</param>
/// <param name="StimulusValue">Input value on the stimulus channel while it is on.</param>
/// <param name="Target">Magnitude of the target: −Target for match, +Target for non-match.</param>
/// <param name="CorrectBelow">A trial is correct when its error is below this.</param>
/// <param name="Dt">Integration step (ms).</param>
public sealed record DnmsSettings(
    double TrialMs = 1000,
    double Stim1StartMs = 1,
    double Stim1Ms = 200,
    double Stim2StartMs = 400,
    double Stim2Ms = 200,
    double ResponseMs = 200,
    double StimulusValue = 1.0,
    double Target = 0.98,
    double CorrectBelow = 1.0,
    double Dt = 1.0)
{
    public static DnmsSettings Default { get; } = new();
}

/// <summary>
/// Delayed non-match-to-sample (Miconi 2017, Fig. 1). Three input channels, channel 0 unused (Miconi
/// reserves it for a "go" signal), channel 1 = stimulus A, channel 2 = stimulus B. Conditions in his
/// order: 0 = AA (match, target −0.98), 1 = AB, 2 = BA (non-match, +0.98), 3 = BB (match).
/// </summary>
public sealed class DnmsTask : CognitiveTask
{
    private static readonly string[] Labels = ["AA (match)", "AB (non-match)", "BA (non-match)", "BB (match)"];

    public DnmsTask(DnmsSettings? settings = null) : base((settings ?? DnmsSettings.Default).Dt)
    {
        Settings = settings ?? DnmsSettings.Default;
        var s = Settings;
        RequireEpoch("dnms stimulus 1", s.Stim1StartMs, s.Stim1Ms, s.TrialMs);
        RequireEpoch("dnms stimulus 2", s.Stim2StartMs, s.Stim2Ms, s.TrialMs);
        RequireEpoch("dnms response", s.TrialMs - s.ResponseMs, s.ResponseMs, s.TrialMs);
    }

    public DnmsSettings Settings { get; }
    public override string Name => "dnms";
    public override int InputCount => 3;
    public override int ConditionCount => 4;

    /// <summary>match or non-match: two answers.</summary>
    public override double ChanceLevel => 0.5;
    public override double TrialMs => Settings.TrialMs;
    public override string ConditionLabel(int condition) => Labels[condition];

    /// <summary>Input channel of the first and second stimulus for a condition (1 = A, 2 = B).</summary>
    public static (int First, int Second) Channels(int condition) => condition switch
    {
        0 => (1, 1),
        1 => (1, 2),
        2 => (2, 1),
        3 => (2, 2),
        _ => throw new ArgumentOutOfRangeException(nameof(condition)),
    };

    protected override Trial Generate(int trialIndex, int condition, TrialBuilder trial, Rng rng)
    {
        var s = Settings;
        var (first, second) = Channels(condition);
        double target = first == second ? -s.Target : s.Target;
        trial.Add(first, s.Stim1StartMs, s.Stim1Ms, s.StimulusValue)
             .Add(second, s.Stim2StartMs, s.Stim2Ms, s.StimulusValue)
             .Score(s.TrialMs - s.ResponseMs, s.ResponseMs, target);
        return trial.Build(trialIndex, condition, Labels[condition], new Scoring(Correctness.ErrorBelowThreshold, s.CorrectBelow));
    }
}
