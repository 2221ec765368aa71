using System.Globalization;
using Microsoft.FSharp.Collections;
using RuleDsl.Runtime.Experiments;
using RuleDsl.Semantics;
using RuleDsl.Symbolic;

namespace RuleDsl.Runtime.Tests.Experiments;

/// The discovered rule a run prints and stores: a term is left out only when its θ is a linear
/// coefficient and the term is negligible at the run's states, and the summary says which and why.
public class DiscoveredRuleTests
{
    /// A run of <paramref name="rule"/> (rule text, including the ten candidate terms) that keeps θ at
    /// its initial values (lr = 0), through the same loader as `ruledsl run`.
    static ExperimentSession.RunSummary Run(string rule, string setting = "layers = 784 10 5\n  data = fashion-mnist:subset\n  train = 3\n  query = 2")
    {
        var dir = Directory.CreateTempSubdirectory().FullName;
        File.WriteAllText(Path.Combine(dir, "r.rule"), $"include \"{Path.Combine(Repo.Root, "rules", "terms.rule")}\"\n{rule}");
        var file = Path.Combine(dir, "x.experiment");
        var text = $"experiment discovered\n  rule = r.rule\n  {setting}\n" +
                   $"  episodes = 2\n  trials = 1\n  lr = 0\n  output = {Path.Combine(dir, "out")}\n";
        File.WriteAllText(file, text);
        var loaded = ExperimentInput.Rules(FileSystemModule.disk, file);
        Assert.True(loaded.IsOk, loaded.IsOk ? "" : ProblemsModule.Render(loaded.ErrorValue));
        var (spec, rules, _) = loaded.ResultValue;
        return new ExperimentSession(spec, rules.ToList(), text).Run(resume: false);
    }

    [Fact]
    public void A_learning_rate_beside_a_threshold_a_hundred_times_larger_is_printed_with_it()
    {
        // BCM-like: θ1 is a threshold, not a coefficient; θ0 = 1e-3 scales the whole update.
        var summary = Run("rule bcm : feedforward\n  param theta0 = 1e-3\n  param theta1 = 0.5\n" +
                          "  dW = theta0 * outer(y_post * (y_post - theta1), y_pre)\n");
        Assert.NotEqual("dW = 0", summary.Discovered);
        Assert.Contains("0.001", summary.Discovered);
        Assert.Contains("0.5", summary.Discovered);
        Assert.Empty(summary.LeftOut);
    }

    [Theory]
    // θ beside a number it nearly cancels: rounding θ to four digits before simplifying printed dW = 0
    // for the first and five times the coefficient (-0.0005) for the second.
    [InlineData("param theta0 = 1.00001\n  dW = (theta0 - 1) * F[0]", "dW = -1E-05 * outer(e_post, y_pre)")]
    [InlineData("param theta0 = 0.0012346\n  dW = (theta0 - 0.0012345) * 1000 * F[0]", "dW = -0.0001 * outer(e_post, y_pre)")]
    public void Theta_is_rounded_for_printing_only_after_the_rule_is_simplified(string body, string printed)
    {
        var summary = Run("rule near : feedforward\n  " + body + "\n");
        Assert.Equal(printed, summary.Discovered);
    }

    [Fact]
    public void A_term_with_a_tiny_coefficient_is_left_out_and_the_summary_says_why()
    {
        var summary = Run("rule tiny : feedforward\n  param theta0 = 1e-3\n  param theta2 = 1e-12\n  dW = theta0 * F[0] + theta2 * F[2]\n");
        Assert.Equal("dW = -0.001 * outer(e_post, y_pre)", summary.Discovered);
        var why = Assert.Single(summary.LeftOut);
        Assert.StartsWith("theta2 = 1E-12: its term is ", why);
        Assert.EndsWith("of the size of ΔW at the run's states (below 1 %)", why);
    }

    [Fact]
    public void A_small_coefficient_whose_term_is_large_at_the_runs_states_is_kept()
    {
        // |θ9| is 0.5 % of θ0, but Oja's term (y_post ~ 1) outweighs the error term (e ~ 0.1) at these states.
        var summary = Run("rule oja_small : feedforward\n  param theta0 = 1e-2\n  param theta9 = 5e-5\n  dW = theta0 * F[0] + theta9 * F[9]\n");
        Assert.Contains("5E-05 * outer(y_post, y_pre)", summary.Discovered);
        Assert.Empty(summary.LeftOut);
    }

    [Fact]
    public void A_term_of_a_trace_is_measured_against_the_traces_rate()
    {
        var summary = Run("rule nh : recurrent\n  param theta[k in 0..1, l in 0..1] = 0\n  init theta[1,1] = 1\n  init theta[0,1] = 1e-7\n  const eta = 1e-3\n" +
                          "  trace E' = sum(k in 0..1, l in 0..1, theta[k,l] * outer((xbar - x)^l, r^k))\n  dW = eta * E * (R - Rbar)\n",
                          "setting = recurrent\n  units = 8\n  horizon = 3");
        Assert.Equal("E' = outer(-x + xbar, r); dW = 0.001 * E * (R - Rbar)", summary.Discovered);
        Assert.Equal(2, summary.LeftOut.Length);
        Assert.Equal("theta[0,0], theta[1,0] = 0 (the rate of E)", summary.LeftOut[0]);
        Assert.StartsWith("theta[0,1] = 1E-07: its term is ", summary.LeftOut[1]);
        Assert.EndsWith("of the size of the rate of E at the run's states (below 1 %)", summary.LeftOut[1]);
    }

    [Fact]
    public void The_stored_paper_results_print_as_they_did_when_the_same_terms_are_left_out()
    {
        // The runs behind docs/results/paper left out only linear coefficients below 1 % of the largest
        // |θ|; printed with those left out, the text is the one they stored.
        var root = Repo.Root;
        var experiments = Directory.GetFiles(Path.Combine(root, "examples"), "*.experiment", SearchOption.AllDirectories)
            .ToLookup(f => File.ReadLines(f).Select(l => l.Trim()).First(l => l.StartsWith("experiment ")).Substring(11).Trim());
        int compared = 0;
        foreach (var file in Directory.GetFiles(Path.Combine(root, "docs", "results", "paper"), "*.summary.json"))
        {
            var stored = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(file))!.AsObject();
            var path = experiments[stored["Experiment"]!.GetValue<string>()].FirstOrDefault();
            if (path is null) continue;
            var loaded = ExperimentInput.Rules(FileSystemModule.disk, path);
            Assert.True(loaded.IsOk, path);
            var names = stored["Theta"]!.AsArray().Select(n => n!.GetValue<string>()).ToList();
            var theta = stored["ThetaMean"]!.AsArray().Select(n => n!.GetValue<double>()).ToList();
            double small = 0.01 * theta.Max(Math.Abs);
            // Some were stored before products of rounded numbers were rounded again (5.4510000000000005E-05).
            string discovered = System.Text.RegularExpressions.Regex.Replace(stored["Discovered"]!.GetValue<string>(), @"\d+\.\d{8,}(E[-+]?\d+)?",
                m => double.Parse(double.Parse(m.Value, CultureInfo.InvariantCulture).ToString("G4", CultureInfo.InvariantCulture), CultureInfo.InvariantCulture).ToString(CultureInfo.InvariantCulture));
            foreach (var rule in loaded.ResultValue.Item2.Distinct())
            {
                var values = rule.Params.Select(p => theta[names.IndexOf(p.Symbol.Name)]).ToList();
                var coefficients = RuleOf.CoefficientTerms(rule, rule.Update).Select(t => t.Item1.Name).ToHashSet();
                var dropped = rule.Params.Select(p => p.Symbol.Name).Where(n => Math.Abs(theta[names.IndexOf(n)]) < small).ToList();
                Assert.All(dropped, n => Assert.Contains(n, coefficients));
                var printed = "dW = " + Print.Text(RuleOf.Discovered(rule, ListModule.OfSeq(values), ListModule.OfSeq(dropped)));
                Assert.True(discovered == printed || discovered.Contains($"): {printed}"), $"{file}:\n{discovered}\n{printed}");
                compared++;
            }
        }
        Assert.True(compared >= 25, $"{compared} stored rules compared");
    }
}
