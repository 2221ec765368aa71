using RuleDsl.Symbolic;

namespace RuleDsl.Runtime.Kernels.Compiler;

/// <summary>Which expression-tree compiler turns the kernel into a delegate.</summary>
public enum CompilerBackend
{
    /// <summary>System.Linq.Expressions' own <c>Compile()</c>.</summary>
    Linq,
    /// <summary>FastExpressionCompiler's <c>CompileFast()</c> (falls back to Linq if it declines).</summary>
    Fast,
}

/// <summary>
/// A product with matrices as this step leaves them: after the step, <c>Output[i] = Σ_t (Matrix_t after
/// the step)[i, :] · Vector_t</c>, computed right after row i of every Matrix_t is written, while the row
/// is still in cache. It fuses the next sample's forward pass (z' = W_new y') into the weight update, so
/// W and its tangents are streamed once per step instead of twice. Each Matrix_t is a matrix target of
/// the kernel (all of one shape), each Vector_t an input over its columns, Output a vector over its rows
/// that nothing else in the kernel reads.
/// </summary>
public sealed class RowProduct : IEquatable<RowProduct>
{
    public RowProduct(Symbol output, IEnumerable<(Symbol Matrix, Symbol Vector)> terms)
    {
        Output = output;
        Terms = terms.ToArray();
        if (Terms.Count == 0) throw new ArgumentException("a row product needs at least one term");
    }

    public Symbol Output { get; }
    public IReadOnlyList<(Symbol Matrix, Symbol Vector)> Terms { get; }

    public bool Equals(RowProduct? other) => other is not null && Output.Equals(other.Output) && Terms.SequenceEqual(other.Terms);
    public override bool Equals(object? obj) => Equals(obj as RowProduct);
    public override int GetHashCode() => Terms.Aggregate(Output.GetHashCode(), (h, t) => HashCode.Combine(h, t.Matrix, t.Vector));
}

/// <summary>
/// What to compile: named inputs (scalars, vectors, matrices; each matrix is row-major with
/// rows = its first dimension, and every dimension is bound to a size at run time) and outputs.
/// Equality is structural, so a spec is a cache key.
/// </summary>
public sealed class KernelSpec : IEquatable<KernelSpec>
{
    public KernelSpec(string name, IEnumerable<Symbol> inputs, IEnumerable<KernelOutput> outputs, IEnumerable<RowProduct>? rowProducts = null,
        bool deferRows = false)
    {
        Name = name;
        Inputs = inputs.ToArray();
        Outputs = outputs.ToArray();
        RowProducts = (rowProducts ?? []).ToArray();
        DeferRows = deferRows;
        hash = HashCode.Combine(name, Inputs.Count, Outputs.Count, RowProducts.Count, deferRows);
        foreach (var s in Inputs) hash = HashCode.Combine(hash, s.GetHashCode());
        foreach (var o in Outputs) hash = HashCode.Combine(hash, o.GetHashCode());
        foreach (var p in RowProducts) hash = HashCode.Combine(hash, p.GetHashCode());
    }

    readonly int hash;

    /// <summary>Names the kernel in messages ("… in rule &lt;name&gt;").</summary>
    public string Name { get; }
    public IReadOnlyList<Symbol> Inputs { get; }
    public IReadOnlyList<KernelOutput> Outputs { get; }
    /// <summary>Products with the updated matrices, computed as their rows are written (<see cref="RowProduct"/>).</summary>
    public IReadOnlyList<RowProduct> RowProducts { get; }
    /// <summary>Matrix rows are not written but handed, as their coefficients and source vectors, to the
    /// thread's <see cref="DeferredRows{T}"/>, which applies many steps at once (<see cref="RankUpdate{T}"/>).
    /// Only for outputs whose row is old row · keep + Σ c(i) · vector (rank-one terms); else a compile error.</summary>
    public bool DeferRows { get; }

    public bool Equals(KernelSpec? other) =>
        other is not null && (ReferenceEquals(this, other) ||
            (hash == other.hash && Name == other.Name && DeferRows == other.DeferRows && Inputs.SequenceEqual(other.Inputs) && Outputs.SequenceEqual(other.Outputs)
             && RowProducts.SequenceEqual(other.RowProducts)));

    public override bool Equals(object? obj) => Equals(obj as KernelSpec);
    public override int GetHashCode() => hash;
}

/// <summary>Where each input, output target and dimension lives in <see cref="KernelArgs{T}"/>.</summary>
public sealed class KernelLayout
{
    readonly Dictionary<string, int> scalarIndex = new();
    readonly Dictionary<string, int> arrayIndex = new();
    readonly Dictionary<string, int> dimIndex = new();
    readonly List<Symbol> scalars = new();
    readonly List<Symbol> arrays = new();
    readonly List<string> dims = new();
    // Per array slot: the dimension slots of its shape (-1: none), for a cheap length check per step.
    readonly List<(int A, int B)> slotDims = new();

    public IReadOnlyList<Symbol> ScalarSymbols => scalars;
    public IReadOnlyList<Symbol> ArraySymbols => arrays;
    public IReadOnlyList<string> Dims => dims;

    internal void Add(Symbol s)
    {
        if (scalarIndex.ContainsKey(s.Name) || arrayIndex.ContainsKey(s.Name)) return;
        if (s.Shape.IsScalar)
        {
            scalarIndex[s.Name] = scalars.Count;
            scalars.Add(s);
        }
        else
        {
            arrayIndex[s.Name] = arrays.Count;
            arrays.Add(s);
            var ds = DimsOf(s.Shape).ToArray();
            foreach (var d in ds)
                if (!dimIndex.ContainsKey(d)) { dimIndex[d] = dims.Count; dims.Add(d); }
            slotDims.Add((dimIndex[ds[0]], ds.Length > 1 ? dimIndex[ds[1]] : -1));
        }
    }

    internal static IEnumerable<string> DimsOf(Shape s) => s switch
    {
        Shape.Vector v => [v.Item],
        Shape.Matrix m => [m.rows, m.cols],
        _ => [],
    };

    public bool TryScalar(string name, out int slot) => scalarIndex.TryGetValue(name, out slot);
    public bool TryArray(string name, out int slot) => arrayIndex.TryGetValue(name, out slot);
    public bool TryDim(string dim, out int slot) => dimIndex.TryGetValue(dim, out slot);

    public int ScalarSlot(string name) => scalarIndex.TryGetValue(name, out var i) ? i
        : throw new ArgumentException($"the kernel has no scalar named {name}");
    public int ArraySlot(string name) => arrayIndex.TryGetValue(name, out var i) ? i
        : throw new ArgumentException($"the kernel has no vector or matrix named {name}");
    public int DimSlot(string dim) => dimIndex.TryGetValue(dim, out var i) ? i
        : throw new ArgumentException($"the kernel has no dimension named {dim}");

    /// <summary>Number of elements of an array slot under the given sizes.</summary>
    public int LengthOf(int arraySlot, int[] sizes)
    {
        var (a, b) = slotDims[arraySlot];
        return b < 0 ? sizes[a] : sizes[a] * sizes[b];
    }
}

/// <summary>
/// The buffers of one kernel invocation site (e.g. one layer): scalars, flat arrays, dimension
/// sizes, and the kernel's scratch buffers (allocated on first use for these sizes, reused after).
/// </summary>
public sealed class KernelArgs<T> where T : unmanaged
{
    internal KernelArgs(KernelLayout layout)
    {
        Layout = layout;
        Scalars = new T[layout.ScalarSymbols.Count];
        Arrays = new T[layout.ArraySymbols.Count][];
        Sizes = new int[layout.Dims.Count];
    }

    public KernelLayout Layout { get; }
    public T[] Scalars { get; }
    /// <summary>One flat array per vector/matrix slot (matrices row-major); unset slots are null.</summary>
    public T[]?[] Arrays { get; }
    public int[] Sizes { get; }

    internal T[][] Scratch = [];
    internal int[] ScratchSizes = [];
    internal readonly List<(int[] Sizes, T[][] Buffers)> ScratchSets = [];
    internal T[][] RowSources = [];
    internal int[] RowOffsets = [];
    internal T[] RowCoefs = [];

    public KernelArgs<T> Size(string dim, int n)
    {
        if (n < 1) throw new ArgumentOutOfRangeException(nameof(n), $"dimension {dim} must be at least 1, got {n}");
        Sizes[Layout.DimSlot(dim)] = n;
        return this;
    }

    public KernelArgs<T> Set(string name, T value)
    {
        Scalars[Layout.ScalarSlot(name)] = value;
        return this;
    }

    public KernelArgs<T> Set(string name, T[] array)
    {
        Arrays[Layout.ArraySlot(name)] = array;
        return this;
    }

    public T Scalar(string name) => Scalars[Layout.ScalarSlot(name)];

    public T[] Array(string name) => Arrays[Layout.ArraySlot(name)]
        ?? throw new InvalidOperationException($"{name} is not set");

    /// <summary>Allocate a zeroed array of the right length for a slot, set it, and return it.</summary>
    public T[] Allocate(string name)
    {
        int slot = Layout.ArraySlot(name);
        var a = new T[Layout.LengthOf(slot, Sizes)];
        Arrays[slot] = a;
        return a;
    }
}

/// <summary>A compile outcome: a kernel, or a message saying what could not be compiled and where.</summary>
public sealed class CompileResult<T> where T : unmanaged
{
    CompileResult(Kernel<T>? kernel, string? error)
    {
        Kernel = kernel;
        Error = error;
    }

    public Kernel<T>? Kernel { get; }
    public string? Error { get; }
    public bool Ok => Kernel is not null;

    /// <summary>The kernel, or an <see cref="InvalidOperationException"/> carrying the message.</summary>
    public Kernel<T> Value => Kernel ?? throw new InvalidOperationException(Error);

    internal static CompileResult<T> Success(Kernel<T> k) => new(k, null);
    internal static CompileResult<T> Failure(string message) => new(null, message);
}
