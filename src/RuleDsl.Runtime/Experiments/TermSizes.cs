using Microsoft.FSharp.Collections;
using RuleDsl.Runtime.Kernels;
using RuleDsl.Semantics;
using RuleDsl.Symbolic;

namespace RuleDsl.Runtime.Experiments;

/// <summary>
/// The terms of one expression of a rule, measured where a learner runs it: <see cref="Whole"/> (ΔW, a
/// trace's rate) and its terms by the θ that multiplies each, summed as Σ‖·‖² over every step and layer
/// of an episode. The learner's kernel that computes <see cref="Value"/> into <see cref="Target"/> (the
/// update into W, a trace's next value) is the one measured, from the very tensors it reads.
/// </summary>
public sealed class TermProbe(Rule rule, Symbol target, Expr value, Expr whole, IReadOnlyList<(string Theta, Expr Term)> terms)
{
    public Rule Rule { get; } = rule;
    public Symbol Target { get; } = target;
    public Expr Value { get; } = value;
    public Expr Whole { get; } = whole;
    public IReadOnlyList<(string Theta, Expr Term)> Terms { get; } = terms;
    internal readonly Tensor[] Squares = [Tensor.Scalar(), .. terms.Select(_ => Tensor.Scalar())];
    /// <summary>Whether a kernel computed the expression while the episode ran.</summary>
    internal bool Seen;

    /// <summary>Forgets what was measured (before measuring another episode).</summary>
    public void Reset()
    {
        foreach (var t in Squares) t.Value = 0;
        Seen = false;
    }

    /// <summary>‖term‖ / ‖whole‖ over the episode (each a root of summed squares); NaN if never measured.</summary>
    public double RelativeSize(int term) => !Seen ? double.NaN
        : Squares[term + 1].Value == 0 ? 0 : Math.Sqrt(Squares[term + 1].Value / Squares[0].Value);

    /// <summary>Σ‖Whole‖² then Σ‖term‖² for each term, added to by every run of the kernel.</summary>
    internal KernelOutput[] Outputs() =>
        [.. new[] { Whole }.Concat(Terms.Select(t => t.Term)).Select((e, i) =>
            new KernelOutput(new Symbol($"Σ²#{i}", Shape.Scalar), Ir.Call(Fn.SumAll, Expr.NewMul(ListModule.OfSeq([e, e]))), true))];

    /// <summary>The terms of a rule's update (ΔW, into W) and of each trace's rate that are linear
    /// coefficients of the θ in <paramref name="candidates"/>.</summary>
    public static IEnumerable<TermProbe> Of(Rule rule, Func<Symbol, bool> candidates)
    {
        var places = new List<(Symbol, Expr, Expr)> { (rule.Weight, rule.Update, rule.Update) };
        places.AddRange(rule.Traces.Select(t => (t.Symbol, t.Next, t.Rate)));
        foreach (var (target, value, whole) in places)
        {
            var terms = RuleOf.CoefficientTerms(rule, whole).Where(t => candidates(t.Item1)).Select(t => (t.Item1.Name, t.Item2)).ToList();
            if (terms.Count > 0) yield return new TermProbe(rule, target, value, whole, terms);
        }
    }
}

/// <summary>A backend that compiles kernels with <paramref name="inner"/> and, where a kernel computes a
/// probe's expression, measures the probe's terms from the kernel's own inputs before it runs. It offers
/// no fused row products, so learners run their plain passes.</summary>
public sealed class ProbingBackend(IKernelBackend inner, IReadOnlyList<TermProbe> probes) : IKernelBackend
{
    public string Name => inner.Name;
    public RuleDsl.Syntax.Precision Precision => inner.Precision;

    public IKernel Compile(string name, IReadOnlyList<KernelOutput> outputs)
    {
        var kernel = inner.Compile(name, outputs);
        var measured = probes.Where(p => outputs.Any(o => o.Target.Equals(p.Target) && o.Value.Equals(p.Value))).ToList();
        return measured.Count == 0 ? kernel : new Probed(kernel, measured.Select(p => (p, Measure(p, kernel))).ToList());
    }

    /// <summary>The kernel of the probe's sums and, for each input it reads, that input's place in the kernel's.</summary>
    (IKernel Sums, int[] From) Measure(TermProbe probe, IKernel kernel)
    {
        var sums = inner.Compile($"terms of {kernel.Name}", probe.Outputs());
        var from = sums.Inputs.Select(s => kernel.Inputs.ToList().IndexOf(s)).ToArray();
        if (from.Contains(-1)) throw new InvalidOperationException($"kernel {kernel.Name}: the terms of {probe.Target.Name} read what the kernel does not");
        return (sums, from);
    }

    sealed class Probed(IKernel kernel, List<(TermProbe Probe, (IKernel Sums, int[] From) Measure)> measured) : IKernel
    {
        public string Name => kernel.Name;
        public IReadOnlyList<Symbol> Inputs => kernel.Inputs;
        public IReadOnlyList<KernelOutput> Outputs => kernel.Outputs;

        public void Run(Tensor[] inputs, Tensor[] targets)
        {
            // Before the kernel writes its targets (W is among its inputs).
            foreach (var (probe, (sums, from)) in measured)
            {
                sums.Run([.. from.Select(i => inputs[i])], probe.Squares);
                probe.Seen = true;
            }
            kernel.Run(inputs, targets);
        }
    }
}
