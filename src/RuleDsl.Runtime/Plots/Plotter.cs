using System.Globalization;
using ScottPlot;

namespace RuleDsl.Runtime.Plots;

/// <summary>A plot that could not be made; the message says why and what to do.</summary>
public class PlotException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>A run with no finite number to draw (every episode diverged, or none ran): no figure is written,
/// since an empty one would look like a result.</summary>
public sealed class NothingToPlotException(string message) : PlotException(message);

/// <summary>Title and axis labels of a plot.</summary>
public sealed record PlotText(string Title, string XLabel, string YLabel);

/// <summary>One plain line.</summary>
public sealed record LineSeries(string Name, IReadOnlyList<double> X, IReadOnlyList<double> Y);

/// <summary>
/// PNG plots with ScottPlot 5 (rendered by SkiaSharp, headless): plain lines (e.g. trajectories on principal
/// components) and heat maps, and the checks every figure passes through (fonts, native libraries). Curves over
/// trials with bands are <see cref="Figure"/>s, drawn by <see cref="FigureRenderer"/>.
/// </summary>
public static class Plotter
{
    public const int DefaultWidth = 800;
    public const int DefaultHeight = 500;

    /// <summary>Plain lines, optionally with a dashed horizontal reference (e.g. p = 0.05).</summary>
    public static void Lines(string path, PlotText text, IReadOnlyList<LineSeries> series, double? reference = null,
                             int width = DefaultWidth, int height = DefaultHeight)
    {
        if (series.Count == 0) throw new PlotException($"{path}: nothing to plot (no series)");
        Render(path, width, height, plot =>
        {
            for (int s = 0; s < series.Count; s++)
            {
                var sr = series[s];
                if (sr.X.Count != sr.Y.Count)
                    throw new PlotException($"{path}: series '{sr.Name}' has {sr.X.Count} x values and {sr.Y.Count} y values");
                var keep = Enumerable.Range(0, sr.X.Count).Where(i => double.IsFinite(sr.X[i]) && double.IsFinite(sr.Y[i])).ToArray();
                if (keep.Length == 0) continue;
                var line = plot.Add.ScatterLine(keep.Select(i => sr.X[i]).ToArray(), keep.Select(i => sr.Y[i]).ToArray(), plot.Add.Palette.GetColor(s));
                line.LineWidth = 2;
                line.LegendText = sr.Name;
            }
            if (reference is double r)
            {
                var h = plot.Add.HorizontalLine(r, 1.5f, Colors.Gray, LinePattern.Dashed);
                h.LegendText = $"y = {r.ToString(System.Globalization.CultureInfo.InvariantCulture)}";
            }
            Decorate(plot, text, legend: true);
        });
    }

    /// <summary>
    /// A heat map of <paramref name="values"/>[row, col] (e.g. a meta-loss over a θ grid): column c sits at
    /// x = xs[c], row r at y = ys[r] (grids evenly spaced, ascending), with a colour bar. NaN cells are drawn grey.
    /// </summary>
    public static void HeatMap(string path, PlotText text, double[,] values, IReadOnlyList<double> xs, IReadOnlyList<double> ys,
                               string colorBarLabel = "", int width = DefaultWidth, int height = DefaultHeight)
    {
        int rows = values.GetLength(0), cols = values.GetLength(1);
        if (rows == 0 || cols == 0) throw new PlotException($"{path}: empty heat map");
        if (xs.Count != cols || ys.Count != rows)
            throw new PlotException($"{path}: heat map is {rows}×{cols} but has {ys.Count} y and {xs.Count} x grid values");
        Render(path, width, height, plot =>
        {
            // ScottPlot draws row 0 at the top; flip so that row 0 (smallest y) is at the bottom.
            var hm = plot.Add.Heatmap(values);
            hm.FlipVertically = true;
            hm.NaNCellColor = Colors.LightGray;
            double dx = cols > 1 ? (xs[cols - 1] - xs[0]) / (cols - 1) : 1;
            double dy = rows > 1 ? (ys[rows - 1] - ys[0]) / (rows - 1) : 1;
            // Rectangle sets the image's edges (Extent would set the corner cells' centres): each cell is
            // centred on its grid value.
            hm.Rectangle = new CoordinateRect(xs[0] - dx / 2, xs[cols - 1] + dx / 2, ys[0] - dy / 2, ys[rows - 1] + dy / 2);
            var bar = plot.Add.ColorBar(hm);
            bar.Label = colorBarLabel;
            Decorate(plot, text, legend: false);
            // A small grid (a θ[k,l] family) is labelled cell by cell; a fine one keeps automatic ticks.
            if (cols <= 12) plot.Axes.Bottom.SetTicks(xs.ToArray(), xs.Select(v => v.ToString("G4", CultureInfo.InvariantCulture)).ToArray());
            if (rows <= 12) plot.Axes.Left.SetTicks(ys.ToArray(), ys.Select(v => v.ToString("G4", CultureInfo.InvariantCulture)).ToArray());
            plot.Axes.Margins(0, 0);
        });
    }

    /// <summary>
    /// Renders a tiny plot in memory; throws <see cref="PlotException"/> with instructions when PNG rendering does not
    /// work on this machine (native SkiaSharp/HarfBuzz libraries missing).
    /// </summary>
    public static void CheckRendering()
    {
        Guard("rendering check", () =>
        {
            CheckFonts("rendering check");
            using var plot = new Plot();
            plot.Add.ScatterLine(new double[] { 0, 1 }, new double[] { 0, 1 });
            plot.Title("check");
            var bytes = plot.GetImageBytes(64, 48, ImageFormat.Png);
            if (bytes.Length == 0) throw new PlotException("PNG rendering produced no bytes");
        });
    }

    private static void Render(string path, int width, int height, Action<Plot> build)
    {
        if (width < 50 || height < 50) throw new PlotException($"{path}: image size {width}×{height} is too small (at least 50×50)");
        Guard(path, () =>
        {
            CheckFonts(path);
            using var plot = new Plot();
            build(plot);
            var dir = Path.GetDirectoryName(Path.GetFullPath(path));
            if (dir is not null) Directory.CreateDirectory(dir);
            plot.SavePng(path, width, height);
        });
    }

    private static bool fontsChecked;

    /// <summary>
    /// Without any font SkiaSharp draws no text, so a plot would silently lose its title, labels and legend;
    /// refuse instead. (SkiaSharp's Linux build finds fonts under /usr/share/fonts without fontconfig.)
    /// </summary>
    internal static void CheckFonts(string what)
    {
        if (fontsChecked) return;
        if (SkiaSharp.SKFontManager.Default.FontFamilyCount == 0)
            throw new PlotException($"{what}: cannot render text: no fonts found on this machine; install a font package " +
                                    "(Debian: fonts-dejavu-core), e.g. with scripts/install-deps.sh");
        fontsChecked = true;
    }

    internal static void Guard(string what, Action action)
    {
        try
        {
            action();
        }
        catch (Exception e) when (e is DllNotFoundException or TypeInitializationException or EntryPointNotFoundException or BadImageFormatException)
        {
            throw new PlotException(
                $"{what}: cannot render PNG: the native graphics library failed to load ({e.GetBaseException().Message}). " +
                "ScottPlot draws with SkiaSharp, whose Linux build (libSkiaSharp.so from the NuGet package SkiaSharp.NativeAssets.Linux.NoDependencies) " +
                "and libHarfBuzzSharp.so must sit beside the program (they come with the NuGet packages; rebuild or republish); " +
                "fonts come from the Debian package fonts-dejavu-core (scripts/install-deps.sh)", e);
        }
        catch (IOException e)
        {
            throw new PlotException($"{what}: cannot write the image: {e.Message}", e);
        }
    }

    private static void Decorate(Plot plot, PlotText text, bool legend)
    {
        plot.Title(text.Title);
        plot.XLabel(text.XLabel);
        plot.YLabel(text.YLabel);
        if (legend && plot.GetPlottables().Any(p => p.LegendItems.Any(i => !string.IsNullOrEmpty(i.LabelText))))
            plot.ShowLegend(Edge.Bottom); // outside the data area, so it never hides a curve
    }
}
