using RuleDsl.Runtime.Data;
using RuleDsl.Runtime.Plots;
using RuleDsl.Runtime.Results;
using RuleDsl.Runtime.Tests.Data;

namespace RuleDsl.Runtime.Tests.Plots;

public class RunPlotsTests
{
    /// <summary>A run folder with synthetic rows: <paramref name="trials"/> trials × 30 episodes, accuracy rising toward <paramref name="top"/>.</summary>
    internal static RunFolder SyntheticRun(string dir, ulong seed, double top, int episodes = 30, int trials = 8)
    {
        var run = RunFolder.CreateOrResume(dir, $"experiment synthetic {seed}", new { seed });
        using var log = run.OpenEpisodes();
        for (int t = 0; t < trials; t++)
        {
            var rng = new Rng(1000 * seed + (ulong)t);     // per trial, so a longer run starts with the same rows
            for (int e = 0; e < episodes; e++)
                log.Append(new CsvRow().Add("trial", t).Add("episode", e)
                    .Add("meta_loss", 1.6 * Math.Exp(-0.05 * e) + rng.Normal(0, 0.02))
                    .Add("accuracy", top - (top - 0.2) * Math.Exp(-0.1 * e) + rng.Normal(0, 0.02))
                    .AddRange("theta", [1e-3 + 1e-5 * e, -2e-5 * e])
                    .Add("angle_1", 90 - e + rng.Normal(0, 1)));
        }
        return run;
    }

    [Fact]
    public void Standard_plots_comparison_and_mann_whitney_from_run_folders()
    {
        using var dir = new TempDir();
        var bio = SyntheticRun(dir.File("bio"), 1, 0.85);
        var fa = SyntheticRun(dir.File("fa"), 2, 0.5);
        var files = RunPlots.Standard(bio);
        Assert.Equal(["accuracy.png", "meta_loss.png", "theta.png", "angles.png"], files.Select(Path.GetFileName));
        foreach (var f in files) Assert.Equal((Plotter.DefaultWidth, Plotter.DefaultHeight), PlotterTests.PngSize(f));

        RunPlots.Compare(dir.File("cmp.png"), [("bio", bio), ("FA", fa)], "accuracy");
        PlotterTests.PngSize(dir.File("cmp.png"));

        var p = RunPlots.MannWhitneyPlot(dir.File("mw.png"), ("bio", bio), ("FA", fa));
        PlotterTests.PngSize(dir.File("mw.png"));
        Assert.Equal(30, p.Length);
        Assert.True(p[0] > 0.01, $"episode 0: both start at 0.2, p = {p[0]}");
        // From episode 10 on every bio trial beats every FA trial: the exact one-sided p is 1/C(16, 8).
        Assert.Equal(1 / 12870.0, p[29], 1e-12);

        // A longer run against a shorter baseline: compared over the episodes both have, with the same p-values.
        var longer = SyntheticRun(dir.File("bio600"), 1, 0.85, episodes: 45);
        var pl = RunPlots.MannWhitneyPlot(dir.File("mw_long.png"), ("bio", longer), ("FA", fa));
        Assert.Equal(p, pl);

        // Opt-in: keep the images for looking at them.
        if (Environment.GetEnvironmentVariable("RULEDSL_PLOT_DIR") is { Length: > 0 } keep)
            foreach (var f in files.Append(dir.File("cmp.png")).Append(dir.File("mw.png")))
                File.Copy(f, Path.Combine(keep, "run-" + Path.GetFileName(f)), overwrite: true);
    }
}
