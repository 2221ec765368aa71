using System.Collections.Concurrent;
using RuleDsl.Runtime.Kernels;
using RuleDsl.Symbolic;

namespace RuleDsl.Runtime.Engine.Recurrent;

/// <summary>
/// A per-direction tangent kernel (its tangents named δX) compiled once for all D directions (δX#d), so
/// that one step runs it once instead of D times: its products on a shared matrix (W·δr_d for every d)
/// become one pass over the matrix's rows (the compiler's fused mat-vec pass: 4 × 4 tiles of W·[δr_0 …],
/// <c>RowOps.MatVecs4</c>), and what every direction reads (φ'(x), powers of x̄ − x) is computed once.
/// Each δ dot product keeps <c>RowOps.Dot</c>'s order, so the results are bit-identical to D kernels.
/// </summary>
public sealed class TangentBlock(IKernelBackend backend, string name, IReadOnlyList<KernelOutput> outputs)
{
    readonly ConcurrentDictionary<(int, int), Lazy<IKernel>> _byDirections = new();

    /// <summary>The kernel for directions first … first + count − 1 (compiled on first use, then shared).</summary>
    public IKernel For(int first, int count) =>
        _byDirections.GetOrAdd((first, count), k => new Lazy<IKernel>(() =>
            backend.Compile($"{name} #{k.Item1}…{k.Item1 + k.Item2 - 1}", Expand(outputs, k.Item1, k.Item2)))).Value;

    /// <summary>How many directions one kernel takes: all, except for N × N outputs (the trace tangents δE_d), four.
    /// A δE_d row combines seven or so vectors of its own direction; with sixteen directions in one kernel
    /// (≈ 110 such vectors, more than L1 holds) a step took longer than sixteen kernels, with four it took
    /// 0.85× (miconi_family, bench/README.md).</summary>
    public int Width(int directions) => outputs.Any(o => o.Target.Shape.IsMatrix) ? Math.Min(4, directions) : directions;

    /// <summary>Each output once per direction d of first … first + count − 1, every tangent symbol δX renamed δX#d.</summary>
    public static KernelOutput[] Expand(IReadOnlyList<KernelOutput> outputs, int first, int count) =>
        [.. Enumerable.Range(first, count).SelectMany(d => outputs.Select(o =>
            new KernelOutput(Along(o.Target, d), Rename(o.Value, d), o.Accumulate, o.Name is null ? null : $"{o.Name}#{d}")))];

    static bool IsTangent(Symbol s) => s.Name.StartsWith('δ');

    static Symbol Along(Symbol s, int d) => IsTangent(s) ? new Symbol($"{s.Name}#{d}", s.Shape) : s;

    static Expr Rename(Expr e, int d) =>
        ExprModule.substitute(Microsoft.FSharp.Core.FuncConvert.FromFunc<Symbol, Microsoft.FSharp.Core.FSharpOption<Expr>?>(s =>
            IsTangent(s) ? Ir.Some(Expr.NewSym(Along(s, d))) : Ir.None<Expr>()), e);

    /// <summary>A name δX#d as (d, δX); null for any other name.</summary>
    public static (int Direction, string Name)? Split(string name)
    {
        int at = name.LastIndexOf('#');
        return at > 0 && name[0] == 'δ' && int.TryParse(name.AsSpan(at + 1), out int d) ? (d, name[..at]) : null;
    }
}
