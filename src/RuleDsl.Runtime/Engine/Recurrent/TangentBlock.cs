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
    readonly ConcurrentDictionary<int, Lazy<IKernel>> _byDirections = new();

    /// <summary>The kernel for <paramref name="directions"/> directions (compiled on first use, then shared).</summary>
    public IKernel For(int directions) =>
        _byDirections.GetOrAdd(directions, d => new Lazy<IKernel>(() => backend.Compile($"{name} ×{d}", Expand(outputs, d)))).Value;

    /// <summary>Each output once per direction, every tangent symbol δX renamed δX#d.</summary>
    public static KernelOutput[] Expand(IReadOnlyList<KernelOutput> outputs, int directions) =>
        [.. Enumerable.Range(0, directions).SelectMany(d => outputs.Select(o =>
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
