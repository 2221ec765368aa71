using System.Buffers.Binary;
using RuleDsl.Runtime.Data;
using RuleDsl.Runtime.Plots;
using RuleDsl.Runtime.Tests.Data;

namespace RuleDsl.Runtime.Tests.Plots;

public class PlotterTests
{
    /// <summary>Width and height from a PNG's IHDR chunk, after checking the signature.</summary>
    internal static (int Width, int Height) PngSize(string path)
    {
        var b = File.ReadAllBytes(path);
        Assert.True(b.Length > 1000, $"{path}: only {b.Length} bytes");
        Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A }, b[..8]);
        Assert.Equal("IHDR", System.Text.Encoding.ASCII.GetString(b, 12, 4));
        return (BinaryPrimitives.ReadInt32BigEndian(b.AsSpan(16)), BinaryPrimitives.ReadInt32BigEndian(b.AsSpan(20)));
    }

    /// <summary>Synthetic learning curves: trials × episodes, rising toward <paramref name="top"/> with noise.</summary>
    internal static IReadOnlyList<double>[] Curves(ulong seed, int trials, int episodes, double top, double rate)
    {
        var rng = new Rng(seed);
        return Enumerable.Range(0, trials).Select(_ =>
            (IReadOnlyList<double>)Enumerable.Range(0, episodes).Select(e => top - (top - 0.2) * Math.Exp(-rate * e) + rng.Normal(0, 0.03)).ToArray()).ToArray();
    }

    [Fact]
    public void Rendering_works_headless()
    {
        Plotter.CheckRendering();
    }

    [Fact]
    public void Curves_with_bands_write_a_png_of_the_requested_size()
    {
        using var dir = new TempDir();
        var path = dir.File("acc.png");
        Plotter.CurvesWithBands(path, new PlotText("Meta-accuracy", "episode", "accuracy"),
        [
            new CurveSeries("FA", Curves(1, 20, 100, 0.6, 0.01)),
            new CurveSeries("bio", Curves(2, 20, 100, 0.85, 0.03)),
        ], width: 640, height: 420);
        Assert.Equal((640, 420), PngSize(path));
    }

    [Fact]
    public void Lines_theta_trajectories_and_heat_map_write_pngs()
    {
        using var dir = new TempDir();
        Plotter.Lines(dir.File("p.png"), new PlotText("Mann–Whitney", "episode", "p"),
            [new LineSeries("bio vs FA", [0, 1, 2, 3], [0.5, 0.2, 0.04, double.NaN])], reference: 0.05);
        Assert.Equal((Plotter.DefaultWidth, Plotter.DefaultHeight), PngSize(dir.File("p.png")));

        var thetas = Enumerable.Range(0, 3).Select(t =>
            (IReadOnlyList<double[]>)Enumerable.Range(0, 50).Select(e => new[] { 1e-3 + 1e-5 * e * (t + 1), -1e-4 * e, 0.0 }).ToArray()).ToArray();
        Plotter.ThetaTrajectories(dir.File("theta.png"), ["θ0", "θ2", "θ9"], thetas);
        Assert.Equal((Plotter.DefaultWidth, Plotter.DefaultHeight), PngSize(dir.File("theta.png")));

        var grid = new double[5, 7];
        for (int r = 0; r < 5; r++) for (int c = 0; c < 7; c++) grid[r, c] = (r - 2) * (r - 2) + 0.5 * (c - 3) * (c - 3);
        grid[0, 0] = double.NaN;
        Plotter.HeatMap(dir.File("heat.png"), new PlotText("Meta-loss over a θ grid", "θ2", "θ9"), grid,
            [-3, -2, -1, 0, 1, 2, 3], [-1, -0.5, 0, 0.5, 1], "meta-loss", 500, 400);
        Assert.Equal((500, 400), PngSize(dir.File("heat.png")));
    }

    [Fact]
    public void Bad_plot_requests_are_clear_errors()
    {
        using var dir = new TempDir();
        Assert.Contains("no series", Assert.Throws<PlotException>(() => Plotter.CurvesWithBands(dir.File("x.png"), new PlotText("", "", ""), [])).Message);
        Assert.Contains("3 y and 2 x", Assert.Throws<PlotException>(() => Plotter.HeatMap(dir.File("h.png"), new PlotText("", "", ""), new double[3, 3], [0, 1], [0, 1, 2])).Message);
        Assert.Contains("too small", Assert.Throws<PlotException>(() => Plotter.Lines(dir.File("l.png"), new PlotText("", "", ""), [new LineSeries("a", [0], [0])], width: 10)).Message);
    }

    /// <summary>Writes example plots to $RULEDSL_PLOT_DIR for looking at them (opt-in; does nothing otherwise).</summary>
    [Fact]
    public void Example_plots_for_inspection()
    {
        var outDir = Environment.GetEnvironmentVariable("RULEDSL_PLOT_DIR");
        if (string.IsNullOrEmpty(outDir)) return;
        Plotter.CurvesWithBands(Path.Combine(outDir, "example-accuracy.png"), new PlotText("Meta-accuracy (synthetic)", "episode", "accuracy"),
        [
            new CurveSeries("FA", Curves(1, 20, 100, 0.6, 0.01)),
            new CurveSeries("bio", Curves(2, 20, 100, 0.85, 0.03)),
            new CurveSeries("BP", Curves(3, 20, 100, 0.9, 0.08)),
        ]);
        var grid = new double[21, 21];
        for (int r = 0; r < 21; r++) for (int c = 0; c < 21; c++) grid[r, c] = Math.Pow(r / 10.0 - 1.3, 2) + 2 * Math.Pow(c / 10.0 - 0.6, 2);
        var axis = Enumerable.Range(0, 21).Select(i => i / 10.0).ToArray();
        Plotter.HeatMap(Path.Combine(outDir, "example-heat.png"), new PlotText("Meta-loss (synthetic)", "θ2", "θ9"), grid, axis, axis, "meta-loss");
    }
}
