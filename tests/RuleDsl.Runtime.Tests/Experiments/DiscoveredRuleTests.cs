using RuleDsl.Runtime.Experiments;
using RuleDsl.Semantics;

namespace RuleDsl.Runtime.Tests.Experiments;

/// The discovered rule a run prints and stores: a term is left out only when its θ is a linear
/// coefficient and the term is negligible at the run's states, and the summary says which and why.
public class DiscoveredRuleTests
{
    static string RepoRoot()
    {
        var d = new DirectoryInfo(AppContext.BaseDirectory);
        while (d is not null && !File.Exists(Path.Combine(d.FullName, "RuleDsl.sln"))) d = d.Parent;
        return d?.FullName ?? throw new InvalidOperationException("repository root not found");
    }

    /// A run of <paramref name="rule"/> (rule text, including the ten candidate terms) that keeps θ at
    /// its initial values (lr = 0), through the same loader as `ruledsl run`.
    static ExperimentSession.RunSummary Run(string rule)
    {
        var dir = Directory.CreateTempSubdirectory().FullName;
        File.WriteAllText(Path.Combine(dir, "r.rule"), $"include \"{Path.Combine(RepoRoot(), "rules", "terms.rule")}\"\n{rule}");
        var file = Path.Combine(dir, "x.experiment");
        var text = $"experiment discovered\n  rule = r.rule\n  layers = 784 10 5\n  data = fashion-mnist:subset\n" +
                   $"  train = 3\n  query = 2\n  episodes = 2\n  trials = 1\n  lr = 0\n  output = {Path.Combine(dir, "out")}\n";
        File.WriteAllText(file, text);
        var errors = new StringWriter();
        var loaded = Commands.LoadExperimentRules(FileSystemModule.disk, errors, file);
        Assert.True(loaded.IsOk, errors.ToString());
        var (spec, rules) = loaded.ResultValue;
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
}
