using RuleDsl.Runtime.Kernels.Compiler;
using RuleDsl.Runtime.Tests.Kernels.Compiler;
using RuleDsl.Semantics;

namespace RuleDsl.Bench;

/// <summary>How θ and the tangent directions are set.</summary>
public enum ThetaMode
{
    /// <summary>The paper's start (θ0 = 1e-3, other terms 0; neo-Hebbian θ[1,1] = 1) and unit directions.</summary>
    Paper,
    /// <summary>Every θ and every direction component non-zero: nothing can be skipped (worst case).</summary>
    Dense,
}

/// <summary>One plasticity step over all layers of a network, compiled or hand-written.</summary>
public sealed class NetworkStep
{
    /// <summary>The paper's feedforward network 784-170-130-100-70-5.</summary>
    public static readonly int[] PaperWidths = [784, 170, 130, 100, 70, 5];

    public static int[] Widths(double scale) => PaperWidths.Select(w => Math.Max(1, (int)Math.Round(w * scale))).ToArray();

    public static long SynapseCount(double scale)
    {
        var w = Widths(scale);
        return Enumerable.Range(0, w.Length - 1).Sum(l => (long)w[l] * w[l + 1]);
    }

    public static Rule RuleByName(string name) => TestRules.All().First(r => r.Name == name);

    /// <summary>The kernel a rule's plasticity step runs: ΔW for feedforward rules, the trace step for traces.</summary>
    public static RuleKernels.StepKind KindOf(Rule rule) => rule.Traces.IsEmpty ? RuleKernels.StepKind.Weight : RuleKernels.StepKind.Traces;

    public static Kernel<double> Compile(Rule rule, int directions, CompilerBackend? backend = null) =>
        RuleKernels.Compile<double>(rule, KindOf(rule), directions, ["dt"], backend).Value;

    public readonly Kernel<double> Kernel;
    public readonly List<KernelArgs<double>> Layers = [];
    readonly List<HandStep> hand = [];

    public NetworkStep(string ruleName, int directions, ThetaMode mode, double scale, bool handWritten, CompilerBackend? backend = null, int seed = 1)
    {
        var rule = RuleByName(ruleName);
        Kernel = Compile(rule, directions, backend);
        var widths = Widths(scale);
        var rng = new Random(seed);
        for (int l = 0; l + 1 < widths.Length; l++)
        {
            var args = Fill(Kernel, rule, widths[l + 1], widths[l], directions, mode, rng);
            Layers.Add(args);
            if (handWritten) hand.Add(HandStep.For(ruleName, args, directions));
        }
    }

    public void RunCompiled()
    {
        foreach (var a in Layers) Kernel.Step(a);
    }

    public void RunHand()
    {
        foreach (var h in hand) h.Step();
    }

    /// <summary>Random state for one layer (post × pre): activations in [0, 1), errors ±0.1, W Xavier-uniform.</summary>
    public static KernelArgs<double> Fill(Kernel<double> k, Rule rule, int post, int pre, int directions, ThetaMode mode, Random rng)
    {
        var a = k.CreateArgs().Size("post", post).Size("pre", pre);
        foreach (var s in k.Layout.ArraySymbols)
        {
            var x = a.Allocate(s.Name);
            double scale = s.Name.StartsWith('δ') ? 0.01 : s.Name.Contains('W') || s.Name == "E" ? Math.Sqrt(6.0 / (post + pre)) : s.Name.StartsWith('e') ? 0.1 : 1.0;
            bool positive = s.Name is "y_pre" or "y_post" or "r";
            for (int q = 0; q < x.Length; q++) x[q] = positive ? scale * rng.NextDouble() : scale * (2 * rng.NextDouble() - 1);
            // ones_<dim>: the simplifier writes a constant vector as c · ones_<dim>.
            if (s.Name.StartsWith("ones_", StringComparison.Ordinal)) Array.Fill(x, 1.0);
        }
        foreach (var s in k.Layout.ScalarSymbols) a.Set(s.Name, 0.01 * (2 * rng.NextDouble() - 1));
        if (k.Layout.TryScalar("dt", out _)) a.Set("dt", 0.1);
        for (int r = 0; r < rule.Params.Length; r++)
        {
            var p = rule.Params[r];
            double theta = mode == ThetaMode.Paper ? p.Init : 1e-4 * (r + 1);
            a.Set(p.Symbol.Name, theta);
            for (int d = 0; d < directions; d++)
            {
                var name = RuleKernels.Tangent(p.Symbol, d).Name;
                a.Set(name, mode == ThetaMode.Paper ? (d % rule.Params.Length == r ? 1.0 : 0.0) : 2 * rng.NextDouble() - 1);
            }
        }
        return a;
    }

    /// <summary>Copy every buffer and scalar of one args into another with the same layout.</summary>
    public static void CopyState(KernelArgs<double> from, KernelArgs<double> to)
    {
        Array.Copy(from.Scalars, to.Scalars, from.Scalars.Length);
        Array.Copy(from.Sizes, to.Sizes, from.Sizes.Length);
        for (int s = 0; s < from.Arrays.Length; s++) to.Arrays[s] = (double[])from.Arrays[s]!.Clone();
    }
}
