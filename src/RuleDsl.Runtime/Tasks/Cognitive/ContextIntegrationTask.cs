using RuleDsl.Runtime.Data;

namespace RuleDsl.Runtime.Tasks.Cognitive;

/// <summary>
/// Settings of the context-dependent integration task (Mante, Sussillo, Shenoy and Newsome 2013; the
/// "selective integration" task of Miconi 2017). Defaults follow Miconi's simulation: two streams of mean
/// ±0.1 and noise std 0.5 for 500 ms, the context cue on for the whole trial, response over the last 200 ms
/// of a 700 ms trial.
/// </summary>
/// <param name="TrialMs">Trial duration (ms).</param>
/// <param name="StimStartMs">Onset of both evidence streams (ms).</param>
/// <param name="StimMs">Duration of the evidence streams (ms).</param>
/// <param name="CueStartMs">Onset of the context cue (ms).</param>
/// <param name="CueMs">Duration of the context cue (ms); default: to the end of the trial.</param>
/// <param name="ResponseMs">Scored response window, at the end of the trial (ms).</param>
/// <param name="Coherences">Coherence levels (mean magnitudes) of the streams; the cued stream's level is
/// part of the condition, the other stream's level and sign are drawn at random from the same levels.</param>
/// <param name="NoiseStd">Standard deviation of each stream's noise at dt = 1 ms.</param>
/// <param name="CueValue">Input value on the active context channel.</param>
/// <param name="Target">Target magnitude: the sign of the cued stream times Target.</param>
/// <param name="Dt">Integration step (ms).</param>
public sealed record ContextIntegrationSettings(
    double TrialMs = 700,
    double StimStartMs = 1,
    double StimMs = 500,
    double CueStartMs = 0,
    double? CueMs = null,
    double ResponseMs = 200,
    IReadOnlyList<double>? Coherences = null,
    double NoiseStd = 0.5,
    double CueValue = 1.0,
    double Target = 0.98,
    double Dt = 1.0)
{
    public static ContextIntegrationSettings Default { get; } = new();

    /// <summary>The coherence levels in use (default 0.1 only, as Miconi).</summary>
    public IReadOnlyList<double> CoherenceLevels => Coherences ?? [0.1];

    /// <summary>The cue duration in use (default: from its onset to the end of the trial).</summary>
    public double CueDurationMs => CueMs ?? TrialMs - CueStartMs;
}

/// <summary>
/// Context-dependent integration. Channels: 0 = stream 1 ("motion"), 1 = stream 2 ("colour"),
/// 2 = context cue "attend stream 1", 3 = context cue "attend stream 2". Respond with the sign of the
/// cued stream's mean, ignoring the other. Conditions: context × sign of the cued stream × its coherence
/// level, condition = 4·level + 2·context + (sign &lt; 0 ? 1 : 0); the irrelevant stream is random within
/// a condition (as in Miconi's code, where one reward baseline per context × relevant sign sufficed).
/// </summary>
public sealed class ContextIntegrationTask : CognitiveTask
{
    public ContextIntegrationTask(ContextIntegrationSettings? settings = null) : base((settings ?? ContextIntegrationSettings.Default).Dt)
    {
        Settings = settings ?? ContextIntegrationSettings.Default;
        var s = Settings;
        RequireEpoch("context-integration stimulus", s.StimStartMs, s.StimMs, s.TrialMs);
        RequireEpoch("context-integration cue", s.CueStartMs, s.CueDurationMs, s.TrialMs);
        RequireEpoch("context-integration response", s.TrialMs - s.ResponseMs, s.ResponseMs, s.TrialMs);
        RequireCoherences("context-integration", s.CoherenceLevels);
        if (!(s.NoiseStd >= 0)) throw new ArgumentException("context-integration: NoiseStd must be ≥ 0.");
        if (s.CoherenceLevels.Contains(0.0))
            throw new ArgumentException("context-integration: a zero coherence of the cued stream has no right answer.");
    }

    public ContextIntegrationSettings Settings { get; }
    public override string Name => "context-integration";
    public override int InputCount => 4;
    public override int ConditionCount => 4 * Settings.CoherenceLevels.Count;

    /// <summary>the sign of the cued stream: two answers.</summary>
    public override double ChanceLevel => 0.5;
    public override double TrialMs => Settings.TrialMs;

    /// <summary>Decodes a condition into the cued stream (0 or 1) and its signed coherence.</summary>
    public (int Context, double RelevantCoherence) Decode(int condition)
    {
        int level = condition / 4, context = condition / 2 % 2;
        double c = Settings.CoherenceLevels[level];
        return (context, condition % 2 == 0 ? c : -c);
    }

    public override string ConditionLabel(int condition)
    {
        var (context, coh) = Decode(condition);
        return $"attend stream {context + 1}, its coherence {Signed(coh)}";
    }

    protected override Trial Generate(int trialIndex, int condition, TrialBuilder trial, Rng rng)
    {
        var s = Settings;
        var (context, relevant) = Decode(condition);
        var levels = s.CoherenceLevels;
        double irrelevant = levels[rng.NextInt(levels.Count)] * (rng.Bernoulli(0.5) ? 1 : -1);
        int relevantChannel = context, irrelevantChannel = 1 - context;
        trial.Add(relevantChannel, s.StimStartMs, s.StimMs, relevant)
             .Add(irrelevantChannel, s.StimStartMs, s.StimMs, irrelevant)
             .AddNoise(0, s.StimStartMs, s.StimMs, s.NoiseStd, rng)
             .AddNoise(1, s.StimStartMs, s.StimMs, s.NoiseStd, rng)
             .Add(2 + context, s.CueStartMs, s.CueDurationMs, s.CueValue);
        double target = Math.Sign(relevant) * s.Target;
        trial.Score(s.TrialMs - s.ResponseMs, s.ResponseMs, target);
        string label = $"attend stream {context + 1}: stream {relevantChannel + 1} {Signed(relevant)}, stream {irrelevantChannel + 1} {Signed(irrelevant)}";
        return trial.Build(trialIndex, condition, label, new Scoring(Correctness.MeanOutputSide, 0.0));
    }
}
