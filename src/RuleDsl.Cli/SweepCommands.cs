using RuleDsl.Runtime.Cluster;
using RuleDsl.Runtime.Experiments;
using RuleDsl.Runtime.Results;
using RuleDsl.Semantics;

namespace RuleDsl.Cli;

/// `.sweep` files in `check`, `run`, `submit`, `status`, `collect`: load the sweep, call the library
/// for each point (an ordinary experiment), render.
static class SweepCommands
{
    static SweepPlan? Load(FileSystem fs, string file)
    {
        try { return SweepPlan.Load(fs, file); }
        catch (ExperimentInputException e)
        {
            Console.Error.WriteLine(e.Message);
            return null;
        }
    }

    static string Describe(SweepPointFile p) => $"point {p.Point.Index} ({string.Join(", ", p.Point.Values.Select(v => $"{v.Item1} = {v.Item2}"))})";

    /// The sweep's grid and every point checked as `run --check` checks an experiment, nothing written.
    public static int Check(FileSystem fs, string file)
    {
        var plan = Load(fs, file);
        if (plan is null) return ExitCodes.InputError;
        var withPoints = plan.WithPoints(fs);
        int code = 0;
        foreach (var p in plan.Points)
        {
            int c = RunCommands.CheckOnly(withPoints, p.File, TextWriter.Null);
            if (c != 0) Console.Error.WriteLine($"{file}: {Describe(p)} is not a valid experiment (above)");
            code = Math.Max(code, c);
        }
        if (code == 0) Console.WriteLine($"sweep {plan.Spec.Name}: {plan.Points.Count} points of {plan.BaseExperiment}, each a valid experiment; results in {plan.Spec.Output}/");
        return code;
    }

    /// `run SWEEP`: every point locally, one after the other (each point's trials in parallel);
    /// `--point P [--trial K]` one point (or one unit of it); `--task I` one unit of the sweep's array.
    public static int Run(FileSystem fs, string file, bool resume, bool checkOnly, string? point, int? trial, int? task)
    {
        if (checkOnly) return Check(fs, file);
        var plan = Load(fs, file);
        if (plan is null) return ExitCodes.InputError;
        try { plan.WriteExperiments(); }
        catch (Exception ex) when (ex is ResultsException or IOException or UnauthorizedAccessException) { return RunCommands.InputError(ex); }
        if (task is { } index)
        {
            var sessions = plan.Points.Select(p => RunCommands.Load(fs, p.File)).ToList();
            if (sessions.Any(s => s is null)) return ExitCodes.InputError;
            try
            {
                var (p, t) = plan.Task(sessions!, index);
                return ClusterCommands.RunUnit(fs, plan.Points[p].File, t, resume);
            }
            catch (ArgumentException ex) { return RunCommands.InputError(ex); }
        }
        if (point is not null)
        {
            SweepPointFile one;
            try { one = plan.Point(point); }
            catch (ArgumentException ex) { return RunCommands.InputError(ex); }
            return trial is { } k ? ClusterCommands.RunUnit(fs, one.File, k, resume) : RunCommands.Run(fs, one.File, resume, false);
        }
        int code = 0;
        foreach (var p in plan.Points)
        {
            Console.WriteLine($"== {plan.Spec.Name}: {Describe(p)} → {p.Point.Output}");
            code = Math.Max(code, trial is { } k ? ClusterCommands.RunUnit(fs, p.File, k, resume) : RunCommands.Run(fs, p.File, resume, false));
        }
        return code;
    }

    /// `submit SWEEP`: every point's unfinished units as one job array.
    public static int Submit(FileSystem fs, string file, SlurmRequest request, string? tool, bool dryRun, bool resume)
    {
        var plan = Load(fs, file);
        if (plan is null) return ExitCodes.InputError;
        try
        {
            // A dry run reads the points' experiments as they would be written; a submission writes them.
            var read = dryRun ? plan.WithPoints(fs) : fs;
            if (!dryRun) plan.WriteExperiments();
            var sessions = plan.Points.Select(p => RunCommands.Load(read, p.File)).ToList();
            if (sessions.Any(s => s is null)) return ExitCodes.InputError;
            var result = plan.Submit(sessions!, request, tool is null ? SbatchScript.DefaultTool() : SbatchScript.Quote(Path.GetFullPath(tool)), dryRun, resume);
            foreach (var s in result.Skipped) Console.WriteLine($"{plan.Spec.Name}: left alone: {s}");
            if (result.Units.Length == 0) Console.WriteLine($"{plan.Spec.Name}: nothing to submit: every unit is done or queued; `ruledsl collect {file}` merges the points");
            else if (dryRun) Console.Write(result.Script);
            else Console.WriteLine($"{plan.Spec.Name}: submitted units {SbatchScript.Ranges(result.Units)} of {plan.Points.Count} points as job array {result.Job} ({result.ScriptPath}); "
                + $"`ruledsl status {file}` follows it, `ruledsl collect {file}` merges each point");
            return 0;
        }
        catch (Exception ex) when (ex is ResultsException or ArgumentException or InvalidOperationException or IOException or SlurmException or UnauthorizedAccessException)
        {
            return RunCommands.InputError(ex);
        }
    }

    /// `status SWEEP` and `collect SWEEP`: the command on every point, in order; the worst exit code.
    public static int EachPoint(FileSystem fs, string file, Func<FileSystem, string, int> command)
    {
        var plan = Load(fs, file);
        if (plan is null) return ExitCodes.InputError;
        int code = 0;
        foreach (var p in plan.Points)
        {
            Console.WriteLine($"== {plan.Spec.Name}: {Describe(p)}");
            code = Math.Max(code, File.Exists(p.File) ? command(fs, p.File)
                : RunCommands.InputError(new ResultsException($"{p.File}: not written yet: the sweep has not been run or submitted")));
        }
        return code;
    }
}
