using RuleDsl.Symbolic;

namespace RuleDsl.Runtime.Engine;

/// <summary>One output of a kernel: <c>Target = Value</c> or <c>Target += Value</c>.</summary>
public sealed record KernelOutput(Symbol Target, Expr Value, bool Accumulate);

/// <summary>A set of equations evaluated together: every output is computed from the inputs as they
/// were before any output is written (so <c>W += ΔW</c> and <c>U += δΔW</c> both read the old W).</summary>
public interface IKernel
{
    string Name { get; }
    /// <summary>The symbols read, in the order <see cref="Run"/> expects their tensors.</summary>
    IReadOnlyList<Symbol> Inputs { get; }
    IReadOnlyList<KernelOutput> Outputs { get; }
    void Run(Tensor[] inputs, Tensor[] targets);
}

/// <summary>Turns equations into kernels: the reference interpreter, or compiled code.</summary>
public interface IKernelBackend
{
    string Name { get; }
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
    public void Run() => Kernel.Run(inputs, targets);

    /// <summary>Binds by symbol name; a name the environment lacks is a bug in the engine, said plainly.</summary>
    public static BoundKernel Bind(IKernel kernel, Func<string, Tensor?> env)
    {
        Tensor Find(string n) => env(n) ?? throw new InvalidOperationException($"kernel {kernel.Name}: nothing bound to {n}");
        return new BoundKernel(kernel,
            kernel.Inputs.Select(s => Find(s.Name)).ToArray(),
            kernel.Outputs.Select(o => Find(o.Target.Name)).ToArray());
    }
}

/// <summary>The reference backend: evaluates the IR with <c>Eval.eval</c>. Slow and obviously correct;
/// the compiled backend is tested against it.</summary>
public sealed class InterpretedBackend : IRowProductBackend
{
    public string Name => "interpreter";

    public IKernel Compile(string name, IReadOnlyList<KernelOutput> outputs) => new Interpreted(name, outputs, 0);

    public IKernel Compile(string name, IReadOnlyList<KernelOutput> outputs, IReadOnlyList<Compiler.RowProduct> products) =>
        new Interpreted(name, [.. outputs, .. products.Select(RowProducts.AsOutput)], products.Count);

    /// <summary>The last <c>products</c> outputs are row products: evaluated after the others are stored.</summary>
    sealed class Interpreted : IKernel
    {
        readonly int _products;
        public string Name { get; }
        public IReadOnlyList<Symbol> Inputs { get; }
        public IReadOnlyList<KernelOutput> Outputs { get; }

        public Interpreted(string name, IReadOnlyList<KernelOutput> outputs, int products)
        {
            Name = name;
            Outputs = outputs;
            _products = products;
            Inputs = outputs.SelectMany(o => ExprModule.symbols(o.Value)).Distinct().ToList();
        }

        public void Run(Tensor[] inputs, Tensor[] targets)
        {
            int n = Outputs.Count - _products;
            var env = new Dictionary<Symbol, Value>();
            for (int i = 0; i < Inputs.Count; i++) env[Inputs[i]] = inputs[i].ToValue();
            var f = Microsoft.FSharp.Core.FuncConvert.FromFunc<Symbol, Value>(s => env[s]);
            var values = Outputs.Take(n).Select(o => Eval.eval(f, o.Value)).ToArray();
            for (int k = 0; k < n; k++) targets[k].Store(values[k], Outputs[k].Accumulate);
            if (_products == 0) return;
            // Products read the matrices as this step left them.
            for (int k = 0; k < n; k++) env[Outputs[k].Target] = targets[k].ToValue();
            for (int k = n; k < Outputs.Count; k++) targets[k].Store(Eval.eval(f, Outputs[k].Value), false);
        }
    }
}
