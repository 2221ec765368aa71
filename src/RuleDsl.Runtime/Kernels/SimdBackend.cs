using System.Numerics;
using System.Runtime.CompilerServices;
using RuleDsl.Runtime.Kernels.Compiler;
using RuleDsl.Symbolic;
using Precision = RuleDsl.Syntax.Precision;

namespace RuleDsl.Runtime.Kernels;

/// <summary>The compiled backend (<c>backend = simd</c>): each kernel goes through the compiler of
/// <c>Kernels/Compiler</c> (KernelSpec → Kernel&lt;double&gt;, or Kernel&lt;float&gt; for
/// <c>precision = float32</c>, SIMD row loops). Same equations and semantics as
/// <see cref="InterpretedBackend"/> (all reads see the values from before the step), which checks it.</summary>
public sealed class SimdBackend(Precision? precision = null) : IRowProductBackend
{
    public string Name => "simd";

    /// <summary>The type the kernels compute in; their vectors and matrices must be tensors of it.</summary>
    public Precision Precision { get; } = precision ?? Precision.Float64;

    public IKernel Compile(string name, IReadOnlyList<KernelOutput> outputs) => Compile(name, outputs, []);

    /// <summary>Row products run inside the kernel's pass over the rows (<see cref="RowProduct"/>); they
    /// appear as the kernel's last outputs, for binding.</summary>
    public IKernel Compile(string name, IReadOnlyList<KernelOutput> outputs, IReadOnlyList<RowProduct> products)
    {
        var all = outputs.Concat(products.Select(RowProducts.AsOutput)).ToList();
        var inputs = all.SelectMany(o => ExprModule.symbols(o.Value)).Distinct().ToList();
        var spec = new KernelSpec(name, inputs, outputs, products);
        var kernel = Precision.IsFloat32 ? Build<float>(name, inputs, all, spec, out var why) : Build<double>(name, inputs, all, spec, out why);
        return kernel ?? throw new KernelCompileException(name, why ?? "unknown reason");
    }

    /// <summary>The kernel with its matrix rows deferred (<see cref="KernelSpec.DeferRows"/>: run it with
    /// <see cref="DeferredRows{T}.Current"/> set, T the backend's precision), or null with the reason when
    /// its rows are not all old row + rank-one terms.</summary>
    public IKernel? TryCompileDeferred(string name, IReadOnlyList<KernelOutput> outputs, out string? why)
    {
        var inputs = outputs.SelectMany(o => ExprModule.symbols(o.Value)).Distinct().ToList();
        var spec = new KernelSpec(name, inputs, outputs, [], deferRows: true);
        return Precision.IsFloat32 ? Build<float>(name, inputs, outputs.ToList(), spec, out why) : Build<double>(name, inputs, outputs.ToList(), spec, out why);
    }

    static IKernel? Build<T>(string name, IReadOnlyList<Symbol> inputs, IReadOnlyList<KernelOutput> outputs, KernelSpec spec, out string? why)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var result = KernelCompiler.Compile<T>(spec);
        why = result.Error;
        return result.Ok ? new Compiled<T>(name, inputs, outputs, result.Kernel!) : null;
    }

    /// <summary>A compiled kernel behind <see cref="IKernel"/>: binds tensors to its argument block.</summary>
    public sealed class Compiled<T>(string name, IReadOnlyList<Symbol> inputs, IReadOnlyList<KernelOutput> outputs, Kernel<T> kernel) : IKernel
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        /// <summary>The compiled code (shared through the compiler's cache by equal kernels).</summary>
        public Kernel<T> Kernel => kernel;
        readonly ThreadLocal<KernelArgs<T>> _args = new(kernel.CreateArgs);
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
                if (_outSlots[k].Scalar >= 0) targets[k].Value = double.CreateTruncating(args.Scalars[_outSlots[k].Scalar]);
        }

        /// <summary>An argument block of its own, its arrays bound and checked once (a Tensor keeps its array
        /// for life), so a step skips the thread-local lookup, the binding and the checks; each call copies
        /// the scalars in and the scalar targets out, as <see cref="Run"/> does.</summary>
        public Action Prepare(Tensor[] ins, Tensor[] targets)
        {
            var args = kernel.CreateArgs();
            for (int i = 0; i < ins.Length; i++) _inSlots[i].Bind(args, ins[i]);
            for (int k = 0; k < targets.Length; k++) _outSlots[k].Bind(args, targets[k]);
            bool ready = false;   // checked (and scratch made) at the first call: bindings never run cost nothing
            var scalarIns = Enumerable.Range(0, ins.Length).Where(i => _inSlots[i].Scalar >= 0).Select(i => (_inSlots[i].Scalar, ins[i])).ToArray();
            var scalarOuts = Enumerable.Range(0, targets.Length).Where(k => _outSlots[k].Scalar >= 0).Select(k => (_outSlots[k].Scalar, targets[k])).ToArray();
            var scalars = args.Scalars;
            return () =>
            {
                foreach (var (slot, t) in scalarIns) scalars[slot] = T.CreateTruncating(t.Doubles![0]);
                foreach (var (slot, t) in scalarOuts) scalars[slot] = T.CreateTruncating(t.Doubles![0]);
                if (!ready) { kernel.Check(args); ready = true; }
                kernel.StepChecked(args);
                foreach (var (slot, t) in scalarOuts) t.Value = double.CreateTruncating(scalars[slot]);
            };
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

            public void Bind(KernelArgs<T> args, Tensor t)
            {
                // typeof(T) is a constant to the JIT: each instantiation keeps one of the two branches.
                if (Scalar >= 0) { args.Scalars[Scalar] = T.CreateTruncating(t.Doubles![0]); return; }
                args.Sizes[DimA] = t.Rows;
                if (DimB >= 0) args.Sizes[DimB] = t.Cols;
                args.Arrays[Array] = typeof(T) == typeof(double) ? Unsafe.As<T[]>(t.Doubles) : Unsafe.As<T[]>(t.Singles);
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
