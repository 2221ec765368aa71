using RuleDsl.Runtime.Experiments;
using RuleDsl.Runtime.Results;
using RuleDsl.Semantics;
using RuleDsl.Syntax;

namespace RuleDsl.Runtime.Tests.Experiments;

/// Whole experiments from their text, small enough for the default suite: the feedforward one on the
/// shipped Fashion-MNIST subset, the recurrent one on DNMS; both resume without recomputing.
public class ExperimentSessionTests
{
    internal static ExperimentSession Load(string text)
    {
        var root = Repo.Root;
        var file = Path.Combine(root, "examples", "test-session.experiment");
        // Parse from text (the file need not exist) and check the rule the text names.
        var spec = Experiment.parse(file, text);
        Assert.True(spec.IsOk, spec.IsError ? string.Join("\n", spec.ErrorValue.Select(d => d.Message)) : "");
        var s = spec.ResultValue;
        var rules = Check.CheckFiles(FileSystemModule.disk, Microsoft.FSharp.Collections.ListModule.OfSeq([Path.Combine(root, s.RuleFile)]));
        var rule = rules.Rules.Single(r => r.Name == s.RuleName);
        return new ExperimentSession(s, rule, text);
    }

    [Fact]
    public void A_feedforward_experiment_runs_on_the_shipped_data_and_resumes()
    {
        var output = Directory.CreateTempSubdirectory().FullName;
        var text = $"experiment ff_smoke\n  rule = rules/bio.rule bio\n  layers = 784 12 5\n  data = fashion-mnist:subset\n" +
                   $"  train = 3\n  query = 2\n  episodes = 3\n  trials = 2\n  output = {output}\n";
        var session = Load(text);
        var summary = session.Run(resume: false);
        Assert.Equal(2, summary.Trials);
        Assert.Contains("subset", summary.Data);
        Assert.StartsWith("dW = ", summary.Discovered);
        var rows = RunFolder.Open(output).ReadEpisodes();
        Assert.Equal(6, rows.Rows.Count);
        // Per θ: the spread over trials and in how many trials it ends positive, from each trial's last row.
        var lastRows = rows.Rows.Where(r => r[rows.ColumnIndex("episode")] == "2").ToArray();
        var theta0 = lastRows.Select(r => double.Parse(r[rows.ColumnIndex("theta0")], System.Globalization.CultureInfo.InvariantCulture)).ToArray();
        Assert.Equal(theta0.Count(t => t > 0), summary.ThetaPositive[0]);
        Assert.Equal(theta0.Count(t => t == 0), summary.ThetaZero[0]);
        // No episode diverged: the mean with diverged episodes at chance is the plain mean.
        Assert.Equal((2, 0), (summary.FinalEpisodes, summary.FinalDiverged));
        Assert.Equal(summary.FinalAccuracyMean, summary.FinalAccuracyWithDivergedAtChance, 12);
        Assert.Equal(Math.Abs(theta0[0] - theta0[1]) / Math.Sqrt(2), summary.ThetaSd[0], 12);
        Assert.True(rows.HasColumn("theta9") && rows.HasColumn("angle_1") && rows.HasColumn("orth_1"));
        // A second run over the same folder recomputes nothing.
        var again = Load(text).Run(resume: true);
        Assert.Equal(6, RunFolder.Open(output).ReadEpisodes().Rows.Count);
        Assert.Equal(summary.ThetaMean, again.ThetaMean);
    }

    [Fact]
    public void A_run_given_more_episodes_continues_to_the_same_result_as_a_longer_run_and_nothing_else_may_change()
    {
        string Text(string output, int episodes, int trials = 2) =>
            $"experiment ff_extend\n  rule = rules/bio.rule bio\n  layers = 784 12 5\n  data = fashion-mnist:subset\n" +
            $"  train = 3\n  query = 2\n  episodes = {episodes}\n  trials = {trials}\n  output = {output}\n";
        var straight = Directory.CreateTempSubdirectory().FullName;
        var full = Load(Text(straight, 5)).Run(resume: false);
        var extended = Directory.CreateTempSubdirectory().FullName;
        Load(Text(extended, 2)).Run(resume: false);
        // Without --resume a changed experiment is refused; with it, only a larger episodes is accepted.
        Assert.Throws<ResultsException>(() => Load(Text(extended, 5)).Run(resume: false));
        Assert.Throws<ResultsException>(() => Load(Text(extended, 5, trials: 3)).Run(resume: true));
        var longer = Load("# a comment changes nothing\n" + Text(extended, 5)).Run(resume: true);
        Assert.Equal(full.ThetaMean, longer.ThetaMean);
        Assert.Equal(10, RunFolder.Open(extended).ReadEpisodes().Rows.Count);
        // The same rows (trials run in parallel, so their order in the file may differ).
        Assert.Equal(RunFolder.Open(straight).ReadEpisodes().Doubles("meta_loss").Order(), RunFolder.Open(extended).ReadEpisodes().Doubles("meta_loss").Order());
        Assert.Contains("episodes_from", File.ReadAllText(Path.Combine(extended, RunFolder.RunFile)));
    }

    [Fact]
    public void A_run_whose_text_changed_only_in_comments_and_layout_resumes_and_a_changed_setting_is_refused()
    {
        var output = Directory.CreateTempSubdirectory().FullName;
        string Text(string header, string sep = " = ", int seed = 42) =>
            $"{header}experiment ff_retext\n  rule{sep}rules/bio.rule bio\n  layers{sep}784 12 5\n  data{sep}fashion-mnist:subset\n" +
            $"  train{sep}3\n  query{sep}2\n  episodes{sep}2\n  trials{sep}1\n  seed{sep}{seed}\n  output{sep}{output}\n";
        var first = Load(Text("# first wording\n")).Run(resume: false);
        var reworded = Text("# reworded, and the = signs realigned\n# over two lines\n", sep: "       =   ");
        // Without --resume it is the usual "already holds a run"; with it, nothing is recomputed.
        Assert.Throws<InvalidOperationException>(() => Load(reworded).Run(resume: false));
        var again = Load(reworded).Run(resume: true);
        Assert.Equal(first.ThetaMean, again.ThetaMean);
        Assert.Equal(2, RunFolder.Open(output).ReadEpisodes().Rows.Count);
        // The text that ran stays on record; a changed setting is another experiment.
        Assert.Contains("first wording", RunFolder.Open(output).ExperimentText);
        var e = Assert.Throws<ResultsException>(() => Load(Text("# first wording\n", seed: 43)).Run(resume: true));
        Assert.Contains("different experiment", e.Message);
    }

    [Fact]
    public void A_feedforward_experiment_with_one_rule_per_layer_runs_and_reports_each_layers_rule()
    {
        var output = Directory.CreateTempSubdirectory().FullName;
        var root = Repo.Root;
        var text = $"experiment ff_layers\n  rule = {Path.Combine(root, "rules", "table1.rule")} f0, ehebb, ehebb\n  layers = 784 10 8 5\n  data = fashion-mnist:subset\n" +
                   $"  train = 3\n  query = 2\n  episodes = 2\n  trials = 1\n  output = {output}\n";
        var file = Path.Combine(Directory.CreateTempSubdirectory().FullName, "x.experiment");
        File.WriteAllText(file, text);
        // Through the same loader as `ruledsl run`.
        var loaded = ExperimentInput.Rules(FileSystemModule.disk, file);
        Assert.True(loaded.IsOk);
        var (spec, rules, _) = loaded.ResultValue;
        Assert.Equal(["f0", "ehebb", "ehebb"], rules.Select(r => r.Name));
        var session = new ExperimentSession(spec, rules.ToList(), text);
        Assert.Equal(["theta0", "theta2"], session.Theta.Names);
        var summary = session.Run(resume: false);
        Assert.Equal(2, summary.ThetaMean.Length);
        Assert.Contains("layer 1 (f0): dW = ", summary.Discovered);
        Assert.Contains("layer 2,3 (ehebb): dW = ", summary.Discovered);
        Assert.True(RunFolder.Open(output).ReadEpisodes().HasColumn("theta2"));
    }

    [Fact]
    public void A_recurrent_meta_learning_experiment_runs_on_dnms()
    {
        var output = Directory.CreateTempSubdirectory().FullName;
        var text = $"experiment rnn_smoke\n  setting = recurrent\n  rule = rules/neo_hebbian.rule neo_hebbian\n  task = dnms\n" +
                   $"  units = 8\n  horizon = 3\n  episodes = 2\n  trials = 1\n  lr = 0.01\n  output = {output}\n";
        var session = Load(text);
        var summary = session.Run(resume: false);
        Assert.Equal(9, summary.ThetaMean.Length);
        Assert.Contains(summary.ThetaMean, t => t != 0); // the meta-gradient moved θ
        Assert.Contains("dnms", summary.Data);
        // run.json names the setting by its word.
        Assert.Contains("\"Setting\": \"recurrent\"", File.ReadAllText(Path.Combine(output, RunFolder.RunFile)));
        // θ lives in the trace, so the discovered rule prints the trace with the learned θ, then ΔW.
        Assert.StartsWith("E' = ", summary.Discovered);
        Assert.Contains("; dW = 0.001 * E * (R - Rbar)", summary.Discovered);

        // The θ grid of the run, as the heat map draws it: θ[k,l] of the last episode at row k, column l.
        var grid = Runtime.Plots.RunPlots.ThetaGrid(RunFolder.Open(output).ReadEpisodes());
        Assert.NotNull(grid);
        for (int k = 0; k < 3; k++)
            for (int l = 0; l < 3; l++)
                Assert.Equal(summary.ThetaMean[Array.IndexOf(summary.Theta, $"theta[{k},{l}]")], grid.Value.Values[k, l], 12);
        Assert.Contains(Runtime.Plots.RunPlots.Standard(RunFolder.Open(output)), f => f.EndsWith("theta_grid.png"));
    }

    [Fact]
    public void A_batch_of_networks_per_meta_step_is_one_csv_row_and_resumes()
    {
        var output = Directory.CreateTempSubdirectory().FullName;
        var text = $"experiment rnn_batch\n  setting = recurrent\n  rule = rules/neo_hebbian.rule neo_hebbian\n  task = go-nogo\n" +
                   $"  units = 8\n  horizon = 3\n  episodes = 3\n  trials = 1\n  batch = 2\n  lr = 0.01\n  output = {output}\n";
        var full = Load(text).Run(resume: false);
        var rows = RunFolder.Open(output).ReadEpisodes();
        Assert.Equal(3, rows.Doubles("meta_loss").Length);
        Assert.True(rows.HasColumn("batch_failed"));

        // Interrupted after its first meta-step, then resumed: the same θ as the uninterrupted run.
        var again = text.Replace(output, Directory.CreateTempSubdirectory().FullName);
        using var cts = new CancellationTokenSource();
        Assert.ThrowsAny<OperationCanceledException>(() => Load(again).Run(resume: false, progress: _ => cts.Cancel(), cancel: cts.Token));
        var resumed = Load(again).Run(resume: true);
        Assert.Equal(full.ThetaMean, resumed.ThetaMean);
    }

    static string Mixed(string output, int batch) =>
        $"experiment rnn_mixed\n  setting = recurrent\n  rule = rules/neo_hebbian.rule miconi_anneal\n  task = go-nogo dnms\n" +
        $"  units = 8\n  learn_after = 0\n  horizon = 4\n  episodes = 2\n  trials = 1\n  batch = {batch}\n  lr = 0.01\n  output = {output}\n";

    [Fact]
    public void A_meta_step_over_two_tasks_learns_each_on_half_its_networks_and_logs_each()
    {
        var output = Directory.CreateTempSubdirectory().FullName;
        var session = Load(Mixed(output, batch: 2));
        Assert.Equal(["go-nogo", "dnms"], session.TaskNames);
        session.Run(resume: false);
        var rows = RunFolder.Open(output).ReadEpisodes();
        var (j, jGo, jDnms) = (rows.Doubles("J"), rows.Doubles("J_go-nogo"), rows.Doubles("J_dnms"));
        Assert.True(rows.HasColumn("accuracy_go-nogo") && rows.HasColumn("accuracy_dnms"));
        for (int i = 0; i < j.Length; i++) Assert.Equal((jGo[i] + jDnms[i]) / 2, j[i], 12);

        // Inner episode 0 of the first meta-step is a Go/NoGo network, 1 a DNMS one: the same runs,
        // number for number, as the one-task experiments' learners give at those episodes.
        double LoneJ(string task, int episode)
        {
            var lone = Load(Mixed("unused", 1).Replace("task = go-nogo dnms", $"task = {task}"));
            return lone.LoopFactory()(0).Run(lone.Theta.Initial, [], episode, default).Metrics["J"];
        }
        Assert.Equal(LoneJ("go-nogo", 0), jGo[0], 12);
        Assert.Equal(LoneJ("dnms", 1), jDnms[0], 12);
        Assert.NotEqual(jGo[0], jDnms[0]);
    }

    [Fact]
    public void A_task_mixture_has_exact_meta_gradients_on_each_of_its_tasks()
    {
        var session = Load(Mixed("unused", 2).Replace("horizon = 4", "horizon = 12"));
        var mixture = Assert.IsType<Runtime.Engine.Recurrent.TaskMixture>(session.LoopFactory()(0));
        double[] theta = [-1.2, -0.3, 0.4];
        for (int episode = 0; episode < 2; episode++)
        {
            Assert.Equal(session.TaskNames[episode], mixture.TaskOf(episode));
            var rows = session.GradientCheck(episode, theta);
            Assert.All(rows, r => Assert.True(r.Pass, $"{mixture.TaskOf(episode)} {r.Name}: tangent {r.Tangent:G10} vs finite difference {r.FiniteDifference:G10} ({r.RelativeError:G3})"));
            Assert.All(rows, r => Assert.True(Math.Abs(r.Tangent) > 1e-9, $"{r.Name}: the gradient is zero, so the check says nothing"));
        }
    }

    [Fact]
    public void Several_tasks_need_a_chosen_task_to_learn_alone_and_known_names()
    {
        // (An uneven batch is the parser's error: tests/bad/experiment_tasks.experiment.)
        var session = Load(Mixed("unused", 2));
        Assert.Contains("--task", Assert.Throws<ArgumentException>(() => session.RecurrentTask()).Message);
        var record = HeldOutLearning.Learn(session, session.Theta.Initial, "mixed", seed: 4, trials: 5, task: "dnms");
        Assert.Equal("dnms", record.Task);
        // At the experiment's `task` line (an ExperimentInputException, rendered with the line and a caret).
        var unknown = Assert.ThrowsAny<ArgumentException>(() => Load(Mixed("unused", 2).Replace("go-nogo dnms", "go-nogo dnmz")).LoopFactory());
        Assert.Contains("unknown task 'dnmz'", unknown.Message);
    }

    [Fact]
    public void Held_out_learning_records_every_trial_and_its_criterion()
    {
        var session = Load("experiment rnn_heldout\n  setting = recurrent\n  rule = rules/miconi.rule miconi\n  task = go-nogo\n  units = 12\n  output = unused\n");
        var records = HeldOutLearning.LearnAll([(session, [], "miconi")], [7, 8], trials: 150, task: "dnms");
        Assert.Equal(2, records.Count);
        foreach (var r in records)
        {
            Assert.Equal("dnms", r.Task); // the held-out task, not the experiment's
            Assert.Equal(150, r.Correct.Length);
            // Trials to criterion is the first n with ≥ 90 of trials n−99..n correct, recomputed here.
            int? expected = null;
            for (int n = 100; n <= r.Correct.Length && expected is null; n++)
                if (r.Correct.Skip(n - 100).Take(100).Count(c => c) >= 90) expected = n;
            Assert.Equal(expected, r.TrialsToCriterion);
        }
        // The same seed learns the same way (noise and task streams are seeded).
        var again = HeldOutLearning.Learn(session, [], "miconi", 7, 150, "dnms");
        Assert.Equal(records.Single(r => r.Seed == 7).Correct, again.Correct);
    }

    [Fact]
    public void The_criterion_settings_set_what_trials_to_criterion_counts()
    {
        var session = Load("experiment rnn_criterion\n  setting = recurrent\n  rule = rules/miconi.rule miconi\n  task = dnms\n  units = 12\n"
            + "  criterion = 0.6\n  criterion_window = 10\n  output = unused\n");
        Assert.Equal((0.6, 10), (session.RecurrentConfig().Criterion, session.RecurrentConfig().CriterionWindow));
        var r = HeldOutLearning.Learn(session, [], "miconi", seed: 7, trials: 150);
        // The first n with ≥ 6 of trials n−9..n correct (not the default 90 of 100).
        int? expected = null;
        for (int n = 10; n <= r.Correct.Length && expected is null; n++)
            if (r.Correct.Skip(n - 10).Take(10).Count(c => c) >= 6) expected = n;
        Assert.True(expected is not null, $"{r.Failure}; {r.Correct.Count(c => c)} of {r.Correct.Length} correct");
        Assert.Equal(expected, r.TrialsToCriterion);
        // Rules are compared by trials to criterion: two experiments that count it differently are refused.
        var usual = Load("experiment rnn_usual\n  setting = recurrent\n  rule = rules/miconi.rule miconi\n  task = dnms\n  units = 12\n  output = unused\n");
        var differ = Assert.Throws<ArgumentException>(() => HeldOutLearning.LearnAll([(session, [], "a"), (usual, [], "b")], [7], trials: 5, task: null));
        Assert.Contains("a: 0.6 of 10, b: 0.9 of 100", differ.Message);
    }

    [Fact]
    public void The_spec_words_reach_the_runtime_as_their_cases()
    {
        var session = Load("experiment words\n  setting = recurrent\n  rule = rules/miconi.rule miconi\n  units = 12\n  estimator = reinforce\n"
            + "  on_divergence = shrink\n  penalty = l1\n  lambda = 0.01\n  penalty_step = proximal\n  backend = interpreter\n  xbar = carry\n  readout = after\n  output = unused\n");
        var meta = session.MetaSettings();
        Assert.Equal(GradientEstimator.Reinforce, meta.Estimator);
        Assert.Equal(DivergencePolicy.Shrink, meta.OnDivergence);
        Assert.Equal(new Runtime.Meta.Penalty(PenaltyKind.L1, 0.01), meta.Penalty);
        Assert.True(meta.ProximalL1);
        Assert.IsType<Runtime.Kernels.InterpretedBackend>(session.Backend());
        Assert.True(session.RecurrentConfig() is { CarryAverage: true, ReadoutAfterStep: true });
        Assert.Equal("reinforce", session.Spec.Estimator.ToString());
    }

    [Fact]
    public void Precision_float32_gives_a_float32_compiled_backend_and_float64_analyses()
    {
        var session = Load("experiment single\n  setting = recurrent\n  rule = rules/miconi.rule miconi\n  units = 12\n  precision = float32\n  output = unused\n");
        Assert.Equal(Precision.Float32, session.Spec.Precision);
        Assert.Equal(Precision.Float32, Assert.IsType<Runtime.Kernels.SimdBackend>(session.Backend()).Precision);
        Assert.Equal(Precision.Float64, session.Backend(Precision.Float64).Precision);
        Assert.Contains(("precision", "float32"), RuleDsl.Syntax.Experiment.values(session.Spec).Select(v => (v.Item1, v.Item2)));
        var usual = Load("experiment usual\n  setting = recurrent\n  rule = rules/miconi.rule miconi\n  units = 12\n  output = unused\n");
        Assert.Equal(Precision.Float64, usual.Backend().Precision);
    }

    [Fact]
    public void Fewer_trials_to_criterion_is_a_one_sided_rank_test_with_unreached_runs_last()
    {
        LearningRecord R(string name, int? n) => new(name, "dnms", 0, new bool[3000], n);
        var fast = new[] { R("a", 400), R("a", 500), R("a", 600), R("a", 700), R("a", 800), R("a", 900) };
        var slow = new[] { R("b", 1500), R("b", 2000), R("b", null), R("b", null), R("b", 2500), R("b", 1000) };
        Assert.True(HeldOutLearning.Fewer(fast, slow).P < 0.01);
        Assert.True(HeldOutLearning.Fewer(slow, fast).P > 0.9);
        Assert.Equal(3001, R("b", null).RankValue);
    }

    [Fact]
    public void The_paired_test_matches_seeds_and_sees_what_the_unpaired_one_misses()
    {
        // Seeds differ a lot (how good the initial network is), the rule a little: a is 30 trials
        // faster on every seed. Pairing by seed sees it; ranking all runs together does not.
        LearningRecord R(string name, int seed, int n) => new(name, "go-nogo", seed, new bool[3000], n);
        var seeds = Enumerable.Range(0, 12).ToArray();
        var a = seeds.Select(s => R("a", s, 200 + 150 * s - 30)).ToArray();
        var b = seeds.Reverse().Select(s => R("b", s, 200 + 150 * s)).ToArray(); // order does not matter
        var (test, faster, slower, tied, median) = HeldOutLearning.FewerPaired(a, b);
        Assert.Equal((12, 0, 0, -30.0), (faster, slower, tied, median));
        Assert.True(test.P < 0.001, $"paired p = {test.P}");
        Assert.True(HeldOutLearning.Fewer(a, b).P > 0.3);
        // Only shared seeds pair; none shared is an error, not p = 1.
        Assert.Equal(6, HeldOutLearning.FewerPaired(a.Take(6), b).Test.N);
        Assert.Throws<ArgumentException>(() => HeldOutLearning.FewerPaired(a.Take(3), b.Where(r => r.Seed > 5)));
    }

    [Fact]
    public void A_learning_log_reads_back_every_finished_network_and_drops_a_cut_line()
    {
        var session = Load("experiment rnn_log\n  setting = recurrent\n  rule = rules/miconi.rule miconi\n  task = go-nogo\n  units = 12\n  output = unused\n");
        var records = HeldOutLearning.LearnAll([(session, [], "miconi")], [3, 4], trials: 120, task: null);
        string dir = Path.Combine(Path.GetTempPath(), $"ruledsl-learnlog-{Environment.ProcessId}");
        Directory.CreateDirectory(dir);
        string csv = Path.Combine(dir, "learning.csv"), bits = Path.Combine(dir, "learning_trials.csv");
        using (var c = new StreamWriter(csv))
        using (var t = new StreamWriter(bits))
        {
            c.WriteLine(LearningLog.CsvHeader); t.WriteLine(LearningLog.TrialsHeader);
            foreach (var r in records) LearningLog.Append(c, t, r);
            t.Write("miconi,go-nogo,5,0101"); // a network interrupted while its line was written
        }
        var back = LearningLog.Read(csv, bits, new HashSet<string> { "miconi" }, new HashSet<int> { 3, 4, 5 }, 120);
        Assert.Equal(2, back.Count);
        foreach (var r in records)
        {
            var b = back.Single(x => x.Seed == r.Seed);
            Assert.Equal((r.Name, r.Task, r.TrialsToCriterion, r.Failure), (b.Name, b.Task, b.TrialsToCriterion, b.Failure));
            Assert.Equal(r.Correct, b.Correct);
        }
        // Another trial count is another comparison: nothing is read back.
        Assert.Empty(LearningLog.Read(csv, bits, new HashSet<string> { "miconi" }, new HashSet<int> { 3, 4 }, 200));
        Directory.Delete(dir, true);
    }

    [Fact]
    public void A_network_written_as_a_model_file_has_exact_meta_gradients()
    {
        // tanh units and a feedback pass halfway between FA and BP, defined in text only.
        var session = Load("experiment custom\n  model = ../models/tanh_mixed.model\n  feedback = half\n  rule = rules/bio.rule bio\n" +
                           "  layers = 784 9 7 5\n  data = fashion-mnist:subset\n  train = 3\n  query = 2\n  output = unused\n");
        Assert.Equal("tanh_mixed", ((LoadedModel.FeedforwardNet)session.Model).Item.Name);
        var rows = session.GradientCheck(episode: 0, theta: [0.05, 0.02, -0.01]);
        Assert.All(rows, r => Assert.True(r.Pass, $"{r.Name}: tangent {r.Tangent:G10} vs finite difference {r.FiniteDifference:G10} ({r.RelativeError:G3})"));
        Assert.Contains(rows, r => Math.Abs(r.Tangent) > 1e-6);
    }

    /// The shipped Miconi-form rules, through 15 learning trials of a small network, at a point away
    /// from Miconi's (θ_R ≠ 0 opens the reward factor's power): tangents equal central differences.
    [Theory]
    [InlineData("miconi_pruned", new[] { -1.2, -0.3 })]
    [InlineData("miconi_anneal", new[] { -1.2, -0.3, 0.4 })]
    public void Miconi_form_rules_from_their_text_have_exact_meta_gradients_through_learning(string rule, double[] theta)
    {
        var session = Load($"experiment gc\n  setting = recurrent\n  rule = rules/neo_hebbian.rule {rule}\n  task = go-nogo\n" +
                           "  units = 12\n  learn_after = 0\n  horizon = 15\n  seed = 3\n  output = unused\n");
        var rows = session.GradientCheck(episode: 0, theta: theta);
        Assert.Equal(theta.Length, rows.Count);
        Assert.All(rows, r => Assert.True(r.Pass, $"{r.Name}: tangent {r.Tangent:G10} vs finite difference {r.FiniteDifference:G10} ({r.RelativeError:G3})"));
        Assert.All(rows, r => Assert.True(Math.Abs(r.Tangent) > 1e-9, $"{r.Name}: the gradient is zero, so the check says nothing"));
    }

    [Fact]
    public void Accuracy_vs_samples_trains_fresh_networks_per_point_reproducibly()
    {
        var session = Load("experiment samples\n  rule = rules/fa.rule fa\n  feedback = bp\n  layers = 784 12 5\n  data = fashion-mnist:subset\n  query = 4\n  output = unused\n");
        var points = SampleCurve.Measure(session, [0.05], "bp", [2, 20], networks: 3);
        Assert.Equal(6, points.Count);
        Assert.All(points, p => Assert.InRange(p.Accuracy, 0, 1));
        Assert.Equal(points.Select(p => p.Accuracy), SampleCurve.Measure(session, [0.05], "bp", [2, 20], networks: 3).Select(p => p.Accuracy));
        // More samples train the network further: with BP and 20 samples per class it beats chance on average.
        Assert.True(points.Where(p => p.SamplesPerClass == 20).Average(p => p.Accuracy) > 0.3);
    }

    [Fact]
    public void A_network_that_explodes_in_held_out_learning_is_a_failed_run_not_an_error()
    {
        var session = Load("experiment explode\n  setting = recurrent\n  rule = rules/neo_hebbian.rule neo_hebbian4\n  task = go-nogo\n  units = 10\n  output = unused\n");
        var theta = Enumerable.Repeat(1e4, 16).ToArray();
        var record = HeldOutLearning.Learn(session, theta, "huge", seed: 3, trials: 200);
        Assert.NotNull(record.Failure);
        Assert.Null(record.TrialsToCriterion);
        Assert.Equal(201, record.RankValue);
    }
}
