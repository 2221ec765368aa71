using RuleDsl.Runtime.Kernels;
using RuleDsl.Runtime.Kernels.Compiler;
using RuleDsl.Semantics;
using RuleDsl.Symbolic;

namespace RuleDsl.Runtime.Engine.Recurrent;

/// <summary>Which fast paths a <see cref="RecurrentLearner"/> takes. Each keeps the arithmetic of the plain
/// path (the numbers are bit-identical); <see cref="None"/> is the plain path, for benchmarks and tests.</summary>
public sealed record RecurrentSpeedups(
    /// <summary>The eligibility trace's per-step update E += Σ rank-one terms applied 16 steps at once.</summary>
    bool FactoredTraces = true,
    /// <summary>The same for the trace tangents δE (one deferral per direction). Off: slower here (see
    /// bench/README.md, "Recurrent engine speed"), since each direction's δE has several terms per step.</summary>
    bool FactoredTangents = false,
    /// <summary>Factor a trace whose rows combine several vectors per step too (the neo-Hebbian family's 3).
    /// Off: with the terms computed per element either way, only the traffic of an N×N matrix that sits in
    /// cache is saved, and the bookkeeping cost more than that at N = 100 (bench rnn-speed).</summary>
    bool FactorSeveralTerms = false,
    /// <summary>With the readout after the step, the rates r(t) computed for it serve the next step too
    /// (instead of φ(x) once more from the same x).</summary>
    bool ReuseRates = true,
    /// <summary>Each per-step tangent kernel run once for all D directions (<see cref="TangentBlock"/>:
    /// W·δr_d for every d in one pass over W, φ'(x) once), instead of once per direction.</summary>
    bool BlockTangents = true,
    /// <summary>W·r and W_in·u within a trial from copies laid out for them (<see cref="PackedWeights"/>: W in
    /// tiles of four rows, one sequential stream instead of four rows at once; W_in by columns), made at the
    /// start of each trial.</summary>
    bool PackedWeights = true)
{
    public static readonly RecurrentSpeedups Default = new();
    public static readonly RecurrentSpeedups None = new(FactoredTraces: false, FactoredTangents: false, FactorSeveralTerms: false, ReuseRates: false, BlockTangents: false, PackedWeights: false);
}

/// <summary>
/// An eligibility trace recognised as E + Σ rank-one terms whose factors read no trace: a trial only
/// reads E at its end (the weight update), so its per-step rows can be deferred and applied k steps at a
/// time (<see cref="DeferredRows{T}"/>, a rank-k update with each element in a register), in the same
/// summation order as the per-step update. The kernels here are the trace kernel and its tangent kernel
/// compiled with deferred rows; the learner sets <see cref="DeferredRows{T}.Current"/> around them and
/// calls <see cref="Flush"/> before anything reads E or δE.
/// </summary>
sealed class RankOneTraces
{
    public IKernel? Traces { get; private init; }
    public IKernel? TangentTraces { get; private init; }
    /// <summary>The most vectors a row of the trace combines per step (1: outer(a, b), the fast path).</summary>
    public int Terms { get; private init; }
    /// <summary>Why the trace cannot be factored (null when it can).</summary>
    public string? Why { get; private init; }

    /// <summary>The deferred kernels for <paramref name="rule"/>'s trace, or the reason there are none.
    /// <paramref name="perStep"/> are the other kernels of a step: none may read the trace.</summary>
    public static RankOneTraces Of(Rule rule, IKernelBackend backend, IEnumerable<IKernel> perStep,
        IReadOnlyList<KernelOutput> traces, IReadOnlyList<KernelOutput> tangents)
    {
        if (backend is not SimdBackend simd) return new() { Why = "only compiled kernels defer rows" };
        if (rule.Traces.Length != 1 || !rule.Traces[0].Symbol.Shape.IsMatrix) return new() { Why = "one matrix trace only" };
        var trace = rule.Traces[0];
        string e = trace.Symbol.Name, de = Differentiate.tangentSymbol(trace.Symbol).Name;
        // Next = E + (dt ·) rate: the rate must not read the trace (E is stale until flushed).
        if (ExprModule.symbols(trace.Rate).Any(s => s.Name == e || s.Name == de)) return new() { Why = "the trace's rate reads a trace" };
        var kernels = perStep.ToList();
        if (kernels.SelectMany(k => k.Inputs).Any(s => s.Name == e)) return new() { Why = "a per-step kernel reads the trace" };
        // δE is read by its own kernel only (as δE + δrate); the other kernels of a step must not read it.
        bool tangentsOk = !kernels.Where(k => !k.Outputs.Any(o => o.Target.Name == de)).SelectMany(k => k.Inputs).Any(s => s.Name == de);
        var t = simd.TryCompileDeferred("traces (deferred)", traces, out var why);
        if (t is null) return new() { Why = why };
        var dt = tangents.Count == 0 || !tangentsOk ? null : simd.TryCompileDeferred("δtraces (deferred)", tangents, out _);
        int terms = t switch
        {
            SimdBackend.Compiled<float> f => f.Kernel.MaxRowSources,
            _ => ((SimdBackend.Compiled<double>)t).Kernel.MaxRowSources,
        };
        return new() { Traces = t, TangentTraces = dt, Terms = terms };
    }
}

/// <summary>A <see cref="DeferredRows{T}"/> of the run's precision, so that the learner needs no type
/// parameter: <see cref="Use"/> makes it this thread's current one.</summary>
abstract class RowSink
{
    public abstract void Use();
    public abstract void Flush();
    /// <summary>No current sink of this precision on this thread.</summary>
    public abstract void Release();

    public static RowSink Of(RuleDsl.Syntax.Precision precision) => precision.IsFloat32 ? new Typed<float>() : new Typed<double>();

    sealed class Typed<T> : RowSink where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
    {
        readonly DeferredRows<T> _rows = new();
        public override void Use() => DeferredRows<T>.Current = _rows;
        public override void Flush() => _rows.Flush();
        public override void Release() => DeferredRows<T>.Current = null;
    }
}
