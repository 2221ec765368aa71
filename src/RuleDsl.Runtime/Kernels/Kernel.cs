using RuleDsl.Symbolic;

namespace RuleDsl.Runtime.Kernels;

/// <summary>One output of a kernel: <c>Target = Value</c> or <c>Target += Value</c>. The target may be one
/// of the inputs (in place: W += ΔW reads the old W everywhere in the step). <paramref name="Name"/>
/// labels the output in a compiled kernel's plan (the target's name when absent).</summary>
public sealed record KernelOutput(Symbol Target, Expr Value, bool Accumulate, string? Name = null)
{
    public string Label => Name ?? Target.Name;
}

/// <summary>A set of equations evaluated together: every output is computed from the inputs as they
/// were before any output is written (so <c>W += ΔW</c> and <c>U += δΔW</c> both read the old W).</summary>
public interface IKernel
{
    string Name { get; }
    /// <summary>The symbols read, in the order <see cref="Run"/> expects their tensors.</summary>
    IReadOnlyList<Symbol> Inputs { get; }
    IReadOnlyList<KernelOutput> Outputs { get; }
    void Run(Tensor[] inputs, Tensor[] targets);

    /// <summary>A run with these tensors for good (a loop calls it once per step): a backend may bind their
    /// arrays and check them once, leaving only the scalars to copy per call.</summary>
    Action Prepare(Tensor[] inputs, Tensor[] targets) => () => Run(inputs, targets);
}

/// <summary>Turns equations into kernels: the reference interpreter, or compiled code.</summary>
public interface IKernelBackend
{
    string Name { get; }
    /// <summary>The type the kernels compute in: the learners store vectors and matrices in it.</summary>
    RuleDsl.Syntax.Precision Precision => RuleDsl.Syntax.Precision.Float64;
    IKernel Compile(string name, IReadOnlyList<KernelOutput> outputs);
}

/// <summary>A backend that can also compute products with the matrices a kernel has just updated
/// (<see cref="Compiler.RowProduct"/>: Output = Σ Matrix_new @ Vector, row by row as each row is written).
/// The products appear as extra outputs of the kernel (after the equations) so that they bind like any
/// target. A learner uses them where the backend offers them and runs separate passes otherwise.</summary>
public interface IRowProductBackend : IKernelBackend
{
    IKernel Compile(string name, IReadOnlyList<KernelOutput> outputs, IReadOnlyList<Compiler.RowProduct> products);
}

/// <summary>The outputs that stand for row products (for binding; their value reads the updated matrices).</summary>
public static class RowProducts
{
    public static KernelOutput AsOutput(Compiler.RowProduct p) =>
        new(p.Output, p.Terms.Select(t => Ir.MatMul(Expr.NewSym(t.Matrix), Expr.NewSym(t.Vector))).Aggregate((a, b) => a + b), false);
}

/// <summary>A kernel with its tensors bound once, so the hot loop only calls <see cref="Run"/>.</summary>
public sealed class BoundKernel(IKernel kernel, Tensor[] inputs, Tensor[] targets)
{
    public IKernel Kernel { get; } = kernel;
    readonly Action run = kernel.Prepare(inputs, targets);
    public void Run() => run();

    /// <summary>Binds by symbol name; a name the environment lacks is a bug in the engine, said plainly.</summary>
    public static BoundKernel Bind(IKernel kernel, Func<string, Tensor?> env)
    {
        Tensor Find(string n) => env(n) ?? throw new InvalidOperationException($"kernel {kernel.Name}: nothing bound to {n}");
        return new BoundKernel(kernel,
            kernel.Inputs.Select(s => Find(s.Name)).ToArray(),
            kernel.Outputs.Select(o => Find(o.Target.Name)).ToArray());
    }
}
