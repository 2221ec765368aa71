namespace RuleDsl.Runtime.Kernels.Compiler;

/// <summary>Size of a scratch buffer in terms of the kernel's dimensions.</summary>
internal readonly record struct ScratchSize(int DimA, int DimB, int Fixed = 0, int Times = 1)
{
    /// <summary>Fixed &gt; 0: that many elements; else DimA = -1: one element; DimB = -1: a vector of DimA
    /// (Times of them, one after the other).</summary>
    public int Length(int[] sizes) => Fixed > 0 ? Fixed : DimA < 0 ? 1 : DimB < 0 ? sizes[DimA] * Times : sizes[DimA] * sizes[DimB] * Times;
}

/// <summary>
/// A compiled step: <see cref="Step"/> runs the generated delegate over the buffers of a
/// <see cref="KernelArgs{T}"/>. No allocation per step (scratch is allocated once per sizes).
/// </summary>
public sealed class Kernel<T> where T : unmanaged
{
    internal Kernel(KernelSpec spec, KernelLayout layout, Action<T[], T[][], int[], T[][], T[][], int[], T[]> body,
        ScratchSize[] scratch, int[] requiredArrays, IReadOnlyList<string> denseProducts, Func<string> plan,
        int maxRowSources, CompilerBackend backend, TimeSpan compileTime)
    {
        this.maxRowSources = maxRowSources;
        Spec = spec;
        Layout = layout;
        this.body = body;
        this.scratch = scratch;
        this.requiredArrays = requiredArrays;
        DenseProducts = denseProducts;
        plan_ = new Lazy<string>(plan);
        Backend = backend;
        CompileTime = compileTime;
    }

    readonly Action<T[], T[][], int[], T[][], T[][], int[], T[]> body;
    readonly ScratchSize[] scratch;
    readonly int[] requiredArrays;
    readonly int maxRowSources;

    public KernelSpec Spec { get; }
    public KernelLayout Layout { get; }
    /// <summary>The matrix @ matrix products left after lowering (each O(n³)), printed.</summary>
    public IReadOnlyList<string> DenseProducts { get; }
    /// <summary>A readable account of what the kernel computes and in which order.</summary>
    public string Plan => plan_.Value;
    readonly Lazy<string> plan_;
    public CompilerBackend Backend { get; }
    /// <summary>The most sources a matrix row combines (terms after grouping; 0 without matrix outputs).</summary>
    public int MaxRowSources => maxRowSources;
    public TimeSpan CompileTime { get; }

    public KernelArgs<T> CreateArgs() => new(Layout);

    /// <summary>Run one step. Checks that every buffer is set and has the length its shape needs.</summary>
    public void Step(KernelArgs<T> args)
    {
        Check(args);
        body(args.Scalars, args.Arrays!, args.Sizes, args.Scratch, args.RowSources, args.RowOffsets, args.RowCoefs);
    }

    /// <summary>A step over arguments whose arrays and sizes have not changed since <see cref="Check"/>
    /// passed on them (only scalars may change): what a binding made once runs in its loop.</summary>
    internal void StepChecked(KernelArgs<T> args) =>
        body(args.Scalars, args.Arrays!, args.Sizes, args.Scratch, args.RowSources, args.RowOffsets, args.RowCoefs);

    /// <summary>Every buffer set and of the length its shape needs; scratch for these sizes.</summary>
    internal void Check(KernelArgs<T> args)
    {
        if (!ReferenceEquals(args.Layout, Layout))
            throw new ArgumentException("these arguments were created for another kernel");
        var sizes = args.Sizes;
        for (int d = 0; d < sizes.Length; d++)
            if (sizes[d] < 1) throw new ArgumentException($"dimension {Layout.Dims[d]} is not set");
        foreach (int slot in requiredArrays)
        {
            var a = args.Arrays[slot] ?? throw new ArgumentException($"{Layout.ArraySymbols[slot].Name} is not set");
            int n = Layout.LengthOf(slot, sizes);
            if (a.Length != n)
                throw new ArgumentException($"{Layout.ArraySymbols[slot].Name} has {a.Length} elements, its shape {Layout.ArraySymbols[slot].Shape} needs {n}");
        }
        EnsureScratch(args);
    }

    void EnsureScratch(KernelArgs<T> args)
    {
        var sizes = args.Sizes;
        if (args.RowCoefs.Length < maxRowSources)
        {
            args.RowSources = new T[maxRowSources][];
            args.RowOffsets = new int[maxRowSources];
            args.RowCoefs = new T[maxRowSources];
        }
        if (args.Scratch.Length == scratch.Length && args.ScratchSizes.AsSpan().SequenceEqual(sizes)) return;
        // One argument block may serve several call sites with different sizes (the layers of a
        // network): keep a scratch set per sizes rather than reallocating on every change.
        foreach (var (sz, buffers) in args.ScratchSets)
            if (buffers.Length == scratch.Length && sz.AsSpan().SequenceEqual(sizes))
            {
                args.Scratch = buffers;
                args.ScratchSizes = sz;
                return;
            }
        args.Scratch = new T[scratch.Length][];
        for (int k = 0; k < scratch.Length; k++) args.Scratch[k] = new T[scratch[k].Length(sizes)];
        args.ScratchSizes = (int[])sizes.Clone();
        args.ScratchSets.Add((args.ScratchSizes, args.Scratch));
    }
}
