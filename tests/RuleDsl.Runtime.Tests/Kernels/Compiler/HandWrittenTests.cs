using RuleDsl.Bench;
using RuleDsl.Runtime.Kernels.Compiler;
using static RuleDsl.Runtime.Tests.Kernels.Compiler.TestRules;

namespace RuleDsl.Runtime.Tests.Kernels.Compiler;

/// <summary>
/// The benchmark's hand-written steps derive every tangent by hand (grouped differently, no IR):
/// the compiled kernels must agree with them, so two independent derivations check each other.
/// </summary>
public class HandWrittenTests
{
    [Theory]
    [InlineData("f0")]
    [InlineData("bio")]
    [InlineData("pool")]
    [InlineData("neo_hebbian")]
    public void Compiled_steps_equal_the_hand_derived_steps(string name)
    {
        var rule = All().First(r => r.Name == name);
        var kind = rule.Traces.IsEmpty ? RuleKernels.StepKind.Weight : RuleKernels.StepKind.Traces;
        foreach (var (post, pre, d) in new[] { (7, 9, 0), (7, 9, 2), (130, 170, 3) })
        {
            var k = RuleKernels.Compile<double>(rule, kind, d, ["dt"]).Value;
            var rng = new Random(post + d);
            var compiled = k.CreateArgs().Size("post", post).Size("pre", pre);
            var hand = k.CreateArgs().Size("post", post).Size("pre", pre);
            foreach (var s in k.Layout.ArraySymbols)
            {
                var a = compiled.Allocate(s.Name);
                // ones_<dim> (from the simplifier) is a vector of ones, everything else random.
                for (int q = 0; q < a.Length; q++) a[q] = s.Name.StartsWith("ones_") ? 1.0 : 2 * rng.NextDouble() - 1;
                hand.Set(s.Name, (double[])a.Clone());
            }
            foreach (var s in k.Layout.ScalarSymbols)
            {
                double v = s.Name == "dt" ? 0.1 : 2 * rng.NextDouble() - 1;
                compiled.Set(s.Name, v);
                hand.Set(s.Name, v);
            }
            k.Step(compiled);
            HandStep.For(name, hand, d).Step();
            foreach (var s in k.Layout.ArraySymbols)
                Check.Close(compiled.Array(s.Name), hand.Array(s.Name), 1e-11, $"{name} {post}×{pre} D={d}: {s.Name}");
        }
    }
}
