using System.Text.Json.Nodes;
using RuleDsl.Runtime.Analysis;
using RuleDsl.Runtime.Results;

namespace RuleDsl.Runtime.Experiments;

/// <summary>What a held-out comparison runs: seeds, learning trials per network, the task (null: the first
/// experiment's), the folder, the trial from which every rule changes weights, and whether to continue it.</summary>
public sealed record HeldOutSettings(IReadOnlyList<int> Seeds, int Trials, string? Task, string Output, int? LearnAfter = null, bool Resume = false);

/// <summary>One rule's networks: how many reached criterion, the median trials to it (a network that did
/// not reach it counts as <c>Trials + 1</c>), and the mean accuracy over the last 100 trials.</summary>
public sealed record HeldOutRuleSummary(string Name, int Reached, int Networks, double MedianTrials, double MeanFinalAccuracy);

/// <summary>Does the first rule reach criterion in fewer trials than <see cref="Other"/>? Wilcoxon signed-rank
/// paired by seed (with the faster/slower/tied counts and the median difference), and Mann–Whitney unpaired.</summary>
public sealed record FewerTrialsTest(string First, string Other, WilcoxonResult Paired, int Faster, int Slower, int Tied, double MedianDifference, MannWhitneyResult Unpaired);

/// <summary>A finished comparison: every network's record, per-rule summaries, the tests of the first rule
/// against each other one, and the files written.</summary>
public sealed record HeldOutResult(IReadOnlyList<LearningRecord> Records, IReadOnlyList<HeldOutRuleSummary> Rules,
    IReadOnlyList<FewerTrialsTest> Tests, string CsvPath, string TrialsPath, string PlotPath, IReadOnlyList<string>? PlotWarnings = null);

/// <summary>
/// `ruledsl learn` as a library: rules at fixed θ learning on held-out seeds (and tasks), trials to criterion
/// and rank tests between the first rule and each other. Each network's result is written as it finishes
/// (learning.csv, and its trial-by-trial record in learning_trials.csv) and learn.json records what is
/// compared — rules, θ, task, trial count, the files they were read from — so that a resumed comparison
/// continues only the same one and learns nothing twice.
/// </summary>
public sealed class HeldOutComparison
{
    readonly IReadOnlyList<RuleAtTheta> _rules;
    readonly HeldOutSettings _settings;
    readonly string _csvPath, _trialsPath;

    /// <summary>The task every network learns.</summary>
    public string TaskName { get; }
    /// <summary>Networks read back from the folder (a resumed comparison), not learned again.</summary>
    public IReadOnlyList<LearningRecord> Done { get; }
    /// <summary>The folder held a comparison that is continued.</summary>
    public bool Resumed { get; }
    /// <summary>The folder held a comparison that is replaced (no resume asked).</summary>
    public bool Replaced { get; }

    /// <summary>The task a comparison learns: <paramref name="task"/>, or the first experiment's when it has one
    /// (it must be chosen when it meta-trains on several); every rule's task must exist.</summary>
    public static string TaskOf(IReadOnlyList<RuleAtTheta> rules, string? task)
    {
        var first = rules[0].Session;
        string name = task ?? (first.TaskNames is [var only] ? only
            : throw new ArgumentException($"{first.Spec.File} meta-trains on {string.Join(" and ", first.TaskNames)}; choose the task to learn with --task"));
        // An unknown task is an input error here, not a failure inside the parallel learners.
        foreach (var r in rules) r.Session.RecurrentTask(task);
        return name;
    }

    /// <summary>Opens the comparison in <see cref="HeldOutSettings.Output"/>: checks that a resumed one compares
    /// the same rules, θ, task and trial count from files that changed in nothing but comments and layout
    /// (else <see cref="InvalidOperationException"/>), reads back its finished networks, and writes learn.json.</summary>
    public static HeldOutComparison Open(IReadOnlyList<RuleAtTheta> rules, HeldOutSettings settings) => new(rules, settings);

    HeldOutComparison(IReadOnlyList<RuleAtTheta> rules, HeldOutSettings settings)
    {
        (_rules, _settings) = (rules, settings);
        TaskName = TaskOf(rules, settings.Task);
        string output = settings.Output;
        Directory.CreateDirectory(output);
        _csvPath = Path.Combine(output, "learning.csv");
        _trialsPath = Path.Combine(output, "learning_trials.csv");
        string setupPath = Path.Combine(output, "learn.json");
        var setup = new JsonObject
        {
            ["task"] = TaskName,
            ["trials"] = settings.Trials,
            ["learn_after"] = settings.LearnAfter,
            ["rules"] = new JsonArray(rules.Select(r => (JsonNode)new JsonObject { ["name"] = r.Name, ["theta"] = new JsonArray(r.Theta.Select(t => (JsonNode)t).ToArray()) }).ToArray()),
        };
        // What each rule's networks were learned from (in the order of "rules"): its experiment, rule files and model.
        var sources = rules.Select(r => (IReadOnlyList<SourceFile>)[new SourceFile(Path.GetFileName(r.Session.Spec.File), r.Session.ExperimentText, r.Session.Spec.File), .. r.Session.Sources]).ToList();
        var done = new List<LearningRecord>();
        if (settings.Resume && File.Exists(_csvPath))
        {
            if (!File.Exists(setupPath))
                throw new InvalidOperationException($"{output} was written by a version of `learn` that did not record what it compared ({setupPath} is missing), so it cannot be continued safely; drop --resume to learn again, or give another --out");
            var stored = JsonNode.Parse(File.ReadAllText(setupPath)) as JsonObject ?? throw new InvalidOperationException($"{setupPath}: expected a JSON object");
            var storedSources = stored["sources"]?.DeepClone();
            stored.Remove("sources");
            stored.Remove("tool");
            if (stored.ToJsonString() != setup.ToJsonString())
                throw new InvalidOperationException($"{output} holds a comparison with other rules, θ, task, trial count or --learn-after (see {setupPath}); give another --out, or drop --resume to start again");
            if (storedSources is not JsonArray perRule || perRule.Count != sources.Count)
                throw new InvalidOperationException($"{setupPath} was written by a version of `learn` that did not record the experiment, rule and model files it learned with, so whether they changed since cannot be verified; drop --resume to learn again, or give another --out");
            for (int i = 0; i < sources.Count; i++)
                if (RunSources.FirstChange(RunSources.FromJson(perRule[i], setupPath) ?? [], sources[i]) is { } change)
                    throw new InvalidOperationException($"{setupPath}: {rules[i].Name}: {change}\nonly comments and layout may change in the files of a comparison that is continued; drop --resume to learn again, or give another --out");
            done = LearningLog.Read(_csvPath, _trialsPath, rules.Select(r => r.Name).ToHashSet(), settings.Seeds.ToHashSet(), settings.Trials);
            Resumed = true;
        }
        else Replaced = !settings.Resume && File.Exists(_csvPath);
        Done = done;
        var record = (JsonObject)setup.DeepClone();
        record["tool"] = ToolVersion.Tool;
        record["sources"] = new JsonArray(sources.Select(s => (JsonNode)RunSources.ToJson(s)).ToArray());
        File.WriteAllText(setupPath, record.ToJsonString(RunFolder.JsonOptions));
    }

    /// <summary>Learns every (rule, seed) not done yet, in parallel, appending each network to the CSV files as it
    /// finishes (then <paramref name="onNetwork"/>); then the summaries, the tests and learning.png.</summary>
    public HeldOutResult Run(Action<LearningRecord>? onNetwork = null, CancellationToken cancel = default)
    {
        int trials = _settings.Trials;
        using var csv = new StreamWriter(_csvPath);
        using var bits = new StreamWriter(_trialsPath);
        csv.WriteLine(LearningLog.CsvHeader);
        bits.WriteLine(LearningLog.TrialsHeader);
        foreach (var r in Done) LearningLog.Append(csv, bits, r);
        csv.Flush(); bits.Flush();
        var finished = Done.Select(r => (r.Name, r.Seed)).ToHashSet();
        var todo = _rules.Select(r => (Rule: r, Seeds: _settings.Seeds.Where(s => !finished.Contains((r.Name, s))).ToArray())).ToArray();
        var fresh = new List<LearningRecord>();
        // Rules with the same seeds left learn together, in one parallel batch.
        foreach (var group in todo.Where(t => t.Seeds.Length > 0).GroupBy(t => string.Join(" ", t.Seeds)))
            fresh.AddRange(HeldOutLearning.LearnAll(group.Select(t => (t.Rule.Session, t.Rule.Theta, t.Rule.Name)).ToArray(), group.First().Seeds, trials, _settings.Task, r =>
            {
                LearningLog.Append(csv, bits, r);
                csv.Flush(); bits.Flush();
                onNetwork?.Invoke(r);
            }, cancel, learnAfter: _settings.LearnAfter));
        var records = Done.Concat(fresh).ToArray();
        // In the order of the rules (records read back are in the order they once finished in).
        var order = _rules.Select(r => r.Name).ToList();
        var summaries = records.GroupBy(r => r.Name).OrderBy(g => order.IndexOf(g.Key)).Select(g => new HeldOutRuleSummary(g.Key, g.Count(r => r.TrialsToCriterion.HasValue), g.Count(),
            Statistics.Median(g.Select(r => r.RankValue).ToArray()), g.Average(r => r.FinalAccuracy))).ToList();
        string firstName = _rules[0].Name;
        var first = records.Where(r => r.Name == firstName).ToArray();
        var tests = _rules.Skip(1).Select(other =>
        {
            var theirs = records.Where(r => r.Name == other.Name).ToArray();
            var (w, faster, slower, tied, median) = HeldOutLearning.FewerPaired(first, theirs);
            return new FewerTrialsTest(firstName, other.Name, w, faster, slower, tied, median, HeldOutLearning.Fewer(first, theirs));
        }).ToList();
        string png = Path.Combine(_settings.Output, "learning.png");
        var warnings = HeldOutLearning.PlotCurves(png, records, _rules[0].Session.Spec.CriterionWindow);
        return new HeldOutResult(records, summaries, tests, _csvPath, _trialsPath, png, warnings);
    }
}
