using RuleDsl.Runtime.Data;

namespace RuleDsl.Runtime.Tasks.Cognitive;

/// <summary>
/// Settings of the perceptual decision task (random-dots style). The evidence stream has mean
/// ±coherence and white noise (std <see cref="NoiseStd"/> at dt = 1 ms, scaled by √(1 ms/dt)), like
/// the streams of Miconi's selective-integration simulation (mean ±0.1, std 0.5).
/// </summary>
/// <param name="TrialMs">Trial duration (ms).</param>
/// <param name="StimStartMs">Onset of the evidence (ms).</param>
/// <param name="StimMs">Duration of the evidence (ms).</param>
/// <param name="ResponseMs">Scored response window, at the end of the trial (ms).</param>
/// <param name="Coherences">Coherence levels (mean evidence magnitudes, ≥ 0); each appears with both signs.</param>
/// <param name="NoiseStd">Standard deviation of the evidence noise at dt = 1 ms.</param>
/// <param name="Target">Target magnitude: +Target for positive evidence, −Target for negative.</param>
/// <param name="TargetFromRealizedEvidence">
/// False: the answer is the sign of the generating coherence (the stimulus' true direction).
/// True: the answer is the sign of the mean evidence actually shown (the ideal observer's answer),
/// which also makes zero-coherence trials meaningful.
/// </param>
/// <param name="Dt">Integration step (ms).</param>
public sealed record PerceptualDecisionSettings(
    double TrialMs = 700,
    double StimStartMs = 1,
    double StimMs = 500,
    double ResponseMs = 200,
    IReadOnlyList<double>? Coherences = null,
    double NoiseStd = 0.5,
    double Target = 0.98,
    bool TargetFromRealizedEvidence = false,
    double Dt = 1.0)
{
    public static PerceptualDecisionSettings Default { get; } = new();

    /// <summary>The coherence levels in use (default 0.05, 0.1, 0.2).</summary>
    public IReadOnlyList<double> CoherenceLevels => Coherences ?? [0.05, 0.1, 0.2];
}

/// <summary>
/// Perceptual decision making: one noisy evidence channel (channel 0) during the stimulus epoch;
/// after it, respond with the sign of the evidence over the last <c>ResponseMs</c>. Correct when the mean
/// output over the response window has the sign of the target. Conditions: coherence level × sign,
/// condition = 2·level + (sign &lt; 0 ? 1 : 0).
/// </summary>
public sealed class PerceptualDecisionTask : CognitiveTask
{
    public PerceptualDecisionTask(PerceptualDecisionSettings? settings = null) : base((settings ?? PerceptualDecisionSettings.Default).Dt)
    {
        Settings = settings ?? PerceptualDecisionSettings.Default;
        var s = Settings;
        RequireEpoch("perceptual-decision stimulus", s.StimStartMs, s.StimMs, s.TrialMs);
        RequireEpoch("perceptual-decision response", s.TrialMs - s.ResponseMs, s.ResponseMs, s.TrialMs);
        RequireCoherences("perceptual-decision", s.CoherenceLevels);
        if (!(s.NoiseStd >= 0)) throw new ArgumentException("perceptual-decision: NoiseStd must be ≥ 0.");
        if (!s.TargetFromRealizedEvidence && s.CoherenceLevels.Contains(0.0))
            throw new ArgumentException("perceptual-decision: a zero coherence has no right answer unless TargetFromRealizedEvidence is set.");
    }

    public PerceptualDecisionSettings Settings { get; }
    public override string Name => "perceptual-decision";
    public override int InputCount => 1;
    public override int ConditionCount => 2 * Settings.CoherenceLevels.Count;

    /// <summary>the sign of the coherent input: two answers.</summary>
    public override double ChanceLevel => 0.5;
    public override double TrialMs => Settings.TrialMs;

    /// <summary>The signed coherence of a condition.</summary>
    public double SignedCoherence(int condition)
    {
        double c = Settings.CoherenceLevels[condition / 2];
        return condition % 2 == 0 ? c : -c;
    }

    public override string ConditionLabel(int condition) => $"coherence {Signed(SignedCoherence(condition))}";

    protected override Trial Generate(int trialIndex, int condition, TrialBuilder trial, Rng rng)
    {
        var s = Settings;
        double coherence = SignedCoherence(condition);
        trial.Add(0, s.StimStartMs, s.StimMs, coherence)
             .AddNoise(0, s.StimStartMs, s.StimMs, s.NoiseStd, rng);
        double evidence = s.TargetFromRealizedEvidence ? trial.Mean(0, s.StimStartMs, s.StimMs) : coherence;
        // A realised mean of exactly 0 (probability 0 with noise) falls to the positive side.
        double target = evidence >= 0 ? s.Target : -s.Target;
        trial.Score(s.TrialMs - s.ResponseMs, s.ResponseMs, target);
        string label = $"{ConditionLabel(condition)} → {(target > 0 ? "+" : "−")}";
        return trial.Build(trialIndex, condition, label, new Scoring(Correctness.MeanOutputSide, 0.0));
    }
}
