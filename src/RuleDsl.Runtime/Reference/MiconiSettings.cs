namespace RuleDsl.Runtime.Reference;

/// <summary>A neuron whose state is clamped to a constant (Miconi's bias neurons).</summary>
public readonly record struct ClampedNeuron(int Neuron, double Value);

/// <summary>
/// Settings of Miconi's (2017) reward-modulated learner. Every default is the value in his DNMS code
/// (BiologicallyPlausibleLearningRNN, dnms/net.cpp, METHOD = DELTAX, MODULTYPE = DECOUPLED).
/// </summary>
/// <param name="N">Number of neurons (NBNEUR).</param>
/// <param name="G">Gain of the initial recurrent weights, J ~ N(0, 1)·G/√N (edge of chaos at 1.5).</param>
/// <param name="Dt">Euler step (ms).</param>
/// <param name="Tau">Membrane time constant (ms).</param>
/// <param name="OutputNeuron">The neuron whose rate r is the network's output (neuron 0).</param>
/// <param name="Biases">Clamped neurons; default x₁ = 1, x₁₀ = 1, x₁₁ = −1.</param>
/// <param name="InitialStateRange">x at the start of every trial is uniform in ±this (0.1).</param>
/// <param name="InputWeightRange">W_in uniform in ±this (1); the output neuron's row is zero.</param>
/// <param name="PerturbationProbability">Per neuron and step (0.003 at dt = 1 ms, i.e. 3 Hz).</param>
/// <param name="PerturbationAmplitude">A kick uniform in ±this (16) is added to the neuron's input,
/// i.e. ±16·dt/τ ≈ ±0.5 on x.</param>
/// <param name="PerturbationFromStep">Perturbations only at steps ≥ this (Miconi: numiter &gt; 3).</param>
/// <param name="EligibilityFromStep">Eligibility accumulates only at steps ≥ this (numiter &gt; 2).</param>
/// <param name="TraceAlpha">x̄ ← α x̄ + (1 − α) x with α = 0.05 (ALPHATRACEEXC); x̄ is never reset.</param>
/// <param name="BaselineAlpha">Ē ← α Ē + (1 − α) err per trial type with α = 0.75 (ALPHATRACE).</param>
/// <param name="Eta">Learning rate η (0.1).</param>
/// <param name="MaxDw">Each element of ΔJ is clipped to ±this (3e-4).</param>
/// <param name="LearnAfterTrial">J changes only on trials whose 0-based index is greater than this (100).</param>
/// <param name="Seed">Seed of the network's generator (weights, initial states, perturbations).</param>
/// <param name="TaskSeed">Seed of the task's generator (trial noise); default: the same as Seed.</param>
/// <param name="ResetAverage">x̄ restarts at each trial's initial state (the engine's `xbar = reset`)
/// instead of carrying over from the previous trial (Miconi's, the engine's `xbar = carry`).</param>
/// <param name="OutputBeforeStep">z(t) is the output neuron's rate before the Euler step, r(t−1) (the
/// engine's `readout = before`), instead of after it, r(t) (Miconi's, `readout = after`).</param>
public sealed record MiconiSettings(
    int N = 200,
    double G = 1.5,
    double Dt = 1.0,
    double Tau = 30.0,
    int OutputNeuron = 0,
    IReadOnlyList<ClampedNeuron>? Biases = null,
    double InitialStateRange = 0.1,
    double InputWeightRange = 1.0,
    double PerturbationProbability = 0.003,
    double PerturbationAmplitude = 16.0,
    int PerturbationFromStep = 4,
    int EligibilityFromStep = 3,
    double TraceAlpha = 0.05,
    double BaselineAlpha = 0.75,
    double Eta = 0.1,
    double MaxDw = 3e-4,
    int LearnAfterTrial = 100,
    ulong Seed = 0,
    ulong? TaskSeed = null,
    bool ResetAverage = false,
    bool OutputBeforeStep = false)
{
    public static MiconiSettings Default { get; } = new();

    /// <summary>The clamped neurons in use (default Miconi's x₁ = 1, x₁₀ = 1, x₁₁ = −1).</summary>
    public IReadOnlyList<ClampedNeuron> BiasNeurons => Biases ?? [new(1, 1.0), new(10, 1.0), new(11, -1.0)];

    internal void Validate()
    {
        if (N < 2) throw new ArgumentException($"N must be at least 2, got {N}.");
        if (!(Dt > 0) || !(Tau > 0)) throw new ArgumentException("Dt and Tau must be positive.");
        if (OutputNeuron < 0 || OutputNeuron >= N) throw new ArgumentException($"OutputNeuron {OutputNeuron} is not in 0..{N - 1}.");
        foreach (var b in BiasNeurons)
        {
            if (b.Neuron < 0 || b.Neuron >= N) throw new ArgumentException($"bias neuron {b.Neuron} is not in 0..{N - 1}.");
            if (b.Neuron == OutputNeuron) throw new ArgumentException("the output neuron cannot be a clamped bias neuron.");
        }
        if (!(PerturbationProbability >= 0 && PerturbationProbability <= 1)) throw new ArgumentException("PerturbationProbability must be in [0, 1].");
        if (!(TraceAlpha >= 0 && TraceAlpha < 1) || !(BaselineAlpha >= 0 && BaselineAlpha < 1))
            throw new ArgumentException("TraceAlpha and BaselineAlpha must be in [0, 1).");
        if (!(MaxDw > 0)) throw new ArgumentException("MaxDw must be positive.");
    }
}
