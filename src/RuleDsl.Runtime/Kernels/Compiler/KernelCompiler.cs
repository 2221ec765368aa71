using System.Collections.Concurrent;
using System.Diagnostics;
using System.Numerics;
using FastExpressionCompiler;
using RuleDsl.Symbolic;

namespace RuleDsl.Runtime.Kernels.Compiler;

/// <summary>
/// Compiles a <see cref="KernelSpec"/> (symbolic IR) to a delegate over flat arrays, through
/// System.Linq.Expressions. See <see cref="KernelBuilder{T}"/> for the shape of the generated code.
/// </summary>
public static class KernelCompiler
{
    /// <summary>
    /// The backend used when none is asked for. Both produce the same IL-level loops; FastExpressionCompiler
    /// compiles an order of magnitude faster and its delegates ran as fast or faster in bench/RuleDsl.Bench.
    /// </summary>
    public static CompilerBackend DefaultBackend { get; set; } = CompilerBackend.Fast;

    static readonly ConcurrentDictionary<(KernelSpec Spec, Type T, CompilerBackend Backend), object> Cache = new();

    /// <summary>
    /// Compile (or fetch from the process-wide cache) a kernel in precision T (double or float).
    /// Never throws for IR it cannot handle: the result carries "not supported: &lt;expr&gt; in rule &lt;name&gt;".
    /// </summary>
    public static CompileResult<T> Compile<T>(KernelSpec spec, CompilerBackend? backend = null)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var b = backend ?? DefaultBackend;
        var lazy = (Lazy<CompileResult<T>>)Cache.GetOrAdd((spec, typeof(T), b),
            key => new Lazy<CompileResult<T>>(() => CompileUncached<T>(key.Spec, key.Backend)));
        return lazy.Value;
    }

    /// <summary>How many kernels the cache holds (for tests of the cache).</summary>
    public static int CachedCount => Cache.Count;

    /// <summary>Compile without the cache (benchmarks of compile time, backend comparisons).</summary>
    public static CompileResult<T> CompileUncached<T>(KernelSpec spec, CompilerBackend backend)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (typeof(T) != typeof(double) && typeof(T) != typeof(float))
            return CompileResult<T>.Failure($"kernels are compiled for double or float, not {typeof(T).Name} (rule {spec.Name})");
        var sw = Stopwatch.StartNew();
        try
        {
            var built = new KernelBuilder<T>(spec).Build();
            var used = backend;
            var parts = new Action<T[], T[][], int[], T[][], T[][], int[], T[]>[built.Lambdas.Count];
            for (int k = 0; k < parts.Length; k++)
            {
                var lambda = built.Lambdas[k];
                var fast = backend == CompilerBackend.Fast ? lambda.CompileFast(ifFastFailedReturnNull: true) : null;
                if (fast is null && backend == CompilerBackend.Fast) used = CompilerBackend.Linq;
                parts[k] = fast ?? lambda.Compile();
            }
            // A large step is several methods (KernelBuilder.Methods.cs), run in order.
            var del = parts.Length == 1 ? parts[0] : (scalars, arrays, sizes, scratch, rowSources, rowOffsets, rowCoefs) =>
            {
                foreach (var part in parts) part(scalars, arrays, sizes, scratch, rowSources, rowOffsets, rowCoefs);
            };
            sw.Stop();
            return CompileResult<T>.Success(new Kernel<T>(spec, built.Layout, del, built.Scratch, built.RequiredArrays,
                built.DenseProducts, built.Plan, built.MaxRowSources, used, sw.Elapsed));
        }
        catch (KernelCompileError e)
        {
            return CompileResult<T>.Failure(e.Message);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // A bug or an IR shape the builder did not foresee: still a message, never a raw exception.
            return CompileResult<T>.Failure($"not supported: {e.Message} in rule {spec.Name}");
        }
    }
}

/// <summary>A compile error with its final message.</summary>
internal sealed class KernelCompileError(string message) : Exception(message);
