using RuleDsl.Runtime.Cluster;
using RuleDsl.Runtime.Data;
using RuleDsl.Runtime.Experiments;
using RuleDsl.Runtime.Results;
using RuleDsl.Semantics;

namespace RuleDsl.Cli;

/// `ruledsl run EXP --trial K`, `submit`, `status`, `collect`: a run's trials as units, alone or as a
/// Slurm job array; load, call the library, render.
static class ClusterCommands
{
    /// The errors these commands expect from bad input, a folder in the wrong state, or Slurm.
    static bool Expected(Exception ex) => ex is DataException or ResultsException or ArgumentException or InvalidOperationException
        or IOException or SlurmException or UnauthorizedAccessException;

    /// An experiment file, or a results folder of a run by units (whose run.json says where its
    /// experiment file is, and the working directory its `output` is relative to).
    static ExperimentSession? LoadRunOrExperiment(FileSystem fs, string target)
    {
        if (Directory.Exists(target))
        {
            var folder = RunFolder.Open(target);
            var file = folder.Entry("file") ?? throw new ResultsException($"{folder.File(RunFolder.RunFile)}: not a run by units (no \"file\"); give the experiment file instead");
            if (folder.Entry("workdir") is { } dir && Directory.Exists(dir)) Directory.SetCurrentDirectory(dir);
            var session = RunCommands.Load(fs, file);
            if (session is not null && Path.GetFullPath(session.Spec.Output) != folder.Dir)
                throw new ResultsException($"{file} now writes to {Path.GetFullPath(session.Spec.Output)}, not {folder.Dir}: its `output` changed since the run began");
            return session;
        }
        return RunCommands.Load(fs, target);
    }

    public static int RunUnit(FileSystem fs, string file, int trial, bool resume)
    {
        var session = RunCommands.Load(fs, file);
        if (session is null) return ExitCodes.InputError;
        using var cancel = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) => { e.Cancel = true; cancel.Cancel(); };
        var spec = session.Spec;
        try
        {
            Console.WriteLine($"experiment {spec.Name}: trial {trial} of {spec.Trials} × {spec.Episodes} episodes, rule {string.Join(", ", session.Rules.Select(r => r.Name))}");
            var outcome = session.RunUnit(trial, resume, RunCommands.Printer(session), cancel.Token);
            Console.WriteLine(outcome.AlreadyDone ? $"trial {trial} had finished already ({outcome.Rows} episodes)" : $"trial {trial} done: {outcome.Rows} episodes in {Path.GetFullPath(spec.Output)}");
            if (outcome.Stopped is { } why) Console.WriteLine($"trial {trial} stopped for divergence: {why}");
            if (outcome.Collected is { } summary) return RunCommands.Render(summary, spec, resume);
            Console.WriteLine("other trials are not done yet; `ruledsl status` shows them, `ruledsl collect` merges the run when they are");
            return outcome.Stopped is null ? 0 : ExitCodes.Diverged;
        }
        catch (OperationCanceledException)
        {
            Console.Error.WriteLine($"interrupted: trial {trial} continues from its checkpoint with `ruledsl run {file} --trial {trial} --resume`");
            return 130;
        }
        catch (Exception ex) when (Expected(ex)) { return RunCommands.InputError(ex); }
    }

    public static int Submit(FileSystem fs, IReadOnlyList<string> files, SlurmRequest request, string? tool, bool dryRun, bool resume)
    {
        int code = 0;
        foreach (var file in files)
        {
            var session = RunCommands.Load(fs, file);
            if (session is null) { code = ExitCodes.InputError; continue; }
            try
            {
                var result = session.Submit(request, tool is null ? SbatchScript.DefaultTool() : SbatchScript.Quote(Path.GetFullPath(tool)), dryRun, resume);
                foreach (var s in result.Skipped) Console.WriteLine($"{session.Spec.Name}: left alone: {s}");
                if (result.Units.Length == 0) { Console.WriteLine($"{session.Spec.Name}: nothing to submit: every unit is done or queued; `ruledsl collect {file}` merges a finished run"); continue; }
                if (dryRun) { Console.Write(result.Script); continue; }
                Console.WriteLine($"{session.Spec.Name}: submitted trials {SbatchScript.Ranges(result.Units)} as job array {result.Job} ({result.ScriptPath}); "
                    + $"`ruledsl status {file}` follows it, `ruledsl collect {file}` merges it");
            }
            catch (Exception ex) when (Expected(ex)) { code = RunCommands.InputError(ex); }
        }
        return code;
    }

    public static int Status(FileSystem fs, string target)
    {
        string dir = Directory.GetCurrentDirectory();
        try
        {
            var session = LoadRunOrExperiment(fs, target);
            if (session is null) return ExitCodes.InputError;
            var status = session.Status();
            Console.WriteLine($"{session.Spec.Name}: {status.Output}" + (status.Local ? " (a run of all trials at once, `ruledsl run`)" : ""));
            Console.WriteLine($"{"trial",6}  {"state",-12} {"episodes",10}  job");
            foreach (var u in status.Units)
                Console.WriteLine($"{u.Trial,6}  {u.State,-12} {$"{u.Rows}/{u.Episodes}",10}  {u.Job ?? "–"}" + (u.Stopped is { } why ? $"  (stopped for divergence: {why})" : ""));
            var counts = status.Units.GroupBy(u => u.State).Select(g => $"{g.Count()} {g.Key}");
            Console.WriteLine(string.Join(", ", counts));
            if (status.QueueNote is { } note) Console.Error.WriteLine($"warning: {note}");
            return 0;
        }
        catch (Exception ex) when (Expected(ex)) { return RunCommands.InputError(ex); }
        finally { Directory.SetCurrentDirectory(dir); }
    }

    public static int Collect(FileSystem fs, string target)
    {
        string dir = Directory.GetCurrentDirectory();
        try
        {
            var session = LoadRunOrExperiment(fs, target);
            if (session is null) return ExitCodes.InputError;
            var spec = session.Spec;
            Console.WriteLine($"experiment {spec.Name}: collecting {spec.Trials} trials × {spec.Episodes} episodes");
            return RunCommands.Render(session.Collect(), spec, resume: false);
        }
        catch (Exception ex) when (Expected(ex)) { return RunCommands.InputError(ex); }
        finally { Directory.SetCurrentDirectory(dir); }
    }
}
