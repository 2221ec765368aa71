using System.Collections.Concurrent;
using System.Numerics;
using Microsoft.FSharp.Core;
using RuleDsl.Semantics;
using RuleDsl.Symbolic;

namespace RuleDsl.Runtime.Kernels.Compiler;

/// <summary>
/// Kernels for a checked <see cref="Rule"/>, with forward-mode tangents for D directions.
/// <para>Naming (how the caller finds its buffers in <see cref="KernelArgs{T}"/>): the tangent of a symbol
/// X in direction d is the symbol <c>δX#d</c> of X's shape (<see cref="Tangent"/>). So the direction's
/// component for θ_r is the scalar <c>δtheta[r]#d</c>, the weight tangent U_d is <c>δW#d</c>, and the
/// state tangents the network supplies are <c>δy_pre#d</c>, <c>δe_post#d</c>, ….</para>
/// </summary>
public static class RuleKernels
{
    /// <summary>The tangent of <paramref name="s"/> in direction <paramref name="d"/> (0-based): δs#d
    /// (<c>Differentiate.tangentAlong</c>).</summary>
    public static Symbol Tangent(Symbol s, int d) => Differentiate.tangentAlong(s, d);

    /// <summary>What a step kernel updates.</summary>
    public enum StepKind
    {
        /// <summary>W += ΔW and, per direction d, δW#d += (tangent of ΔW in direction d).</summary>
        Weight,
        /// <summary>Every trace E ← Next(E) and, per direction d, δE#d ← (tangent of Next in direction d).</summary>
        Traces,
    }

    /// <summary>
    /// The symbols whose tangents are carried (<c>Tangents.carried</c>): parameters, the weight, traces,
    /// and every input that changes during learning, less those named in <paramref name="constantInputs"/>.
    /// </summary>
    public static IReadOnlyList<Symbol> Differentiable(Rule rule, IEnumerable<string>? constantInputs = null) =>
        [.. Tangents.carried(rule, constantInputs ?? [])];

    /// <summary>The tangent of e in direction d (Differentiate.forward with s ↦ δs#d for each differentiable s).</summary>
    public static Expr TangentOf(Expr e, IReadOnlyList<Symbol> differentiable, int d)
    {
        var set = differentiable.ToHashSet();
        var f = FuncConvert.FromFunc<Symbol, FSharpOption<Expr>?>(s =>
            set.Contains(s) ? FSharpOption<Expr>.Some(Expr.NewSym(Tangent(s, d))) : FSharpOption<Expr>.None);
        return Differentiate.forward(f, e);
    }

    /// <summary>The spec of a rule's step with <paramref name="directions"/> tangent directions.</summary>
    public static KernelSpec Spec(Rule rule, StepKind kind, int directions, IEnumerable<string>? constantInputs = null)
    {
        if (directions < 0) throw new ArgumentOutOfRangeException(nameof(directions));
        var diff = Differentiable(rule, constantInputs);
        var inputs = new List<Symbol>();
        void Add(Symbol s)
        {
            if (!inputs.Contains(s)) inputs.Add(s);
        }
        foreach (var p in rule.Params) Add(p.Symbol);
        foreach (var s in rule.Inputs) Add(s);
        Add(rule.Weight);
        foreach (var t in rule.Traces) Add(t.Symbol);
        for (int d = 0; d < directions; d++)
            foreach (var s in diff) Add(Tangent(s, d));

        var outputs = new List<KernelOutput>();
        if (kind == StepKind.Weight)
        {
            outputs.Add(new KernelOutput(rule.Weight, rule.Update, true, "ΔW"));
            for (int d = 0; d < directions; d++)
                outputs.Add(new KernelOutput(Tangent(rule.Weight, d), TangentOf(rule.Update, diff, d), true, $"tangent {d} of ΔW"));
        }
        else
        {
            foreach (var t in rule.Traces)
            {
                outputs.Add(new KernelOutput(t.Symbol, t.Next, false, $"{t.Symbol.Name} next"));
                for (int d = 0; d < directions; d++)
                    outputs.Add(new KernelOutput(Tangent(t.Symbol, d), TangentOf(t.Next, diff, d), false, $"tangent {d} of {t.Symbol.Name} next"));
            }
        }
        // The simplifier may write a constant vector as c · ones_<dim>: such a symbol is an input too.
        foreach (var o in outputs)
            foreach (var s in ExprModule.symbols(o.Value))
                if (s.Name.StartsWith("ones_", StringComparison.Ordinal)) Add(s);
        return new KernelSpec(rule.Name, inputs, outputs);
    }

    static readonly ConcurrentDictionary<(Rule, StepKind, int, string, Type, CompilerBackend), object> Cache = new();

    /// <summary>
    /// The compiled step of a rule (cached per process by rule, kind, directions, constants, precision).
    /// T is double, or float for single precision.
    /// </summary>
    public static CompileResult<T> Compile<T>(Rule rule, StepKind kind, int directions,
        IEnumerable<string>? constantInputs = null, CompilerBackend? backend = null)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var constants = string.Join(",", (constantInputs ?? []).Order());
        var b = backend ?? KernelCompiler.DefaultBackend;
        var lazy = (Lazy<CompileResult<T>>)Cache.GetOrAdd((rule, kind, directions, constants, typeof(T), b),
            _ => new Lazy<CompileResult<T>>(() =>
            {
                KernelSpec spec;
                try
                {
                    spec = Spec(rule, kind, directions, constantInputs);
                }
                catch (Exception e) when (e is InvalidOperationException or ArgumentException)
                {
                    return CompileResult<T>.Failure($"not supported: {e.Message} in rule {rule.Name}");
                }
                return KernelCompiler.Compile<T>(spec, b);
            }));
        return lazy.Value;
    }
}
