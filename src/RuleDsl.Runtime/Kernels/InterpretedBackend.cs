using RuleDsl.Symbolic;

namespace RuleDsl.Runtime.Kernels;

/// <summary>The reference backend: evaluates the IR with <c>Eval.eval</c>. Slow and obviously correct;
/// every compiled kernel is tested against it.</summary>
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
