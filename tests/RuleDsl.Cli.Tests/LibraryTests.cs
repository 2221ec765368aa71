using System.Globalization;
using System.Text.Json.Nodes;
using RuleDsl.Runtime.Results;

namespace RuleDsl.Cli.Tests;

/// <summary>The library package's API (RuleDsl.Rules, Models, Experiments, Results) as a notebook calls
/// it: user mistakes come back located, never thrown; what it returns is what the stages compute and
/// what the run folder holds.</summary>
public class LibraryTests
{
    const string Fa = """
        rule mine : feedforward
          param theta0 = 1e-3
          param theta1 = 0
          dW = -theta0 * outer(e_post, y_pre) + theta1 * outer(e_post, e_pre)
        """;

    [Fact]
    public void A_rule_with_a_mistake_returns_located_problems_and_no_value()
    {
        var r = Rules.Parse(Fa.Replace("outer(e_post, e_pre)", "outer(e_pre, y_pre)"), "my.rule");
        Assert.False(r.Ok);
        var p = Assert.Single(r.Problems);
        Assert.Equal(("my.rule", 4, 56, "RD0301", true), (p.File, p.Line, p.Column, p.Code, p.IsError));
        Assert.Equal("did you mean outer(e_post, y_pre)?", p.Hint);
        Assert.Contains("my.rule:4:56: error RD0301", r.Report);
        Assert.Throws<InvalidOperationException>(() => r.Get());
    }

    [Fact]
    public void Derive_gives_expressions_text_and_latex_of_every_sensitivity()
    {
        var rule = Rules.ParseOne(Fa).Get();
        var d = Rules.Derive(rule);
        var byTheta0 = Assert.Single(d.Equations, e => e.Wrt == "theta0");
        Assert.Equal("-outer(e_post, y_pre)", byTheta0.Text);
        Assert.Equal(Symbolic.Print.Latex(byTheta0.Expr), byTheta0.Latex);
        Assert.Equal(4, byTheta0.From.Line);
        Assert.Single(d.Equations, e => e.Wrt is null);
        Assert.Contains("∂ΔW/∂theta1 = outer(e_post, e_pre)", d.Text);
        Assert.Contains("\\theta_{1}", d.Latex);
    }

    [Fact]
    public void Check_is_the_table_as_data_and_fails_a_wrong_derivative()
    {
        var table = Rules.Check(Rules.ParseOne(Fa).Get());
        Assert.True(table.Passed);
        Assert.Equal(["simplify(ΔW)", "∂ΔW/∂theta0", "∂ΔW/∂theta1", "δ(ΔW)"], table.Rows.Select(r => r.Target));
        Assert.All(table.Rows, r => Assert.True(r.RelError < table.Tolerance));
        Assert.Contains("4 checks, all passed", table.ToString());
    }

    [Fact]
    public void Includes_of_the_standard_library_work_from_a_string()
    {
        var r = Rules.Parse("include \"std/terms.rule\"\nrule pool : feedforward\n  param theta0 = 1e-3\n  dW = theta0 * F[0]\n");
        Assert.True(r.Ok, r.Report);
        Assert.Equal("pool", Assert.Single(r.Value!).Name);
        Assert.False(Rules.ParseOne(Fa + "\nrule other : feedforward\n  param theta0 = 1\n  dW = theta0 * outer(e_post, y_pre)\n").Ok);
        Assert.Equal("other", Rules.ParseOne(Fa + "\nrule other : feedforward\n  param theta0 = 1\n  dW = theta0 * outer(e_post, y_pre)\n", "other").Get().Name);
    }

    [Fact]
    public void Eval_computes_the_update_at_a_point_and_locates_a_bad_point()
    {
        var rule = Rules.ParseOne(Fa).Get();
        double[] e = [0.5, -2], y = [3, 4, 1.5], ep = [2, -1, 0.25];
        var point = $$"""{ "e_post": [{{string.Join(", ", e)}}], "y_pre": [{{string.Join(", ", y)}}], "e_pre": [{{string.Join(", ", ep)}}], "theta0": 0.1, "theta1": 0.3 }""";
        var r = Rules.Eval(rule, point);
        Assert.True(r.Ok, r.Report);
        var dw = r.Value!["update"]!["value"]!.AsArray();
        var d1 = r.Value!["update"]!["partials"]!["theta1"]!.AsArray();
        for (int i = 0; i < 2; i++)
            for (int j = 0; j < 3; j++)
            {
                Assert.Equal(-0.1 * e[i] * y[j] + 0.3 * e[i] * ep[j], (double)dw[i]![j]!, 12);
                Assert.Equal(e[i] * ep[j], (double)d1[i]![j]!, 12);
            }
        var bad = Rules.Eval(rule, "{ \"e_post\": [1, 2],\n  \"y_pre\": 5 }", "p.json");
        Assert.False(bad.Ok);
        Assert.Contains(bad.Problems, p => p.File == "p.json" && p.Line == 2 && p.Code == "RD0602");
    }

    [Fact]
    public void Models_load_from_the_standard_library_derive_and_check()
    {
        var m = Models.Load("std/mlp.model");
        Assert.True(m.Ok, m.Report);
        var eqs = Models.Derive(m.Value!);
        Assert.NotEmpty(eqs);
        Assert.All(eqs, q => Assert.Equal(Symbolic.Print.Text(q.Tangent), q.TangentText));
        Assert.True(Models.Check(m.Value!, "std/mlp.model").Passed);
        Assert.False(Models.Parse("model broken\n  z = \n").Ok);
    }

    static string Experiment(string output, int episodes = 4) => $"""
        experiment lib
          rule      = mine.rule mine
          setting   = feedforward
          layers    = 784 30 5
          feedback  = fa
          data      = fashion-mnist:subset
          classes   = 5
          train     = 10
          query     = 5
          episodes  = {episodes}
          trials    = 2
          seed      = 3
          output    = {output}
        """;

    [Fact]
    public void An_experiment_with_a_bad_setting_returns_a_located_problem()
    {
        var x = Experiments.Parse(Experiment("x").Replace("feedback  = fa", "feedback  = fx"), new Dictionary<string, string> { ["mine.rule"] = Fa });
        Assert.False(x.Ok);
        Assert.Contains(x.Problems, p => p.File == "inline.experiment" && p.Line == 5 && p.IsError);
        var missing = Experiments.Parse(Experiment("x"));
        Assert.False(missing.Ok);
        Assert.Contains("mine.rule", missing.Report);
    }

    [Fact]
    public void A_cancelled_run_resumes_to_the_same_numbers_and_reads_back_as_records()
    {
        var dir = Directory.CreateTempSubdirectory("ruledsl-lib-");
        try
        {
            var files = new Dictionary<string, string> { ["mine.rule"] = Fa };
            var whole = Path.Combine(dir.FullName, "whole");
            var parts = Path.Combine(dir.FullName, "parts");
            var full = Experiments.Run(Experiments.Parse(Experiment(whole), files).Get());
            Assert.True(full.Ok, full.Report);

            var x = Experiments.Parse(Experiment(parts), files).Get();
            using var cancel = new CancellationTokenSource();
            var seen = new List<Runtime.Experiments.Progress>();
            Assert.ThrowsAny<OperationCanceledException>(() =>
                Experiments.Run(x, p => { seen.Add(p); if (p.Done >= 3) cancel.Cancel(); }, cancel.Token));
            Assert.True(seen.Count is >= 3 and < 8);
            // A second run into the folder without resume is refused, as the command line refuses it.
            var again = Experiments.Run(x);
            Assert.False(again.Ok);
            Assert.Contains("--resume", again.Report);
            var resumed = Experiments.Run(x, new Progress<Runtime.Experiments.Progress>(), resume: true);
            Assert.True(resumed.Ok, resumed.Report);

            var a = Results.Open(whole).Get();
            var b = Results.Open(parts).Get();
            Assert.Equal(["theta0", "theta1"], a.ThetaNames);
            Assert.Equal(8, a.Episodes.Count);
            Assert.Equal(a.Summary!.ThetaMean, resumed.Value!.ThetaMean);
            Assert.Equal(full.Value!.ThetaMean, a.Summary.ThetaMean);
            foreach (var ep in a.Episodes)
            {
                var same = b.Episodes.Single(o => o.Trial == ep.Trial && o.Index == ep.Index);
                Assert.Equal((ep.MetaLoss, ep.Accuracy, ep.Theta["theta0"], ep.Theta["theta1"]), (same.MetaLoss, same.Accuracy, same.Theta["theta0"], same.Theta["theta1"]));
            }
            // The records are the CSV's columns.
            var csv = CsvTable.Read(Path.Combine(whole, "episodes.csv"));
            Assert.Equal(csv.Doubles("accuracy"), a.Episodes.Select(e => e.Accuracy));
            Assert.Equal(csv.Doubles("theta1"), a.Episodes.Select(e => e.Theta["theta1"]));
            Assert.Equal(csv.Doubles("orth_2"), a.Episodes.Select(e => e.Metrics["orth_2"]));
            Assert.Equal(csv.Doubles("angle_1"), a.Episodes.Select(e => e.Metrics["angle_1"]));

            var figures = Results.Plot(whole).Get();
            Assert.Contains(figures, f => f.EndsWith("accuracy.png", StringComparison.Ordinal));
            var cmp = Results.Compare(whole, parts, window: 2).Get();
            Assert.Equal(2, cmp.Windows.Count);
            Assert.All(cmp.Windows, w => Assert.Equal(w.MeanA, w.MeanB));
            Assert.True(File.Exists(cmp.CurvesFigure));
        }
        finally { dir.Delete(true); }
    }

    [Fact]
    public void Opening_a_folder_that_is_no_run_returns_a_problem()
    {
        var r = Results.Open(Path.Combine(Path.GetTempPath(), "ruledsl-no-such-run-" + Guid.NewGuid().ToString("N")));
        Assert.False(r.Ok);
        Assert.NotEmpty(r.Report);
        Assert.False(Results.Plot("/nonexistent/run").Ok);
    }
}
