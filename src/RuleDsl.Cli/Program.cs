using System.CommandLine;
using RuleDsl.Semantics;

namespace RuleDsl.Cli;

/// `ruledsl`: parse the command line, call the library, set the exit code. No logic lives here;
/// each command is one call into the library (LanguageCommands, RunCommands, AnalyseCommand render what it returns).
public static class Program
{
    /// Exit code for a bug in ruledsl itself (not in the user's input).
    const int InternalError = 70;

    public static int Main(string[] args)
    {
        try
        {
            return Run(args);
        }
        catch (Exception ex)
        {
            Console.Error.WriteLine($"internal error: {ex.GetType().Name}: {ex.Message}");
            Console.Error.WriteLine("this is a bug in ruledsl; please report it with the input that caused it");
            return InternalError;
        }
    }

    static int Run(string[] args)
    {
        var fs = FileSystemModule.disk;
        var stdout = Console.Out;
        var stderr = Console.Error;

        var root = new RootCommand(
            "ruledsl: write plasticity rules as text, see the sensitivities derived from them, check them numerically.");
        // The version result files record (run.json, summary.json, learn.json), not the host's.
        foreach (var v in root.Options.OfType<VersionOption>()) v.Action = new PrintVersion();

        // derive
        var deriveFile = new Argument<string>("file") { Description = "A .rule file." };
        var deriveRule = new Option<string>("--rule") { Description = "Derive only this rule (default: every rule in the file)." };
        var deriveLatex = new Option<bool>("--latex") { Description = "Print LaTeX (an align* environment per rule) instead of text." };
        var derive = new Command("derive",
            "Print a rule (parameters, constants, terms, update) and every derived tangent equation: " +
            "∂ΔW/∂θ for each parameter θ, the forward differential δ(ΔW), and the same for each trace's next value. " +
            "Each derived line names the source line it came from.")
        {
            deriveFile, deriveRule, deriveLatex,
        };
        derive.SetAction(pr => LanguageCommands.Derive(fs, stdout, stderr, pr.GetValue(deriveFile)!, pr.GetValue(deriveRule), pr.GetValue(deriveLatex)));

        // check
        var checkFiles = new Argument<string[]>("files") { Description = "One or more .rule, .model or .experiment files.", Arity = ArgumentArity.OneOrMore };
        var checkJson = new Option<bool>("--json") { Description = "Print the table of checks as JSON." };
        var checkFormat = new Option<string>("--format") { Description = "How to print problems: human (default: the line, a caret, a hint), gcc (file:line:col: error: RDxxxx message, one a line, for editors' problem matchers) or json (one array); gcc and json put only the problems on stdout." };
        checkFormat.AcceptOnlyFromAmong("human", "gcc", "json");
        var check = new Command("check",
            "Parse and check rule and model files (experiment files as `run --check` does), then verify every derived derivative against central finite differences " +
            "at a random point (relative error ≤ 1e-6 passes). Exit 0 when all pass, 1 when a check fails, 2 on errors in the input.")
        {
            checkFiles, checkJson, checkFormat,
        };
        check.SetAction(pr => RunCommands.Check(fs, pr.GetValue(checkFiles) ?? [], pr.GetValue(checkJson), ProblemReport.Parse(pr.GetValue(checkFormat)) ?? DiagnosticFormat.Human));

        // eval
        var evalFile = new Argument<string>("file") { Description = "A .rule file." };
        var evalRule = new Option<string>("--rule") { Description = "The rule to evaluate (needed when the file has several)." };
        var evalAt = new Option<string>("--at")
        {
            Description = "A JSON file of names → numbers / arrays / arrays of rows (matrices). Parameters default to their " +
                          "initial values; give tangents δX (e.g. \"δy_pre\") to get the differentials (missing tangents are zero).",
            Required = true,
        };
        var eval = new Command("eval", "Evaluate a rule's update, its derivative by each parameter and (with tangents) its forward differential at a point; print JSON.")
        {
            evalFile, evalRule, evalAt,
        };
        eval.SetAction(pr => LanguageCommands.Eval(fs, stdout, stderr, pr.GetValue(evalFile)!, pr.GetValue(evalRule), pr.GetValue(evalAt)!));

        // vars
        var vars = new Command("vars", "List the variables rules may read, per setting (feedforward, recurrent), with shapes and meaning.");
        vars.SetAction(_ => LanguageCommands.Vars(stdout));

        // run
        var runFile = new Argument<string>("file") { Description = "A .experiment file, or a .sweep file (every point of its grid)." };
        var runResume = new Option<bool>("--resume") { Description = "Continue an interrupted run from its output folder." };
        var runCheck = new Option<bool>("--check") { Description = "Only validate the experiment file and its rule; do not run." };
        var runPoint = new Option<string?>("--point") { Description = "A .sweep file: run only this point (its index, or its folder name)." };
        var runTask = new Option<int?>("--task") { Description = "A .sweep file: run unit I of the sweep's job array (the units of all points in order: point 0's trials first)." };
        var runTrial = new Option<int?>("--trial") { Description = "Run trial K alone, as one unit of a run split over processes (a Slurm array task): its own episodes.trialK.csv and checkpoint in the shared results folder; the last unit to finish merges the run (as `collect`)." };
        var runSet = SetOption();
        var run = new Command("run",
            "Run an experiment: meta-train the rule's θ over the given episodes and trials (trials in parallel), " +
            "writing episodes.csv row by row, checkpoints, and summary.json (with the discovered rule) to the output folder.")
        {
            runFile, runResume, runCheck, runTrial, runSet,
        };
        run.Add(runPoint);
        run.Add(runTask);
        run.SetAction(pr =>
        {
            var sets = pr.GetValue(runSet) ?? [];
            var file = pr.GetValue(runFile)!;
            // Every unit of a run must read the same text: an override belongs in the experiment file there.
            if (sets.Length > 0 && (Runtime.Experiments.SweepPlan.IsSweep(file) || pr.GetValue(runTrial) is not null))
            {
                stderr.WriteLine("ruledsl: error: --set is for one whole run: a sweep sets its own grid, and the units of a run split over processes (--trial) must all read the same experiment text; write the setting into the experiment file");
                return ExitCodes.InputError;
            }
            return Runtime.Experiments.SweepPlan.IsSweep(file)
                ? SweepCommands.Run(fs, file, pr.GetValue(runResume), pr.GetValue(runCheck), pr.GetValue(runPoint), pr.GetValue(runTrial), pr.GetValue(runTask))
                : pr.GetValue(runTrial) is { } trial && !pr.GetValue(runCheck)
                ? ClusterCommands.RunUnit(fs, file, trial, pr.GetValue(runResume))
                : RunCommands.Run(fs, file, pr.GetValue(runResume), pr.GetValue(runCheck), sets);
        });

        // submit, status, collect
        var subFiles = new Argument<string[]>("experiments") { Description = "Experiment files (each one's trials become one job array) or .sweep files (all points' trials as one job array).", Arity = ArgumentArity.OneOrMore };
        var subPartition = new Option<string?>("--partition") { Description = "The Slurm partition (queue) to run in (default: the cluster's default)." };
        var subTime = new Option<string?>("--time") { Description = "Time limit of each array task, one trial (e.g. 2:00:00; default: the partition's)." };
        var subCpus = new Option<int?>("--cpus-per-task") { Description = "CPUs per array task (default 1: a trial runs on one core)." };
        var subTool = new Option<string?>("--tool") { Description = "The ruledsl the nodes run (default: this one, by its full path; it must be reachable from the nodes)." };
        var subDry = new Option<bool>("--dry-run") { Description = "Print the sbatch script; write and submit nothing." };
        var subResume = new Option<bool>("--resume") { Description = "Submit only the units that are not done and not queued or running." };
        var submit = new Command("submit", "Run each experiment's trials as one Slurm job array: writes OUTPUT/slurm/array-N.sh (each task `ruledsl run EXP --trial $SLURM_ARRAY_TASK_ID --resume`, requeueable), submits it with sbatch and records the job in OUTPUT/slurm/jobs.json.")
        {
            subFiles, subPartition, subTime, subCpus, subTool, subDry, subResume,
        };
        submit.SetAction(pr =>
        {
            var request = new Runtime.Cluster.SlurmRequest(pr.GetValue(subPartition), pr.GetValue(subTime), pr.GetValue(subCpus));
            var files = pr.GetValue(subFiles) ?? [];
            var sweeps = files.Where(Runtime.Experiments.SweepPlan.IsSweep).ToList();
            var codes = sweeps.Select(f => SweepCommands.Submit(fs, f, request, pr.GetValue(subTool), pr.GetValue(subDry), pr.GetValue(subResume))).ToList();
            var experiments = files.Except(sweeps).ToList();
            if (experiments.Count > 0) codes.Add(ClusterCommands.Submit(fs, experiments, request, pr.GetValue(subTool), pr.GetValue(subDry), pr.GetValue(subResume)));
            return codes.DefaultIfEmpty(0).Max();
        });
        var stTarget = new Argument<string>("run") { Description = "An experiment file, a .sweep file (each point), or the results folder of a run by units." };
        var status = new Command("status", "Which units (trials) of a run are done, running, pending, failed or not started, with their episodes and Slurm job ids (from the results folder and squeue).") { stTarget };
        status.SetAction(pr => Runtime.Experiments.SweepPlan.IsSweep(pr.GetValue(stTarget)!)
            ? SweepCommands.EachPoint(fs, pr.GetValue(stTarget)!, ClusterCommands.Status) : ClusterCommands.Status(fs, pr.GetValue(stTarget)!));
        var coTarget = new Argument<string>("run") { Description = "An experiment file, a .sweep file (each point), or the results folder of a run by units." };
        var collect = new Command("collect", "Merge a run by units into episodes.csv and summary.json and print what a local run prints; refuses unfinished units and a run whose experiment, rules or model changed.") { coTarget };
        collect.SetAction(pr => Runtime.Experiments.SweepPlan.IsSweep(pr.GetValue(coTarget)!)
            ? SweepCommands.EachPoint(fs, pr.GetValue(coTarget)!, ClusterCommands.Collect) : ClusterCommands.Collect(fs, pr.GetValue(coTarget)!));
        root.Add(submit);
        root.Add(status);
        root.Add(collect);

        // settings
        var settings = new Command("settings", "List every setting an .experiment file may give, with its default and meaning (a Markdown table: docs/experiments.md's is this output).");
        settings.SetAction(_ =>
        {
            Console.WriteLine("| setting | default | meaning |");
            Console.WriteLine("|---|---|---|");
            foreach (var (key, def, meaning) in RuleDsl.Syntax.Experiment.schema)
                Console.WriteLine($"| `{key}` | {def} | {meaning} |");
            return 0;
        });
        root.Add(settings);

        // gradcheck
        var gcFile = new Argument<string>("file") { Description = "A .experiment file." };
        var gcEpisode = new Option<int>("--episode") { Description = "Which episode to check (default 0)." };
        var gcStep = new Option<double?>("--step") { Description = "Finite-difference step, relative to max(1, |θ|), Richardson-extrapolated from h and h/2 (default: 1e-1 … 1e-8 tried, the best-converged pair used, twice its disagreement the error estimate)." };
        var gcSet = SetOption();
        var gradcheck = new Command("gradcheck",
            "Check the meta-gradient of one episode: tangent propagation through the whole inner loop against central " +
            "finite differences of the meta-loss, per θ (relative error within the finite difference's own error estimate or ≤ 1e-6 passes; " +
            "with `precision = float32` the float32 tangents against differences of the float64 episode, ≤ 1e-3 passes; exit 1 if any fails).")
        {
            gcFile, gcEpisode, gcStep, gcSet,
        };
        gradcheck.SetAction(pr => RunCommands.GradCheck(fs, pr.GetValue(gcFile)!, pr.GetValue(gcEpisode), pr.GetValue(gcStep), pr.GetValue(gcSet) ?? []));

        // plot
        var plotRuns = new Argument<string[]>("runs") { Description = "One or more results folders.", Arity = ArgumentArity.OneOrMore };
        var plot = new Command("plot", "Draw the standard figures of each run (accuracy and meta-loss with 98 % bootstrap bands over trials, θ trajectories, alignment angles) as PNG files in the run folder.")
        {
            plotRuns,
        };
        plot.SetAction(pr => RunCommands.Plot(pr.GetValue(plotRuns) ?? []));

        // compare
        var cmpA = new Argument<string>("a") { Description = "A results folder (the rule expected to do better)." };
        var cmpB = new Argument<string>("b") { Description = "The results folder to compare against." };
        var cmpColumn = new Option<string>("--column") { Description = "The episodes.csv column to compare (default accuracy).", DefaultValueFactory = _ => "accuracy" };
        var cmpWindow = new Option<int>("--window") { Description = "Episodes per window (default 50).", DefaultValueFactory = _ => 50 };
        var cmpDiverged = new Option<double?>("--diverged") { Description = "Count each diverged episode as this value (e.g. chance accuracy 0.2 for 5 classes); by default diverged episodes are left out. The figures show measured episodes only." };
        var compare = new Command("compare", "Mann–Whitney U test per episode window between two runs: each trial's mean over the window is one sample; prints one-sided (A > B) and two-sided p-values and draws compare_vs_B_COLUMN.png and p_values_vs_B_COLUMN.png in A.")
        {
            cmpA, cmpB, cmpColumn, cmpWindow, cmpDiverged,
        };
        compare.SetAction(pr => RunCommands.Compare(pr.GetValue(cmpA)!, pr.GetValue(cmpB)!, pr.GetValue(cmpColumn)!, pr.GetValue(cmpWindow), pr.GetValue(cmpDiverged)));

        // run, learn, gradcheck: any setting of the experiment file given on the command line instead.
        Option<string[]> SetOption() => new("--set")
        {
            Description = "KEY=VALUE: use this value of an experiment setting instead of the file's (repeatable; checked like the file's own line; the run folder records it and --resume refuses a different one).",
            AllowMultipleArgumentsPerToken = false,
            Arity = ArgumentArity.ZeroOrMore,
        };

        // learn, analyse, samples: a run's θ only when it is meta-learned and of the rule as the files read now.
        Option<bool> InitialTheta() => new("--initial-theta")
        {
            Description = "Each rule at its initial θ (its `param` values), not θ meta-learned in its experiment's results folder (refused from a run that learned nothing, e.g. one that stopped for divergence).",
        };

        // analyse
        var anFiles = new Argument<string[]>("experiments") { Description = "Recurrent experiment files; each rule trains a fresh network (with θ from the experiment's results folder when it has been run).", Arity = ArgumentArity.OneOrMore };
        var anOut = new Option<string>("--out") { Description = "Folder for figures and tables (default results/analysis).", DefaultValueFactory = _ => "results/analysis" };
        var anTrial = new Option<int>("--trial") { Description = "Which trial's seed to train with (default 0).", DefaultValueFactory = _ => 0 };
        var anTrials = new Option<int?>("--trials") { Description = "Learning trials before the analysis (default: the experiment's horizon)." };
        var anTask = new Option<string?>("--task") { Description = "The task to learn and analyse (default: the experiment's; required when it meta-trains on several)." };
        var anInitial = InitialTheta();
        var analyse = new Command("analyse", "Train a network with each experiment's rule, then analyse it: trials to criterion, held-out accuracy, PCA of condition-averaged trajectories, fixed and slow points of the input-free dynamics (Jacobians from the IR), and CKA/RSA across rules; PNG and CSV files.")
        {
            anFiles, anOut, anTrial, anTrials, anTask, anInitial,
        };
        analyse.SetAction(pr => AnalyseCommand.Run(fs, pr.GetValue(anFiles) ?? [], pr.GetValue(anOut)!, pr.GetValue(anTrial), pr.GetValue(anTrials), pr.GetValue(anTask), pr.GetValue(anInitial)));

        // learn
        var lnFiles = new Argument<string[]>("experiments") { Description = "Recurrent experiment files; the first rule is tested against each other one.", Arity = ArgumentArity.OneOrMore };
        var lnSeeds = new Option<string>("--seeds") { Description = "Held-out seeds: a range 100-105 or a list \"1 2 3\" (default 100-105).", DefaultValueFactory = _ => "100-105" };
        var lnTrials = new Option<int>("--trials") { Description = "Learning trials per network (default 3000).", DefaultValueFactory = _ => 3000 };
        var lnTask = new Option<string?>("--task") { Description = "Run this task instead of the first experiment's (a held-out task)." };
        var lnWait = new Option<int?>("--learn-after") { Description = "Learning trials before any rule changes weights, for every rule alike (default: each experiment's learn_after)." };
        var lnOut = new Option<string>("--out") { Description = "Folder for learning.csv, learning_trials.csv and learning.png (default results/learn).", DefaultValueFactory = _ => "results/learn" };
        var lnResume = new Option<bool>("--resume") { Description = "Continue the comparison in --out: networks already learned there are read back, not learned again." };
        var lnInitial = InitialTheta();
        var lnUnits = new Option<int?>("--units") { Description = "Split the seeds into N contiguous units (for a cluster): with --unit K, learn unit K alone into OUT/units/unitK; with --collect, join the finished units into OUT; with --submit, run them as one Slurm job array." };
        var lnUnit = new Option<int?>("--unit") { Description = "With --units N: learn unit K (0 … N−1) alone." };
        var lnCollect = new Option<bool>("--collect") { Description = "With --units N: join the finished units and print the comparison a local `learn` prints." };
        var lnSubmit = new Option<bool>("--submit") { Description = "With --units N: submit the units (with --resume, the unfinished ones) as one Slurm job array." };
        var lnDry = new Option<bool>("--dry-run") { Description = "With --submit: print the sbatch script; write and submit nothing." };
        var lnPartition = new Option<string?>("--partition") { Description = "With --submit: the Slurm partition." };
        var lnTime = new Option<string?>("--time") { Description = "With --submit: the time limit of each unit (e.g. 2:00:00)." };
        var lnCpus = new Option<int?>("--cpus-per-task") { Description = "With --submit: CPUs per unit (default 1)." };
        var lnTool = new Option<string?>("--tool") { Description = "With --submit: the ruledsl the nodes run (default: this one, by its full path)." };
        var lnSet = SetOption();
        var learn = new Command("learn", "Fresh networks learning with each experiment's rule at fixed θ (its meta-learned θ when the experiment has been run) on held-out seeds and, with --task, a held-out task: trials to criterion (the experiment's `criterion`: by default ≥ 90 % correct over 100 successive trials) per seed, and one-sided tests that the first rule needs fewer trials than each other: Wilcoxon signed-rank paired by seed (every rule learns the same fresh network, trials and noise on a seed) and Mann–Whitney unpaired.")
        {
            lnFiles, lnSeeds, lnTrials, lnTask, lnOut, lnWait, lnResume, lnInitial, lnSet, lnUnits, lnUnit, lnCollect, lnSubmit, lnDry, lnPartition, lnTime, lnCpus, lnTool,
        };
        learn.SetAction(pr =>
        {
            var count = pr.GetValue(lnUnits);
            if (count is null && (pr.GetValue(lnUnit) is not null || pr.GetValue(lnCollect) || pr.GetValue(lnSubmit)))
            {
                stderr.WriteLine("ruledsl: error: --unit, --collect and --submit split the seeds into units: give their number with --units N");
                return ExitCodes.InputError;
            }
            if (count is int n && (pr.GetValue(lnUnit) is null ? 0 : 1) + (pr.GetValue(lnCollect) ? 1 : 0) + (pr.GetValue(lnSubmit) ? 1 : 0) != 1)
            {
                stderr.WriteLine("ruledsl: error: with --units N give one of --unit K, --collect or --submit");
                return ExitCodes.InputError;
            }
            var sets = pr.GetValue(lnSet) ?? [];
            if (count is not null && sets.Length > 0)
            {
                stderr.WriteLine("ruledsl: error: --set with --units: every unit must read the same experiment text; write the setting into the experiment file");
                return ExitCodes.InputError;
            }
            var units = count is int c ? new LearnCommand.Units(c, pr.GetValue(lnUnit), pr.GetValue(lnCollect), pr.GetValue(lnSubmit), pr.GetValue(lnDry),
                new Runtime.Cluster.SlurmRequest(pr.GetValue(lnPartition), pr.GetValue(lnTime), pr.GetValue(lnCpus)), pr.GetValue(lnTool)) : null;
            return LearnCommand.Run(fs, pr.GetValue(lnFiles) ?? [], pr.GetValue(lnSeeds)!, pr.GetValue(lnTrials), pr.GetValue(lnTask), pr.GetValue(lnOut)!, pr.GetValue(lnWait), pr.GetValue(lnResume), pr.GetValue(lnInitial), units, sets);
        });

        // samples
        var smFiles = new Argument<string[]>("experiments") { Description = "Feedforward experiment files; each rule at its meta-learned θ (when the experiment has been run) or its initial θ.", Arity = ArgumentArity.OneOrMore };
        var smN = new Option<string>("--samples") { Description = "Training samples per class, e.g. \"5,10,25,50,100\" (default).", DefaultValueFactory = _ => "5,10,25,50,100" };
        var smNets = new Option<int>("--networks") { Description = "Fresh networks per point (default 10).", DefaultValueFactory = _ => 10 };
        var smOut = new Option<string>("--out") { Description = "Folder for samples.csv and samples.png (default results/samples).", DefaultValueFactory = _ => "results/samples" };
        var smInitial = InitialTheta();
        var samples = new Command("samples", "Accuracy vs number of training samples (the paper's Fig. 1a): each rule at fixed θ trains fresh networks online on new episodes with n samples per class; query accuracy per n, mean and 98 % band over networks.")
        {
            smFiles, smN, smNets, smOut, smInitial,
        };
        samples.SetAction(pr => SamplesCommand.Run(fs, pr.GetValue(smFiles) ?? [], pr.GetValue(smN)!, pr.GetValue(smNets), pr.GetValue(smOut)!, pr.GetValue(smInitial)));
        root.Add(samples);

        // new rule|experiment
        var newCmd = new Command("new", "Write a commented template that checks and runs: `new rule NAME` writes NAME.rule, `new experiment NAME` NAME.experiment (NAME may carry a folder; an existing file is never overwritten).");
        foreach (var kind in new[] { "rule", "experiment" })
        {
            var newName = new Argument<string>("name") { Description = $"The {kind}'s name; the file is NAME.{kind}." };
            var newSetting = new Option<string>("--setting") { Description = "feedforward (default) or recurrent.", DefaultValueFactory = _ => "feedforward" };
            newSetting.AcceptOnlyFromAmong("feedforward", "recurrent");
            var sub = new Command(kind, $"Write NAME.{kind}, a commented {kind} of the setting.") { newName, newSetting };
            sub.SetAction(pr => NewCommand.Run(kind, pr.GetValue(newName)!, pr.GetValue(newSetting)!));
            newCmd.Add(sub);
        }
        root.Add(newCmd);

        root.Add(plot);
        root.Add(learn);
        root.Add(analyse);
        root.Add(compare);
        root.Add(run);
        root.Add(gradcheck);
        root.Add(derive);
        root.Add(check);
        root.Add(eval);
        root.Add(vars);

        var parsed = root.Parse(args);
        if (parsed.Errors.Count > 0)
        {
            // A mistyped command: System.CommandLine's three generic errors say less than one line can.
            if (args.Length > 0 && !args[0].StartsWith('-') && root.Subcommands.All(c => c.Name != args[0]))
            {
                var near = RuleDsl.Syntax.Suggest.nearest(args[0], root.Subcommands.Select(c => c.Name));
                stderr.WriteLine($"ruledsl: error: unknown command '{args[0]}'" + (near.IsEmpty ? "" : $"; did you mean {near.Head}?"));
                stderr.WriteLine("see ruledsl --help");
                return ExitCodes.InputError;
            }
            foreach (var e in parsed.Errors)
                stderr.WriteLine($"ruledsl: error: {e.Message}");
            stderr.WriteLine("see ruledsl --help");
            return ExitCodes.InputError;
        }
        return parsed.Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false });
    }

    /// `ruledsl --version`: 0.1.0+commit, as RuleDsl.Runtime.Results.ToolVersion gives it.
    sealed class PrintVersion : System.CommandLine.Invocation.SynchronousCommandLineAction
    {
        public override int Invoke(ParseResult parseResult)
        {
            Console.Out.WriteLine(Runtime.Results.ToolVersion.Text);
            return 0;
        }
    }
}
