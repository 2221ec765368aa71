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

    /// <summary>A one-panel figure of synthetic curves over trials, in %.</summary>
    internal static Figure Accuracy(params (string Name, ulong Seed, double Top)[] runs)
    {
        var series = runs.Select(r => Bands.Of(r.Name, "trials", Curves(r.Seed, 20, 100, r.Top, 0.03), scale: 100)).ToArray();
        return new Figure("Meta-accuracy", ["lines: mean over n = 20 trials"], [new Panel("accuracy", "episode", "accuracy (%)", series, new ReferenceLine(20, "chance"))], []);
    }

    [Fact]
    public void Figures_write_a_png_of_the_requested_size()
    {
        using var dir = new TempDir();
        var path = dir.File("acc.png");
        FigureRenderer.Render(Accuracy(("FA", 1, 0.6), ("bio", 2, 0.85)), path, 640, 420);
        Assert.Equal((640, 420), PngSize(path));
    }

    [Fact]
    public void Lines_a_grid_of_panels_and_heat_map_write_pngs()
    {
        using var dir = new TempDir();
        Plotter.Lines(dir.File("p.png"), new PlotText("Mann–Whitney", "episode", "p"),
            [new LineSeries("bio vs FA", [0, 1, 2, 3], [0.5, 0.2, 0.04, double.NaN])], reference: 0.05);
        Assert.Equal((Plotter.DefaultWidth, Plotter.DefaultHeight), PngSize(dir.File("p.png")));

        // Five panels: a 2×3 grid, 380×280 per panel.
        var panels = Enumerable.Range(0, 5).Select(r => new Panel($"θ{r}", "episode", "value",
            [Bands.Of($"θ{r}", "trials", Curves((ulong)r, 3, 50, Math.Pow(10, -r), 0.1))])).ToArray();
        FigureRenderer.Render(new Figure("θ", ["a caption long enough to wrap: " + string.Join(" ", Enumerable.Repeat("words", 60))], panels, []), dir.File("theta.png"));
        Assert.Equal((3 * 380, 2 * 280), PngSize(dir.File("theta.png")));

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
        Assert.Contains("no panel", Assert.Throws<PlotException>(() => FigureRenderer.Render(new Figure("", [], [], []), dir.File("x.png"))).Message);
        Assert.Contains("3 y and 2 x", Assert.Throws<PlotException>(() => Plotter.HeatMap(dir.File("h.png"), new PlotText("", "", ""), new double[3, 3], [0, 1], [0, 1, 2])).Message);
        Assert.Contains("too small", Assert.Throws<PlotException>(() => Plotter.Lines(dir.File("l.png"), new PlotText("", "", ""), [new LineSeries("a", [0], [0])], width: 10)).Message);
    }

    /// <summary>Writes example plots to $RULEDSL_PLOT_DIR for looking at them (opt-in; does nothing otherwise).</summary>
    [Fact]
    public void Example_plots_for_inspection()
    {
        var outDir = Environment.GetEnvironmentVariable("RULEDSL_PLOT_DIR");
        if (string.IsNullOrEmpty(outDir)) return;
        FigureRenderer.Render(Accuracy(("FA", 1, 0.6), ("bio", 2, 0.85), ("BP", 3, 0.9)), Path.Combine(outDir, "example-accuracy.png"));
        var grid = new double[21, 21];
        for (int r = 0; r < 21; r++) for (int c = 0; c < 21; c++) grid[r, c] = Math.Pow(r / 10.0 - 1.3, 2) + 2 * Math.Pow(c / 10.0 - 0.6, 2);
        var axis = Enumerable.Range(0, 21).Select(i => i / 10.0).ToArray();
        Plotter.HeatMap(Path.Combine(outDir, "example-heat.png"), new PlotText("Meta-loss (synthetic)", "θ2", "θ9"), grid, axis, axis, "meta-loss");
    }
}
