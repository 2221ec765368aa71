using System.Globalization;
using RuleDsl.Runtime.Experiments;
using RuleDsl.Runtime.Plots;
using RuleDsl.Runtime.Results;
using RuleDsl.Runtime.Tests.Data;
using RuleDsl.Runtime.Tests.Experiments;

namespace RuleDsl.Runtime.Tests.Plots;

/// The figures as data, before drawing, from real runs at a reduced size: one panel per θ, accuracy in %
/// with the chance line, legends in words, bands that say what they are and n, the warning below 5 trials.
public class FigureTests
{
    /// <summary>Each trial's value of <paramref name="column"/> at <paramref name="episode"/>, from the CSV itself.</summary>
    static double[] At(CsvTable t, string column, int episode) =>
        t.Rows.Where(r => r[t.ColumnIndex("episode")] == episode.ToString(CultureInfo.InvariantCulture))
              .Select(r => double.Parse(r[t.ColumnIndex(column)], CultureInfo.InvariantCulture)).ToArray();

    static IReadOnlyDictionary<string, Figure> Figures(string output, string name) =>
        RunFigures.Standard(RunFolder.Open(output), RunFolder.Open(output).ReadEpisodes(), name).ToDictionary(f => f.File, f => f.Figure);

    [Fact]
    public void A_feedforward_run_has_one_theta_panel_per_coefficient_accuracy_in_percent_with_chance_and_a_warning_for_two_trials()
    {
        using var dir = new TempDir();
        var output = dir.File("ff");
        var text = $"experiment fig_ff\n  rule = rules/bio.rule bio\n  layers = 784 12 8 5\n  data = fashion-mnist:subset\n" +
                   $"  train = 3\n  query = 2\n  episodes = 3\n  trials = 2\n  output = {output}\n";
        var summary = ExperimentSessionTests.Load(text).Run(resume: false);
        var table = RunFolder.Open(output).ReadEpisodes();
        var figures = Figures(output, "fig_ff");
        Assert.Equal(["accuracy.png", "meta_loss.png", "theta.png", "angles.png"], figures.Keys);

        // θ: one panel per coefficient, each with its own axes and only its own curve, the mean over trials.
        var theta = figures["theta.png"];
        Assert.Equal(summary.Theta, theta.Panels.Select(p => p.Title));
        for (int r = 0; r < summary.Theta.Length; r++)
        {
            var panel = theta.Panels[r];
            Assert.Single(panel.Series);
            Assert.Equal(At(table, summary.Theta[r], 2).Average(), panel.Series[0].Mean[2], 15);
        }

        // Accuracy in %, chance at 1 of 5 classes, legend and axis in words, the band described with its n.
        var accuracy = figures["accuracy.png"];
        var ap = Assert.Single(accuracy.Panels);
        Assert.Equal("query accuracy (%)", ap.YLabel);
        Assert.Equal("episode (meta-step)", ap.XLabel);
        Assert.Equal(100 * At(table, "accuracy", 1).Average(), ap.Series[0].Mean[1], 10);
        Assert.Equal(new ReferenceLine(20, "chance (1 of 5 classes) = 20 %"), ap.Reference);
        Assert.Equal("query accuracy: mean and 98 % bootstrap CI of the mean over n = 2 trials", ap.Series[0].Legend);
        Assert.Equal(2, ap.Series[0].N);
        Assert.DoesNotContain(figures.Values.SelectMany(f => f.Panels).SelectMany(p => p.Series), s => s.Legend.StartsWith("meta_loss") || s.Legend.StartsWith("accuracy"));
        Assert.Equal("meta-loss (query cross-entropy) (nats)", figures["meta_loss.png"].Panels[0].YLabel);
        Assert.Equal(["layer 1: mean and 98 % bootstrap CI of the mean over n = 2 trials", "layer 2: mean and 98 % bootstrap CI of the mean over n = 2 trials"],
            figures["angles.png"].Panels[0].Series.Select(s => s.Legend));

        // Two trials: every figure warns, in its caption, and the caption says what the band is.
        foreach (var f in figures.Values)
        {
            var warning = Assert.Single(f.Warnings);
            Assert.Contains("only n = 2 trials, fewer than 5", warning);
            Assert.Contains(warning, f.Caption);
            Assert.Contains("lines: mean over n = 2 trials; bands: 98 % percentile-bootstrap confidence interval of the mean (500 resamples)", f.Caption);
        }

        // Drawn: a PNG per figure, larger for the θ grid, and the warning handed to the caller once.
        var warned = new List<string>();
        var files = RunPlots.Standard(RunFolder.Open(output), "fig_ff", warned.Add);
        Assert.Equal(4, files.Count);
        foreach (var f in files) PlotterTests.PngSize(f);
        Assert.Equal((800, 500), PlotterTests.PngSize(Path.Combine(output, "accuracy.png")));
        Assert.True(PlotterTests.PngSize(Path.Combine(output, "theta.png")).Width >= 800);
        Assert.Equal("fig_ff: " + figures["accuracy.png"].Warnings[0], Assert.Single(warned));
    }

    [Fact]
    public void A_recurrent_run_on_two_tasks_draws_each_tasks_accuracy_against_its_chance()
    {
        using var dir = new TempDir();
        var output = dir.File("rnn");
        var text = $"experiment fig_rnn\n  setting = recurrent\n  rule = rules/neo_hebbian.rule neo_hebbian\n  task = go-nogo dnms\n" +
                   $"  units = 8\n  horizon = 3\n  episodes = 2\n  trials = 1\n  batch = 2\n  lr = 0.01\n  output = {output}\n";
        ExperimentSessionTests.Load(text).Run(resume: false);
        var figures = Figures(output, "fig_rnn");
        var accuracy = figures["accuracy.png"];
        Assert.Equal(["fraction correct, last 100 trials", "fraction correct on go-nogo, last 100 trials", "fraction correct on dnms, last 100 trials"],
            accuracy.Panels.Select(p => p.Title));
        Assert.All(accuracy.Panels, p => Assert.Equal(50, p.Reference!.Y));
        Assert.Equal("chance on dnms = 50 %", accuracy.Panels[2].Reference!.Legend);
        Assert.Equal("chance, mean over the tasks = 50 %", accuracy.Panels[0].Reference!.Legend);
        Assert.Equal("fraction correct, last 100 trials: one trial, no band", accuracy.Panels[0].Series[0].Legend);
        Assert.Contains("only n = 1 trial, fewer than 5", Assert.Single(accuracy.Warnings));
        Assert.Equal("dashed lines: chance, mean over the tasks = 50 %; chance on go-nogo = 50 %; chance on dnms = 50 %", accuracy.Caption[0]);
        Assert.All(accuracy.Panels, p => Assert.Equal("%", p.YLabel));
        Assert.Equal("meta-loss −J/H (reward per trial)", figures["meta_loss.png"].Panels[0].YLabel);
        // Nine θ[k,l]: a 3×3 grid of panels.
        Assert.Equal(9, figures["theta.png"].Panels.Count);
        Assert.Equal((3, 3), FigureRenderer.Grid(9));
        RunPlots.Standard(RunFolder.Open(output));
        Assert.True(PlotterTests.PngSize(Path.Combine(output, "theta.png")).Height > 500);
    }

    [Fact]
    public void Enough_trials_draw_no_warning_and_comparisons_name_each_run_with_its_n()
    {
        using var dir = new TempDir();
        var a = RunPlotsTests.SyntheticRun(dir.File("bio"), 1, 0.85);
        var b = RunPlotsTests.SyntheticRun(dir.File("fa"), 2, 0.5, trials: 3);
        var own = RunFigures.Standard(a, a.ReadEpisodes(), "bio");
        Assert.All(own, f => Assert.Empty(f.Figure.Warnings));
        Assert.Equal(["theta[0]", "theta[1]"], own.Single(f => f.File == "theta.png").Figure.Panels.Select(p => p.Title));

        var cmp = RunFigures.Compare([("bio", a), ("FA", b)], "accuracy");
        Assert.Equal(["bio: mean and 98 % bootstrap CI of the mean over n = 8 trials", "FA: mean and 98 % bootstrap CI of the mean over n = 3 trials"],
            cmp.Panels[0].Series.Select(s => s.Legend));
        Assert.Equal("query accuracy (%)", cmp.Panels[0].YLabel);
        Assert.Equal("FA: only n = 3 trials, fewer than 5: the band is not a reliable estimate (run more trials)", Assert.Single(cmp.Warnings));
        Assert.Equal(cmp.Warnings, RunPlots.Compare(dir.File("cmp.png"), [("bio", a), ("FA", b)], "accuracy"));
        PlotterTests.PngSize(dir.File("cmp.png"));
    }

    [Fact]
    public void Theta_columns_are_the_rules_parameters_whatever_their_names()
    {
        using var dir = new TempDir();
        var run = RunFolder.CreateOrResume(dir.File("r"), "experiment names", new { });
        using (var log = run.OpenEpisodes())
            log.Append(new CsvRow().Add("trial", 0).Add("episode", 0).Add("meta_loss", 1.0).Add("penalised", 1.0).Add("accuracy", 0.5)
                .Add("eta", 1e-3).Add("tau", 20.0).Add("J", 3.0).Add("final_reward", 0.1).Add("trials_to_criterion", double.NaN)
                .Add("grad_norm", 1.0).Add("lr", 1e-3).Add("seconds", 0.1).Add("failure", ""));
        Assert.Equal(["eta", "tau"], RunFigures.ThetaColumns(run.ReadEpisodes()));
    }

    [Fact]
    public void Every_documented_episode_column_has_words_and_a_unit()
    {
        string[] columns = ["meta_loss", "penalised", "accuracy", "angle_1", "orth_2", "J", "final_reward", "trials_to_criterion",
                            "J_dnms", "accuracy_dnms", "batch_failed", "grad_norm", "lr", "seconds"];
        foreach (var recurrent in new[] { false, true })
            foreach (var c in columns)
            {
                var q = ColumnWords.Of(c, recurrent);
                Assert.NotEqual(c, q.Words);
                Assert.NotEmpty(q.Unit);
                Assert.DoesNotContain("_", q.Words.Replace("E_W", ""));
            }
        Assert.True(ColumnWords.Of("accuracy_go-nogo", true).IsAccuracy);
    }

    [Fact]
    public void Learning_and_sample_curves_carry_chance_their_n_and_the_warning()
    {
        var records = Enumerable.Range(0, 3).Select(s => new LearningRecord("fast", "go-nogo", 100 + s,
            Enumerable.Range(0, 40).Select(t => t > 10 + s).ToArray(), 20)).ToList();
        var learning = HeldOutLearning.LearningFigure(records, 10);
        var panel = Assert.Single(learning.Panels);
        Assert.Equal(new ReferenceLine(50, "chance on go-nogo = 50 %"), panel.Reference);
        Assert.Equal("fast: mean and 98 % bootstrap CI of the mean over n = 3 seeds", panel.Series[0].Legend);
        Assert.Equal(100, panel.Series[0].Mean[^1]);
        Assert.Equal("fast: only n = 3 seeds, fewer than 5: the band is not a reliable estimate (run more seeds)", Assert.Single(learning.Warnings));

        var points = Enumerable.Range(0, 6).SelectMany(k => new[] { 5, 10 }.Select(n => new SampleCurvePoint("bio", n, k, 0.1 * k + 0.01 * n))).ToList();
        var samples = SampleCurve.SampleFigure(points, 5);
        Assert.Equal(new ReferenceLine(20, "chance (1 of 5 classes) = 20 %"), samples.Panels[0].Reference);
        Assert.Equal(100 * Enumerable.Range(0, 6).Average(k => 0.1 * k + 0.1), samples.Panels[0].Series[0].Mean[1], 10);
        Assert.Equal([5.0, 10.0], samples.Panels[0].Series[0].X);
        Assert.Empty(samples.Warnings);
        using var dir = new TempDir();
        Assert.Empty(SampleCurve.Plot(dir.File("s.png"), points, 5));
        PlotterTests.PngSize(dir.File("s.png"));
    }
}
