using RuleDsl.Runtime.Experiments;
using RuleDsl.Semantics;

namespace RuleDsl.Runtime.Tests.Experiments;

/// `ruledsl learn` through the library, as a notebook calls it: a resumed comparison learns only the
/// networks it lacks and ends where one run from scratch ends; a changed comparison is not continued.
public class HeldOutComparisonTests
{
    static RuleAtTheta Rule(string name)
    {
        var file = Path.Combine(Directory.CreateTempSubdirectory().FullName, name + ".experiment");
        File.WriteAllText(file, $"experiment {name}\n  setting = recurrent\n  rule = {Path.Combine(Repo.Root, "rules", "miconi.rule")} miconi\n  task = dnms\n  units = 12\n  output = unused\n");
        var loaded = ExperimentInput.Load(FileSystemModule.disk, file);
        Assert.True(loaded.IsOk, loaded.IsOk ? "" : ProblemsModule.Render(loaded.ErrorValue));
        return RuleAtTheta.Of(ExperimentSession.Of(loaded.ResultValue), initial: true);
    }

    [Fact]
    public void A_resumed_comparison_learns_only_the_missing_networks_and_ends_as_one_from_scratch()
    {
        RuleAtTheta[] rules = [Rule("a"), Rule("b")];
        string output = Directory.CreateTempSubdirectory().FullName, scratch = Directory.CreateTempSubdirectory().FullName;
        HeldOutComparison.Open(rules, new HeldOutSettings([1, 2], 120, null, output)).Run();

        var resumed = HeldOutComparison.Open(rules, new HeldOutSettings([1, 2, 3], 120, null, output, Resume: true));
        Assert.True(resumed.Resumed);
        Assert.Equal(4, resumed.Done.Count);
        var learned = new List<LearningRecord>();
        var result = resumed.Run(learned.Add);
        Assert.Equal([("a", 3), ("b", 3)], learned.Select(r => (r.Name, r.Seed)).Order());

        var whole = HeldOutComparison.Open(rules, new HeldOutSettings([1, 2, 3], 120, null, scratch)).Run();
        foreach (var r in whole.Records)
            Assert.Equal(r.Correct, result.Records.Single(x => x.Name == r.Name && x.Seed == r.Seed).Correct);
        Assert.Equal(whole.Tests.Single().Paired, result.Tests.Single().Paired);
        Assert.Equal(whole.Rules, result.Rules); // in the rules' order, however the networks finished
        Assert.Equal(7, File.ReadAllLines(result.CsvPath).Length); // the header and six networks

        // Another trial count is another comparison: not continued.
        Assert.Throws<InvalidOperationException>(() => HeldOutComparison.Open(rules, new HeldOutSettings([1, 2, 3], 100, null, output, Resume: true)));
    }
}
