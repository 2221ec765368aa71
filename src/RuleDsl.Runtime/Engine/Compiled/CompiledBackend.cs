using System.Collections.Concurrent;
using Microsoft.FSharp.Collections;
using RuleDsl.Symbolic;

namespace RuleDsl.Runtime.Engine.Compiled;

/// <summary>Compiles kernels to delegates through System.Linq.Expressions. A kernel compiles once per
/// process: equal equations (structurally) share one delegate.</summary>
public sealed class CompiledBackend : IKernelBackend
{
    readonly ConcurrentDictionary<FSharpList<Tuple<Symbol, Expr, bool>>, Lazy<IKernel>> _cache = new();

    public string Name => "compiled";

    /// <summary>How many distinct kernels this backend has compiled (the cache's size).</summary>
    public int Compiled => _cache.Count;

    public IKernel Compile(string name, IReadOnlyList<KernelOutput> outputs)
    {
        var key = ListModule.OfSeq(outputs.Select(o => Tuple.Create(o.Target, o.Value, o.Accumulate)));
        return _cache.GetOrAdd(key, _ => new Lazy<IKernel>(() => new CompiledKernel(name, outputs))).Value;
    }
}

/// <summary>A kernel the compiler cannot build: names the kernel and the expression.</summary>
public sealed class KernelCompileException(string kernel, string message)
    : Exception($"cannot compile kernel '{kernel}': {message}")
{
    public string Kernel { get; } = kernel;
}
