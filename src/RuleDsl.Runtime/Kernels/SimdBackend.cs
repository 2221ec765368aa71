using RuleDsl.Runtime.Kernels.Compiler;
using RuleDsl.Symbolic;

namespace RuleDsl.Runtime.Kernels;

/// <summary>The compiled backend (<c>backend = simd</c>): each kernel goes through the compiler of
/// <c>Kernels/Compiler</c> (KernelSpec → Kernel&lt;double&gt;, SIMD row loops). Same equations and semantics
/// as <see cref="InterpretedBackend"/> (all reads see the values from before the step), which checks it.</summary>
public sealed class SimdBackend : IRowProductBackend
{
    public string Name => "simd";

    public IKernel Compile(string name, IReadOnlyList<KernelOutput> outputs) => Compile(name, outputs, []);

    /// <summary>Row products run inside the kernel's pass over the rows (<see cref="RowProduct"/>); they
    /// appear as the kernel's last outputs, for binding.</summary>
    public IKernel Compile(string name, IReadOnlyList<KernelOutput> outputs, IReadOnlyList<RowProduct> products)
    {
        var all = outputs.Concat(products.Select(RowProducts.AsOutput)).ToList();
        var inputs = all.SelectMany(o => ExprModule.symbols(o.Value)).Distinct().ToList();
        var spec = new KernelSpec(name, inputs, outputs, products);
        var result = KernelCompiler.Compile<double>(spec);
        if (!result.Ok) throw new KernelCompileException(name, result.Error ?? "unknown reason");
        return new Compiled(name, inputs, all, result.Kernel!);
    }

    /// <summary>The kernel with its matrix rows deferred (<see cref="KernelSpec.DeferRows"/>: run it with
    /// <see cref="DeferredRows{T}.Current"/> set), or null with the reason when its rows are not all
    /// old row + rank-one terms.</summary>
    public IKernel? TryCompileDeferred(string name, IReadOnlyList<KernelOutput> outputs, out string? why)
    {
        var inputs = outputs.SelectMany(o => ExprModule.symbols(o.Value)).Distinct().ToList();
        var result = KernelCompiler.Compile<double>(new KernelSpec(name, inputs, outputs, [], deferRows: true));
        why = result.Error;
        return result.Ok ? new Compiled(name, inputs, outputs.ToList(), result.Kernel!) : null;
    }

    /// <summary>A compiled kernel behind <see cref="IKernel"/>: binds tensors to its argument block.</summary>
    public sealed class Compiled(string name, IReadOnlyList<Symbol> inputs, IReadOnlyList<KernelOutput> outputs, Kernel<double> kernel) : IKernel
    {
        /// <summary>The compiled code (shared through the compiler's cache by equal kernels).</summary>
        public Kernel<double> Kernel => kernel;
        readonly ThreadLocal<KernelArgs<double>> _args = new(kernel.CreateArgs);
        public string Name => name;
        public IReadOnlyList<Symbol> Inputs => inputs;
        public IReadOnlyList<KernelOutput> Outputs => outputs;

        // Where each input and target goes in the argument block, found once (a step binds by slot).
        readonly Slot[] _inSlots = inputs.Select(x => Slot.Of(kernel.Layout, x)).ToArray();
        readonly Slot[] _outSlots = outputs.Select(o => Slot.Of(kernel.Layout, o.Target)).ToArray();

        public void Run(Tensor[] ins, Tensor[] targets)
        {
            var args = _args.Value!;
            for (int i = 0; i < ins.Length; i++) _inSlots[i].Bind(args, ins[i]);
            for (int k = 0; k < targets.Length; k++) _outSlots[k].Bind(args, targets[k]);
            kernel.Step(args);
            // Scalar targets live in the argument block: copy them back.
            for (int k = 0; k < targets.Length; k++)
                if (_outSlots[k].Scalar >= 0) targets[k].Value = args.Scalars[_outSlots[k].Scalar];
        }

        /// <summary>A symbol's slots: its scalar slot, or its array slot and the slots of its dimensions.</summary>
        readonly record struct Slot(int Scalar, int Array, int DimA, int DimB)
        {
            public static Slot Of(Compiler.KernelLayout layout, Symbol s) => s.Shape switch
            {
                Shape.Vector v => new(-1, layout.ArraySlot(s.Name), layout.DimSlot(v.Item), -1),
                Shape.Matrix m => new(-1, layout.ArraySlot(s.Name), layout.DimSlot(m.rows), layout.DimSlot(m.cols)),
                _ => new(layout.ScalarSlot(s.Name), -1, -1, -1),
            };

            public void Bind(KernelArgs<double> args, Tensor t)
            {
                if (Scalar >= 0) { args.Scalars[Scalar] = t.Value; return; }
                args.Sizes[DimA] = t.Rows;
                if (DimB >= 0) args.Sizes[DimB] = t.Cols;
                args.Arrays[Array] = t.Data;
            }
        }
    }
}

/// <summary>A kernel the compiler cannot build: names the kernel and the expression.</summary>
public sealed class KernelCompileException(string kernel, string message)
    : Exception($"cannot compile kernel '{kernel}': {message}")
{
    public string Kernel { get; } = kernel;
}
