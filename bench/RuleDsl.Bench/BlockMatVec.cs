using System.Diagnostics;
using System.Globalization;
using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using RuleDsl.Runtime.Kernels.Compiler;

namespace RuleDsl.Bench;

/// <summary>
/// `block-matvec`: W·δR for the D state tangents of a recurrent step (issue 19), one thread, µs per step
/// (median of 7 timings of many steps each), by each way of computing it:
/// D separate <c>RowOps.MatVec</c> (the engine before the tangent block); the fused pass the compiler
/// generated before (four rows, one <c>Dots</c> per tangent); <c>RowOps.MatVecs4</c> 4 × 4 tiles (the engine
/// now); a row-major N × 16 block (D ≤ 16 padded) with each W[i,j] broadcast over a row of δR, four rows of W at a
/// time (a different summation order); <c>TensorPrimitives.Dot</c> per (row, tangent); and BLAS dgemm on
/// the N × D block when a library is found (RULEDSL_BLAS=path[,path…], e.g. OpenBLAS unpacked from Debian's
/// libopenblas0-pthread, and the reference libblas.so.3), its threads set to one where it can.
/// Options: --sizes 100,200 --directions 9,16.
/// </summary>
public static class BlockMatVec
{
    static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public static int Run(string[] args)
    {
        var sizes = Option(args, "--sizes", "100,200");
        var dirs = Option(args, "--directions", "9,16");
        var blas = (Environment.GetEnvironmentVariable("RULEDSL_BLAS") ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries)
            .Select(Blas.Load).OfType<Blas>().ToList();
        Console.WriteLine($"# W·δR, one thread, µs per step (median of 7); Vector<double> {Vector<double>.Count} lanes, 512-bit {System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated}; load {File.ReadAllText("/proc/loadavg").Trim()}");
        Console.WriteLine();
        Console.WriteLine($"| N | D | D × MatVec | fused Dots (before) | MatVecs4 tiles (now) | N×D broadcast | TensorPrimitives.Dot | {string.Join(" | ", blas.Select(b => b.Name))} | max rel. diff N×D / BLAS vs Dot order |");
        Console.WriteLine($"|---:|---:|---:|---:|---:|---:|---:|{string.Concat(blas.Select(_ => "---:|"))}---:|");
        foreach (int n in sizes)
            foreach (int d in dirs)
                Row(n, d, blas);
        return 0;
    }

    static int[] Option(string[] args, string name, string fallback)
    {
        int at = Array.IndexOf(args, name);
        return (at >= 0 && at + 1 < args.Length ? args[at + 1] : fallback).Split(',').Select(s => int.Parse(s, Inv)).ToArray();
    }

    static void Row(int n, int D, List<Blas> blas)
    {
        var rng = new Random(n * 31 + D);
        var w = Enumerable.Range(0, n * n).Select(_ => rng.NextDouble() - 0.5).ToArray();
        var x = Enumerable.Range(0, D).Select(_ => Enumerable.Range(0, n).Select(_ => rng.NextDouble() - 0.5).ToArray()).ToArray();
        var y = Enumerable.Range(0, D).Select(_ => new double[n]).ToArray();
        var block = new double[n * D];
        for (int j = 0; j < n; j++)
            for (int d = 0; d < D; d++) block[j * D + d] = x[d][j];
        var yBlock = new double[n * D];
        var padded = new double[n * 16];
        var yPadded = new double[n * 16];
        for (int j = 0; j < n; j++)
            for (int d = 0; d < D; d++) padded[j * 16 + d] = x[d][j];
        var res = new double[4];

        void PerTangent() { for (int d = 0; d < D; d++) RowOps<double>.MatVec(w, n, n, x[d], y[d]); }
        void FusedDots()
        {
            for (int i = 0; i <= n - 4; i += 4)
                for (int d = 0; d < D; d++)
                {
                    RowOps<double>.Dots(w, i * n, x[d], w, (i + 1) * n, x[d], w, (i + 2) * n, x[d], w, (i + 3) * n, x[d], 4, n, res);
                    for (int q = 0; q < 4; q++) y[d][i + q] = res[q];
                }
        }
        void Tiles()
        {
            for (int i = 0; i <= n - 4; i += 4)
                for (int d = 0; d < D; d += 4)
                {
                    int c = Math.Min(4, D - d);
                    RowOps<double>.MatVecs4(w, i, n, x[d], x[d + Math.Min(1, c - 1)], x[d + Math.Min(2, c - 1)], x[d + Math.Min(3, c - 1)], c,
                        y[d], y[d + Math.Min(1, c - 1)], y[d + Math.Min(2, c - 1)], y[d + Math.Min(3, c - 1)]);
                }
        }
        void Broadcast() => BroadcastBlock(w, n, padded, D, yPadded);
        void Primitives()
        {
            for (int i = 0; i < n; i++)
            {
                var row = w.AsSpan(i * n, n);
                for (int d = 0; d < D; d++) y[d][i] = TensorPrimitives.Dot<double>(row, x[d]);
            }
        }
        int reps = Math.Max(20, 4_000_000 / (n * n * D));
        string T(Action a) => Time(a, reps).ToString("F2", Inv);
        string perTangent = T(PerTangent);
        var want = y.Select(v => (double[])v.Clone()).ToArray();
        string fused = T(FusedDots), tiles = T(Tiles);
        bool same = y.Zip(want).All(p => p.First.AsSpan(0, n / 4 * 4).SequenceEqual(p.Second.AsSpan(0, n / 4 * 4)));
        string broadcast = T(Broadcast);
        double diff = MaxRel(yPadded, want, D, 16);
        string prim = T(Primitives);
        var blasTimes = new List<string>();
        foreach (var b in blas)
        {
            blasTimes.Add(T(() => b.Gemm(n, D, w, block, yBlock)));
            diff = Math.Max(diff, MaxRel(yBlock, want, D, D));
        }
        Console.WriteLine($"| {n} | {D} | {perTangent} | {fused} | {tiles}{(same ? "" : " (differs!)")} | {broadcast} | {prim} | {string.Join(" | ", blasTimes)}{(blas.Count > 0 ? " | " : "")}{diff:G2} |");
    }

    /// <summary>Y = W·B for B row-major n × 16 (D ≤ 16 columns, zero-padded): rows i..i+4 of Y each in two
    /// 512-bit accumulators, W[i,j] broadcast over row j of B, j = 0, 1, … in turn (a textbook matmul's order,
    /// not Dot's): each load of B's row serves four rows of W.</summary>
    static void BroadcastBlock(double[] w, int n, double[] b, int D, double[] y)
    {
        const int P = 16;
        ref double pb = ref MemoryMarshal.GetArrayDataReference(b);
        ref double py = ref MemoryMarshal.GetArrayDataReference(y);
        for (int i = 0; i <= n - 4; i += 4)
        {
            var a0 = Vector512<double>.Zero; var a1 = Vector512<double>.Zero; var b0 = Vector512<double>.Zero; var b1 = Vector512<double>.Zero;
            var c0 = Vector512<double>.Zero; var c1 = Vector512<double>.Zero; var d0 = Vector512<double>.Zero; var d1 = Vector512<double>.Zero;
            ref double r0 = ref w[i * n];
            ref double r1 = ref System.Runtime.CompilerServices.Unsafe.Add(ref r0, n);
            ref double r2 = ref System.Runtime.CompilerServices.Unsafe.Add(ref r1, n);
            ref double r3 = ref System.Runtime.CompilerServices.Unsafe.Add(ref r2, n);
            for (int j = 0; j < n; j++)
            {
                var lo = Vector512.LoadUnsafe(ref pb, (nuint)(j * P));
                var hi = Vector512.LoadUnsafe(ref pb, (nuint)(j * P + 8));
                var s = Vector512.Create(System.Runtime.CompilerServices.Unsafe.Add(ref r0, j)); a0 += s * lo; a1 += s * hi;
                s = Vector512.Create(System.Runtime.CompilerServices.Unsafe.Add(ref r1, j)); b0 += s * lo; b1 += s * hi;
                s = Vector512.Create(System.Runtime.CompilerServices.Unsafe.Add(ref r2, j)); c0 += s * lo; c1 += s * hi;
                s = Vector512.Create(System.Runtime.CompilerServices.Unsafe.Add(ref r3, j)); d0 += s * lo; d1 += s * hi;
            }
            a0.StoreUnsafe(ref py, (nuint)(i * P)); a1.StoreUnsafe(ref py, (nuint)(i * P + 8));
            b0.StoreUnsafe(ref py, (nuint)(i * P + P)); b1.StoreUnsafe(ref py, (nuint)(i * P + P + 8));
            c0.StoreUnsafe(ref py, (nuint)(i * P + 2 * P)); c1.StoreUnsafe(ref py, (nuint)(i * P + 2 * P + 8));
            d0.StoreUnsafe(ref py, (nuint)(i * P + 3 * P)); d1.StoreUnsafe(ref py, (nuint)(i * P + 3 * P + 8));
        }
    }

    static double MaxRel(double[] yBlock, double[][] want, int D, int stride)
    {
        double diff = 0, scale = want.Max(v => v.Max(Math.Abs));
        for (int d = 0; d < D; d++)
            for (int i = 0; i < want[d].Length; i++) diff = Math.Max(diff, Math.Abs(yBlock[i * stride + d] - want[d][i]) / scale);
        return diff;
    }

    static double Time(Action a, int reps)
    {
        for (int k = 0; k < reps; k++) a(); // warm-up: the JIT's tiers, caches
        var us = new double[7];
        for (int t = 0; t < us.Length; t++)
        {
            var sw = Stopwatch.StartNew();
            for (int k = 0; k < reps; k++) a();
            us[t] = sw.Elapsed.TotalMicroseconds / reps;
        }
        Array.Sort(us);
        return us[us.Length / 2];
    }

    /// <summary>cblas_dgemm of a shared library, loaded by path.</summary>
    sealed class Blas
    {
        delegate void Dgemm(int order, int ta, int tb, int m, int n, int k, double alpha, double[] a, int lda, double[] b, int ldb, double beta, double[] c, int ldc);
        delegate void SetThreads(int n);
        Dgemm _gemm = null!;
        public string Name { get; private init; } = "";

        public static Blas? Load(string path)
        {
            if (!NativeLibrary.TryLoad(path, out var lib) || !NativeLibrary.TryGetExport(lib, "cblas_dgemm", out var f))
            {
                Console.Error.WriteLine($"block-matvec: no cblas_dgemm in {path}");
                return null;
            }
            if (NativeLibrary.TryGetExport(lib, "openblas_set_num_threads", out var st))
                Marshal.GetDelegateForFunctionPointer<SetThreads>(st)(1);
            return new Blas { _gemm = Marshal.GetDelegateForFunctionPointer<Dgemm>(f), Name = "dgemm " + Path.GetFileName(path) };
        }

        /// <summary>Y (n × D) = W (n × n) · B (n × D), all row-major.</summary>
        public void Gemm(int n, int D, double[] w, double[] b, double[] y) => _gemm(101, 111, 111, n, D, n, 1.0, w, n, b, D, 0.0, y, D);
    }
}
