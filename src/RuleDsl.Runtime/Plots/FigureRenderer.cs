using ScottPlot;
using SkiaSharp;

namespace RuleDsl.Runtime.Plots;

/// <summary>
/// Draws a <see cref="Figure"/> as a PNG: its title and caption (warnings in red) across the top, then its
/// panels in a grid, each an independent ScottPlot plot with its own axes.
/// </summary>
public static class FigureRenderer
{
    const float TitleSize = 18, CaptionSize = 13, Margin = 10;

    /// <summary>Writes <paramref name="figure"/> to <paramref name="path"/>; the size defaults to 800×500 for one
    /// panel and grows with the grid (about 380×280 per panel).</summary>
    public static void Render(Figure figure, string path, int? width = null, int? height = null)
    {
        if (figure.Panels.Count == 0) throw new PlotException($"{path}: nothing to plot (no panel)");
        var (rows, cols) = Grid(figure.Panels.Count);
        int w = width ?? Math.Max(Plotter.DefaultWidth, cols * 380);
        int h = height ?? (rows == 1 ? Plotter.DefaultHeight : rows * 280);
        Plotter.Guard(path, () =>
        {
            Plotter.CheckFonts(path);
            using var typeface = SKTypeface.FromFamilyName(Fonts.Default);
            using var titleFont = new SKFont(typeface, TitleSize);
            using var captionFont = new SKFont(typeface, CaptionSize);
            var lines = Wrap(figure.Title, titleFont, w - 2 * Margin).Select(l => (Text: l, Font: titleFont, Warning: false))
                .Concat(figure.Caption.SelectMany(c => Wrap(c, captionFont, w - 2 * Margin)
                    .Select(l => (Text: l, Font: captionFont, Warning: figure.Warnings.Any(x => c.Contains(x, StringComparison.Ordinal))))))
                .ToList();
            float header = Margin + lines.Sum(l => l.Font.Size * 1.35f);
            // The panels need room: the grid keeps at least 150 px per row below the header.
            int total = (int)Math.Ceiling(Math.Max(h, header + 150 * rows));

            var plots = figure.Panels.Select(p => Draw(p, legend: figure.Panels.Count == 1)).ToList();
            var multi = new Multiplot(plots[0]);
            foreach (var p in plots.Skip(1)) multi.AddPlot(p);
            multi.Layout = new ScottPlot.MultiplotLayouts.Grid(rows, cols);

            var info = new SKImageInfo(w, total);
            using var surface = SKSurface.Create(info);
            var canvas = surface.Canvas;
            canvas.Clear(SKColors.White);
            using var ink = new SKPaint { Color = SKColors.Black, IsAntialias = true };
            using var red = new SKPaint { Color = new SKColor(0xB0, 0x00, 0x20), IsAntialias = true };
            float y = Margin;
            foreach (var (text, font, warning) in lines)
            {
                y += font.Size * 1.1f;
                canvas.DrawText(text, w / 2f, y, SKTextAlign.Center, font, warning ? red : ink);
                y += font.Size * 0.25f;
            }
            // The panels are drawn on their own surface and placed under the header (a multiplot fills what it is given).
            using (var panels = SKSurface.Create(new SKImageInfo(w, total - (int)header)))
            {
                multi.Render(panels);
                using var drawn = panels.Snapshot();
                canvas.DrawImage(drawn, 0, (int)header);
            }
            foreach (var p in plots) p.Dispose();

            var dir = Path.GetDirectoryName(Path.GetFullPath(path));
            if (dir is not null) Directory.CreateDirectory(dir);
            using var image = surface.Snapshot();
            using var png = image.Encode(SKEncodedImageFormat.Png, 100);
            using var file = File.Create(path);
            png.SaveTo(file);
        });
    }

    /// <summary>Rows and columns for <paramref name="panels"/> panels: as square as possible, wider than tall.</summary>
    public static (int Rows, int Cols) Grid(int panels)
    {
        int cols = (int)Math.Ceiling(Math.Sqrt(panels));
        return ((panels + cols - 1) / cols, cols);
    }

    static Plot Draw(Panel panel, bool legend)
    {
        var plot = new Plot();
        for (int s = 0; s < panel.Series.Count; s++)
        {
            var sr = panel.Series[s];
            if (sr.X.Length == 0) continue;
            var color = plot.Add.Palette.GetColor(s);
            if (sr.X.Length > 1 && sr.N > 1)
            {
                var fill = plot.Add.FillY(sr.X, sr.Lower, sr.Upper);
                fill.FillColor = color.WithAlpha(0.25);
                fill.LineWidth = 0;
            }
            var line = plot.Add.ScatterLine(sr.X, sr.Mean, color);
            line.LineWidth = 2;
            line.LegendText = sr.Legend;
            if (sr.X.Length == 1) line.MarkerSize = 6;
        }
        if (panel.Reference is { } r)
        {
            var ref_ = plot.Add.HorizontalLine(r.Y, 1.5f, Colors.Gray, LinePattern.Dashed);
            ref_.LegendText = r.Legend;
        }
        plot.Title(panel.Title);
        plot.XLabel(panel.XLabel);
        plot.YLabel(panel.YLabel);
        // In a grid a lone series is named by its panel's title (the caption says what its band and dashed line
        // are); a legend when there are series to tell apart, and always in a figure of one panel.
        if (legend || panel.Series.Count > 1)
            plot.ShowLegend(Edge.Bottom); // outside the data area, so it never hides a curve
        else
            plot.HideLegend();
        return plot;
    }

    /// <summary>Splits <paramref name="text"/> into lines no wider than <paramref name="width"/> pixels.</summary>
    static IEnumerable<string> Wrap(string text, SKFont font, float width)
    {
        var line = "";
        foreach (var word in text.Split(' '))
        {
            var next = line.Length == 0 ? word : line + " " + word;
            if (line.Length > 0 && font.MeasureText(next) > width)
            {
                yield return line;
                line = word;
            }
            else line = next;
        }
        if (line.Length > 0) yield return line;
    }
}
