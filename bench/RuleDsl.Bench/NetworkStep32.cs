using RuleDsl.Runtime.Kernels.Compiler;

namespace RuleDsl.Bench;

/// <summary>
/// A <see cref="NetworkStep"/> in float32: the same kernel spec compiled for float, every layer's buffers
/// and scalars copied from the float64 step (rounded to float). `ratio --precision float32` times these.
/// </summary>
public sealed class NetworkStep32
{
    public readonly Kernel<float> Kernel;
    public readonly List<KernelArgs<float>> Layers = [];

    public NetworkStep32(NetworkStep from)
    {
        Kernel = KernelCompiler.Compile<float>(from.Kernel.Spec, from.Kernel.Backend).Value;
        foreach (var a in from.Layers)
        {
            var f = Kernel.CreateArgs();
            foreach (var dim in a.Layout.Dims) f.Size(dim, a.Sizes[a.Layout.DimSlot(dim)]);
            foreach (var s in a.Layout.ScalarSymbols) f.Set(s.Name, (float)a.Scalar(s.Name));
            for (int slot = 0; slot < a.Arrays.Length; slot++)
                if (a.Arrays[slot] is { } x)
                    f.Set(a.Layout.ArraySymbols[slot].Name, Array.ConvertAll(x, v => (float)v));
            Layers.Add(f);
        }
    }

    /// <summary>One step of <paramref name="step"/>'s network, in float32 or as it is (float64).</summary>
    public static Action Runner(NetworkStep step, bool float32) => float32 ? new NetworkStep32(step).RunCompiled : step.RunCompiled;

    public void RunCompiled()
    {
        foreach (var a in Layers) Kernel.Step(a);
    }

    /// <summary>Round every buffer and scalar of a float64 step to the nearest float, so that both
    /// precisions start from the same numbers and differ only by their arithmetic.</summary>
    public static void RoundToFloat(NetworkStep step)
    {
        foreach (var a in step.Layers)
        {
            for (int q = 0; q < a.Scalars.Length; q++) a.Scalars[q] = (float)a.Scalars[q];
            foreach (var x in a.Arrays)
                if (x is not null)
                    for (int q = 0; q < x.Length; q++) x[q] = (float)x[q];
        }
    }

    /// <summary>
    /// One step in each precision from the same (float-representable) state: the largest difference, over
    /// the arrays the step writes (W and the U_d), of their change, relative to that array's largest change;
    /// and of the arrays themselves, relative to their largest magnitude. Returns (update, state, arrays compared).
    /// </summary>
    public static (double Update, double State, int Arrays) Difference(string rule, int directions, ThetaMode mode, double scale = 1)
    {
        var d64 = new NetworkStep(rule, directions, mode, scale, handWritten: false, seed: 3);
        RoundToFloat(d64);
        var f32 = new NetworkStep32(d64);
        var before = d64.Layers.Select(a => a.Arrays.Select(x => (double[]?)x?.Clone()).ToArray()).ToList();
        d64.RunCompiled();
        f32.RunCompiled();
        double update = 0, state = 0;
        int compared = 0;
        for (int l = 0; l < d64.Layers.Count; l++)
            for (int s = 0; s < before[l].Length; s++)
            {
                var b = before[l][s];
                var a = d64.Layers[l].Arrays[s];
                var f = f32.Layers[l].Arrays[s];
                if (b is null || a is null || f is null || a.AsSpan().SequenceEqual(b)) continue;
                double du = 0, dmax = 1e-300, ds = 0, smax = 1e-300;
                for (int q = 0; q < a.Length; q++)
                {
                    double change64 = a[q] - b[q], change32 = (double)f[q] - b[q];
                    du = Math.Max(du, Math.Abs(change32 - change64));
                    dmax = Math.Max(dmax, Math.Abs(change64));
                    ds = Math.Max(ds, Math.Abs(f[q] - a[q]));
                    smax = Math.Max(smax, Math.Abs(a[q]));
                }
                update = Math.Max(update, du / dmax);
                state = Math.Max(state, ds / smax);
                compared++;
            }
        return (update, state, compared);
    }
}
