using System.Text.RegularExpressions;

namespace RuleDsl.Cli.Tests;

/// `ruledsl new rule|experiment NAME`: the templates check, and run (at a reduced size) as written and
/// with the new rule in the new experiment; an existing file is never overwritten.
public class NewTemplateTests
{
    /// The experiment's settings replaced (a reduced run into the test's folder).
    static void Set(string file, params (string Key, string Value)[] settings)
    {
        var text = File.ReadAllText(file);
        foreach (var (key, value) in settings)
        {
            var re = new Regex($@"^(\s*{key}\s*=\s*).*$", RegexOptions.Multiline);
            Assert.Matches(re, text);
            text = re.Replace(text, m => m.Groups[1].Value + value);
        }
        File.WriteAllText(file, text);
    }

    static readonly Dictionary<string, (string, string)[]> Reduced = new()
    {
        ["feedforward"] = [("layers", "784 12 5"), ("train", "3"), ("query", "2"), ("episodes", "2"), ("trials", "1")],
        ["recurrent"] = [("units", "8"), ("horizon", "3"), ("episodes", "1"), ("trials", "1")],
    };

    static void Ok(Outcome o) => Assert.True(o.Exit == 0, o.Err + o.Out);

    [Theory]
    [InlineData("feedforward")]
    [InlineData("recurrent")]
    public void The_templates_check_and_run(string setting)
    {
        var dir = Directory.CreateTempSubdirectory().FullName;
        var name = Path.Combine(dir, "mine");
        Ok(Cli.Run("new", "rule", name, "--setting", setting));
        Ok(Cli.Run("new", "experiment", name, "--setting", setting));
        var (rule, exp) = (name + ".rule", name + ".experiment");
        Assert.StartsWith("# mine.rule", File.ReadAllText(rule));

        // The rule checks: every derivative verified, with both θ.
        var check = Cli.Run("check", rule);
        Ok(check);
        Assert.Contains("all passed", check.Out);
        Assert.Matches(@"mine\s+∂ΔW/∂theta0", check.Out);

        // The experiment as written checks, and runs at a reduced size with its standard-library rule...
        Ok(Cli.Run("run", exp, "--check"));
        Set(exp, [.. Reduced[setting], ("output", Path.Combine(dir, "std_run"))]);
        Ok(Cli.Run("run", exp));
        Assert.True(File.Exists(Path.Combine(dir, "std_run", "summary.json")));

        // ...and with the new rule, as its comment says.
        Set(exp, ("rule", "mine.rule mine"), ("output", Path.Combine(dir, "mine_run")));
        var checkExp = Cli.Run("run", exp, "--check");
        Ok(checkExp);
        Assert.Contains($"{setting} rule mine with 2 parameters", checkExp.Out);
        var run = Cli.Run("run", exp);
        Ok(run);
        Assert.Contains("θ (mean over trials", run.Out);
        Assert.True(File.Exists(Path.Combine(dir, "mine_run", "summary.json")));
    }

    [Fact]
    public void An_existing_file_is_not_overwritten_and_a_bad_name_is_refused()
    {
        var dir = Directory.CreateTempSubdirectory().FullName;
        var name = Path.Combine(dir, "mine");
        File.WriteAllText(name + ".rule", "my own work\n");
        var r = Cli.Run("new", "rule", name);
        Assert.Equal(2, r.Exit);
        Assert.Contains("exists; not overwritten", r.Err);
        Assert.Equal("my own work\n", File.ReadAllText(name + ".rule"));
        var bad = Cli.Run("new", "experiment", Path.Combine(dir, "2-bad"));
        Assert.Equal(2, bad.Exit);
        Assert.Contains("not a name", bad.Err);
        Assert.False(File.Exists(Path.Combine(dir, "2-bad.experiment")));
        Assert.True(r.HasNoTrace && bad.HasNoTrace, r.Err + bad.Err);
    }
}
