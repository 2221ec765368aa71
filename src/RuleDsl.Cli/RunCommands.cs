using Microsoft.FSharp.Collections;
using RuleDsl.Runtime.Data;
using RuleDsl.Runtime.Experiments;
using RuleDsl.Runtime.Results;
using RuleDsl.Semantics;

namespace RuleDsl.Cli;

/// `ruledsl run` and `ruledsl gradcheck`: load, call the library, render progress and results.
static class RunCommands
{
    /// The experiment, its rules and its model, checked, with the `--set KEY=VALUE` overrides <paramref name="sets"/>
    /// written in; diagnostics printed. Null on bad input.
    internal static ExperimentSession? Load(FileSystem fs, string file, IReadOnlyList<string>? sets = null)
    {
        var loaded = ExperimentInput.LoadWith(fs, file, ListModule.OfSeq(sets ?? []));
        if (loaded.IsError)
        {
            Console.Error.Write(ProblemsModule.Render(loaded.ErrorValue));
            return null;
        }
        Console.Error.Write(ProblemsModule.Render(loaded.ResultValue.Warnings));
        return ExperimentSession.Of(loaded.ResultValue, fs);
    }

    /// Errors in the user's input or data (not bugs) end with exit code 2 and a plain message.
    static int InputError(string message)
    {
        Console.Error.WriteLine($"error: {message}");
        return ExitCodes.InputError;
    }

    /// As InputError; a setting the runtime cannot use comes rendered at its line already.
    internal static int InputError(Exception ex)
    {
        if (ex is not ExperimentInputException) return InputError(ex.Message);
        Console.Error.WriteLine(ex.Message);
        return ExitCodes.InputError;
    }

    /// `run --check`: the file, its rules and model (the language's check), then what only the
    /// runtime knows: that the data can be read and episodes drawn from it, that the tasks exist.
    /// The one-line summary goes to <paramref name="summaryTo"/> (stdout unless told).
    internal static int CheckOnly(FileSystem fs, string file, TextWriter? summaryTo = null) =>
        CheckOnly(fs, file, new ProblemReport(DiagnosticFormat.Human, Console.Out, Console.Error), summaryTo);

    static int CheckOnly(FileSystem fs, string file, ProblemReport report, TextWriter? summaryTo)
    {
        // The one-line summary is printed only when the runtime's check passes too.
        var summary = new StringWriter();
        int code = LanguageCommands.CheckExperiment(fs, summary, report, file);
        if (code != 0) return code;
        var loaded = ExperimentInput.Load(fs, file);
        if (loaded.IsError) { report.Show(loaded.ErrorValue); return ExitCodes.InputError; }
        var session = ExperimentSession.Of(loaded.ResultValue, fs);
        try { session.LoopFactory(); }
        catch (ExperimentInputException ex) { report.Show(ex.Diagnostic, ex.Message); return ExitCodes.InputError; }
        catch (Exception ex) when (ex is ArgumentException or DataException) { report.Error(file, ex.Message); return ExitCodes.InputError; }
        (summaryTo ?? Console.Out).Write(summary.ToString());
        return 0;
    }

    /// `ruledsl check FILE...`: experiment (and sweep) files as `run --check` checks them, the others by the
    /// language's check; the worst exit code wins. With --json the experiments' summaries go to stderr;
    /// with --format gcc|json the problems alone go to stdout, everything else to stderr.
    public static int Check(FileSystem fs, IReadOnlyList<string> files, bool json, DiagnosticFormat format = DiagnosticFormat.Human)
    {
        if (json && format != DiagnosticFormat.Human)
            return InputError("--json (the table of checks) and --format (the problems) are different outputs: give one");
        var report = new ProblemReport(format, Console.Out, Console.Error);
        var experiments = files.Where(f => f.EndsWith(".experiment", StringComparison.Ordinal)).ToList();
        var sweeps = files.Where(Runtime.Experiments.SweepPlan.IsSweep).ToList();
        var others = files.Except(experiments).Except(sweeps).ToList();
        var codes = experiments.Select(f => CheckOnly(fs, f, report, json ? Console.Error : report.Text)).ToList();
        // A sweep's problems are located in the sweep file and printed as people read them.
        codes.AddRange(sweeps.Select(f => SweepCommands.Check(fs, f)));
        if (others.Count > 0) codes.Add(LanguageCommands.CheckRulesAndModels(fs, Console.Out, report, others, json));
        report.Finish();
        return codes.DefaultIfEmpty(0).Max();
    }

    public static int Run(FileSystem fs, string file, bool resume, bool checkOnly, IReadOnlyList<string>? sets = null)
    {
        sets ??= [];
        if (checkOnly && sets.Count > 0)
        {
            // The overrides' own errors point at their --set; then the file is checked as if it said so.
            var overridden = ExperimentInput.LoadWith(fs, file, ListModule.OfSeq(sets));
            if (overridden.IsError) { Console.Error.Write(ProblemsModule.Render(overridden.ErrorValue)); return ExitCodes.InputError; }
            return CheckOnly(ExperimentInput.WithOverrides(fs, file, ListModule.OfSeq(sets)).ResultValue.Item1, file);
        }
        if (checkOnly) return CheckOnly(fs, file);
        var session = Load(fs, file, sets);
        if (session is null) return ExitCodes.InputError;
        using var cancel = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) => { e.Cancel = true; cancel.Cancel(); };
        var spec = session.Spec;
        try
        {
            Console.WriteLine($"experiment {spec.Name}: rule {string.Join(", ", session.Rules.Select(r => r.Name))} ({session.Theta.Count} θ), {spec.Setting}, " +
                              $"{spec.Trials} trials × {spec.Episodes} episodes, estimator {spec.Estimator}, backend {spec.Backend}" +
                              (spec.Precision.IsFloat32 ? ", float32" : ""));
            var summary = session.Run(resume, Printer(session), cancel.Token);
            return Render(summary, spec, resume);
        }
        catch (OperationCanceledException)
        {
            Console.Error.WriteLine($"interrupted: everything computed so far is in {spec.Output}; continue with `ruledsl run {file} --resume`");
            return 130;
        }
        catch (AggregateException ex) when (ex.InnerExceptions.All(e => e is TrialFailedException))
        {
            foreach (var e in ex.InnerExceptions) Console.Error.WriteLine($"error: {e.Message}");
            return 1;
        }
        catch (Exception ex) when (ex is DataException or ResultsException or ArgumentException or InvalidOperationException or IOException)
        {
            return InputError(ex);
        }
    }

    /// Progress lines as a run goes: the data once, each diverged episode, and a line every 2 s with the ETA.
    internal static Action<Progress> Printer(ExperimentSession session)
    {
        var spec = session.Spec;
        var last = DateTime.MinValue;
        return p =>
        {
            if (last == DateTime.MinValue) Console.WriteLine($"data: {session.DataMessage}");
            if (p.Failure is not null) Console.WriteLine($"  trial {p.Trial} episode {p.Episode}: diverged ({p.Failure}); "
                + (spec.OnDivergence.IsShrink ? "θ scaled by 0.9 toward zero" : "θ unchanged"));
            if ((DateTime.Now - last).TotalSeconds < 2 && p.Done < p.Total) return;
            last = DateTime.Now;
            var eta = p.Done == 0 ? TimeSpan.Zero : TimeSpan.FromSeconds(p.Elapsed.TotalSeconds / p.Done * (p.Total - p.Done));
            // A diverged episode measured nothing: say so rather than print NaN as if it were a number.
            var measured = p.Failure is null ? $"meta-loss {p.MetaLoss:F4}  accuracy {p.Accuracy:P1}" : "diverged";
            Console.WriteLine($"  [{p.Done,6}/{p.Total}] trial {p.Trial} episode {p.Episode}: {measured}  ETA {eta:hh\\:mm\\:ss}");
        };
    }

    /// The closing lines of a run, `collect` of a run by units alike: results folder, final accuracy,
    /// θ, the discovered rule, notes; exit 3 when a trial learned nothing.
    internal static int Render(ExperimentSession.RunSummary summary, RuleDsl.Syntax.ExperimentSpec spec, bool resume)
    {
        Console.WriteLine($"results: {Path.GetFullPath(spec.Output)}");
        foreach (var why in summary.Stopped) Console.WriteLine($"stopped for divergence: {why}");
        Console.WriteLine(summary.FinalFinite > 0
            ? $"final accuracy (last 10% of episodes): {summary.FinalAccuracyMean:P2} ± {summary.FinalAccuracySd:P2} (sd over trials and episodes)"
            : summary.FinalEpisodes == 0 ? "final accuracy (last 10% of episodes): none — the run stopped before them"
            : $"final accuracy (last 10% of episodes): none — none of its {summary.FinalEpisodes} episodes has a finite accuracy ({summary.FinalDiverged} diverged)");
        if (summary.FinalDiverged > 0)
            Console.WriteLine($"  {summary.FinalDiverged} of those {summary.FinalEpisodes} episodes diverged and are left out of it"
                + (double.IsFinite(summary.FinalAccuracyWithDivergedAtChance) ? $"; counting them at chance: {summary.FinalAccuracyWithDivergedAtChance:P2}" : ""));
        // θ where a run that learned nothing stopped is not a result: say so beside it.
        Console.WriteLine((summary.Discovered is null ? "θ (mean over trials; not meta-learned): " : "θ (mean over trials): ") + string.Join(", ", summary.Theta.Zip(summary.ThetaMean, (n, v) => $"{n} = {v:G4}")));
        if (summary.Trials > 1)
            Console.WriteLine($"θ per trial (mean ± sd over trials; in how many of {summary.Trials} positive{(summary.ThetaZero.Any(z => z > 0) ? ", and exactly 0" : "")}): "
                + string.Join(", ", summary.Theta.Select((n, r) => $"{n} = {summary.ThetaMean[r] + 0.0:G3} ± {summary.ThetaSd[r]:G2} ({summary.ThetaPositive[r]}"
                    + (summary.ThetaZero[r] > 0 ? $", {summary.ThetaZero[r]} at 0)" : ")"))));
        if (summary.Discovered is null)
            Console.WriteLine("no rule discovered: " + (summary.Stopped.Length > 0 ? "the run stopped for divergence, so its θ is where the trials stopped, not a meta-learned one"
                : string.Join("; ", summary.NotLearned)));
        else Console.WriteLine($"discovered rule: {summary.Discovered}");
        foreach (var term in summary.LeftOut) Console.WriteLine($"  left out: {term}");
        if (summary.Failures > 0) Console.WriteLine($"{summary.Failures} episodes diverged and were skipped");
        foreach (var w in summary.Warnings) Console.WriteLine($"note: {w}");
        if (summary.NotLearned.Length == 0) return 0;
        // A trial that stopped, or whose every episode diverged (max_diverged = 0), learned nothing: exit 3 either way.
        Console.Error.WriteLine(summary.Stopped.Length > 0
            ? $"error: {summary.Stopped.Length} of {summary.Trials} trials stopped for divergence (max_diverged = {spec.MaxDiverged}, on_divergence = {spec.OnDivergence}); {summary.Advice}"
            : $"error: {summary.NotLearned.Length} of {summary.Trials} trials learned nothing ({string.Join("; ", summary.NotLearned)}); {ExperimentSession.DivergenceAdvice}");
        if (resume) Console.Error.WriteLine("--resume does not continue a trial that stopped for divergence: change the experiment and run it into a new output folder");
        return ExitCodes.Diverged;
    }

    public static int Plot(string[] runs)
    {
        try
        {
            int code = 0;
            foreach (var dir in runs)
            {
                try
                {
                    foreach (var file in Runtime.Plots.RunPlots.Standard(RunFolder.Open(dir), Path.GetFileName(Path.TrimEndingDirectorySeparator(dir)),
                                 warn: w => Console.Error.WriteLine($"ruledsl: warning: {w}")))
                        Console.WriteLine(file);
                }
                // The other runs are still drawn; the exit code says one had nothing to show.
                catch (Runtime.Plots.NothingToPlotException ex)
                {
                    Console.Error.WriteLine($"error: {ex.Message}");
                    code = ExitCodes.Diverged;
                }
            }
            return code;
        }
        catch (Exception ex) when (ex is ResultsException or IOException or ArgumentException or Runtime.Plots.PlotException)
        {
            return InputError(ex.Message);
        }
    }

    public static int Compare(string a, string b, string column, int window, double? diverged = null)
    {
        try
        {
            var ra = RunFolder.Open(a);
            var rb = RunFolder.Open(b);
            var rows = RunComparison.Compare(ra, rb, column, window, diverged);
            if (rows.Count == 0)
            {
                // As plot: a comparison of runs with nothing measured in common is not a table of p-values.
                Console.Error.WriteLine($"ruledsl: nothing to compare: no episode window has a finite '{column}' in both {a} and {b}"
                    + (diverged is null ? " (diverged episodes are left out; --diverged V counts them as V, e.g. chance)" : ""));
                return ExitCodes.Diverged;
            }
            string na = Path.GetFileName(Path.TrimEndingDirectorySeparator(a)), nb = Path.GetFileName(Path.TrimEndingDirectorySeparator(b));
            Console.WriteLine($"{column}: {na} vs {nb}, Mann–Whitney U per window of {window} episodes (one sample per trial"
                + (diverged is { } d ? $"; diverged episodes count as {d:G4})" : "; diverged episodes left out)"));
            Console.WriteLine($"{"episodes",-12} {na,12} {nb,12} {"U",8} {"p (A > B)",11} {"p (two-sided)",14} {"diverged A",11} {"diverged B",11}");
            foreach (var r in rows)
                Console.WriteLine($"{$"{r.From}-{r.To}",-12} {r.MeanA,12:G4} {r.MeanB,12:G4} {r.U,8:G4} {r.PGreater,11:G3} {r.PTwoSided,14:G3} {r.DivergedA,11} {r.DivergedB,11}");
            var (curves, pValues) = RunComparison.DrawFigures(a, ra, na, rb, nb, column, w => Console.Error.WriteLine($"ruledsl: warning: {w}"));
            Console.WriteLine($"figures: {curves}, {pValues}");
            foreach (var caveat in RunComparison.Caveats(ra, rb, rows))
                Console.Error.WriteLine($"ruledsl: warning: {caveat}");
            return 0;
        }
        catch (Exception ex) when (ex is ResultsException or IOException or ArgumentException or Runtime.Plots.PlotException)
        {
            return InputError(ex.Message);
        }
    }

    public static int GradCheck(FileSystem fs, string file, int episode, double? step = null, IReadOnlyList<string>? sets = null)
    {
        var session = Load(fs, file, sets);
        if (session is null) return ExitCodes.InputError;
        try
        {
            var rows = session.GradientCheck(episode, step: step);
            Console.WriteLine($"meta-gradient of episode {episode} ({session.Spec.Name}, rule {session.Rule.Name}): tangent propagation vs central differences");
            Console.WriteLine(session.Spec.Precision.IsFloat32
                ? $"precision float32: float32 tangents vs differences of the float64 episode; a θ passes with relative error ≤ {Runtime.Meta.GradientCheck.Tolerance(session.Spec.Precision):G1} or within the finite difference's error"
                : $"precision float64: a θ passes with relative error ≤ {Runtime.Meta.GradientCheck.Tolerance(session.Spec.Precision):G1} or within the finite difference's error");
            // "fd error" is the finite difference's own estimated error: a θ fails only when the tangent
            // is further from it than that and than the tolerance.
            Console.WriteLine($"{"θ",-14} {"tangent",16} {"finite diff.",16} {"step",6} {"fd error",9} {"rel. error",10}  ");
            foreach (var r in rows)
                Console.WriteLine($"{r.Name,-14} {r.Tangent,16:G9} {r.FiniteDifference,16:G9} {r.Step,6:G1} {(double.IsNaN(r.ErrorEstimate) ? "–" : r.ErrorEstimate.ToString("G2")),9} {r.RelativeError,10:G3}  {(r.Pass ? "pass" : "FAIL")}");
            return rows.All(r => r.Pass) ? 0 : 1;
        }
        catch (Exception ex) when (ex is DataException or ArgumentException or InvalidOperationException or IOException)
        {
            return InputError(ex);
        }
    }
}
