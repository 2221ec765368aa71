using Microsoft.FSharp.Collections;
using Microsoft.FSharp.Core;
using RuleDsl.Semantics;
using RuleDsl.Symbolic;
using RuleDsl.Syntax;

namespace RuleDsl.Cli;

/// <summary>What `ruledsl` returns: 0 success, 1 a derivative (or meta-gradient) failed its numerical
/// check, 2 errors in the input, 3 a run stopped because its episodes diverged (or has no finite number to show).</summary>
public static class ExitCodes
{
    public const int Ok = 0;
    public const int CheckFailed = 1;
    public const int InputError = 2;
    public const int Diverged = 3;
}

/// <summary>The front-end commands — `derive`, `check`, `eval`, `vars` — and an experiment's
/// `--check`: each calls the language library and renders what it returns. Public so that the
/// language's tests run exactly what the command line runs, with their own writers and files.</summary>
public static class LanguageCommands
{
    static void Show(TextWriter err, params Problems[] problems) => err.Write(ProblemsModule.Render(problems));
    static void Show(TextWriter err, IEnumerable<Problems> problems) => err.Write(ProblemsModule.Render(problems));

    /// "Did you mean" for a rule named with --rule.
    static readonly FSharpFunc<string, string> RuleHint = FuncConvert.FromFunc<string, string>(n => $"did you mean --rule {n}?");

    static bool IsModel(string f) => f.EndsWith(".model", StringComparison.Ordinal);

    /// A .model file read and checked; its errors and warnings printed.
    static LoadedModel? ReadModel(FileSystem fs, TextWriter err, string path)
    {
        var loaded = ExperimentInput.ReadModel(fs, Loader.normalize(path), MapModule.Empty<string, double>());
        if (loaded.IsError) { Show(err, loaded.ErrorValue); return null; }
        Show(err, loaded.ResultValue.Item2);
        return loaded.ResultValue.Item1;
    }

    /// `ruledsl derive FILE [--rule NAME] [--latex]`: the rule and every derived tangent equation; for a
    /// .model file each equation and the tangent equation the engine propagates through it.
    public static int Derive(FileSystem fs, TextWriter @out, TextWriter err, string file, string? ruleName, bool latex)
    {
        if (IsModel(file))
        {
            if (ReadModel(fs, err, file) is not { } model) return ExitCodes.InputError;
            foreach (var (name, e) in ModelFile.Equations(model))
            {
                var d = Simplify.simplify(Differentiate.differential(ExprModule.symbols(e), e));
                if (latex)
                {
                    @out.WriteLine($"\\text{{{name}}}: \\quad {Print.Latex(e)}");
                    @out.WriteLine($"\\delta(\\text{{{name}}}) = {Print.Latex(d)}");
                }
                else
                {
                    @out.WriteLine($"{name} = {Print.Text(e)}");
                    @out.WriteLine($"  δ({name}) = {Print.Text(d)}");
                }
            }
            return ExitCodes.Ok;
        }
        var result = Check.CheckFiles(fs, ListModule.OfSeq([file]));
        Show(err, ProblemsModule.OfProgram(result.Program, result.Diagnostics));
        var selected = ExperimentInput.SelectRules(RuleHint, result, file, ruleName);
        if (selected.IsError)
        {
            Show(err, ProblemsModule.OfProgram(result.Program, ListModule.OfSeq([selected.ErrorValue])));
            return ExitCodes.InputError;
        }
        bool first = true;
        foreach (var rule in selected.ResultValue)
        {
            if (!first) @out.WriteLine();
            first = false;
            var d = Semantics.Derive.Derive(rule);
            @out.Write(latex ? Semantics.Derive.RenderLatex(d) : Semantics.Derive.RenderText(d));
        }
        return result.HasErrors ? ExitCodes.InputError : ExitCodes.Ok;
    }

    /// `ruledsl eval FILE --rule NAME --at POINT.json`: values of the update and its derivatives, as JSON.
    public static int Eval(FileSystem fs, TextWriter @out, TextWriter err, string file, string? ruleName, string pointFile)
    {
        var result = Check.CheckFiles(fs, ListModule.OfSeq([file]));
        Show(err, ProblemsModule.OfProgram(result.Program, result.Diagnostics));
        if (result.HasErrors) return ExitCodes.InputError;
        int Fail(Diagnostic d)
        {
            Show(err, ProblemsModule.OfProgram(result.Program, ListModule.OfSeq([d])));
            return ExitCodes.InputError;
        }
        var key = Loader.normalize(file);
        var selected = ExperimentInput.SelectRules(RuleHint, result, file, ruleName);
        if (selected.IsError) return Fail(selected.ErrorValue);
        var rules = selected.ResultValue;
        if (rules.IsEmpty) return Fail(DiagnosticModule.inFile(Codes.NoSuchRule, key, "the file defines no rules"));
        if (rules.Length > 1)
            return Fail(DiagnosticModule.inFile(Codes.NoSuchRule, key,
                $"the file defines {rules.Length} rules; choose one with --rule ({string.Join(", ", rules.Select(r => r.Name))})"));
        var rule = rules.Head;
        var pointKey = Loader.normalize(pointFile);
        var text = fs.Read.Invoke(pointKey);
        if (text is null)
            return Fail(DiagnosticModule.inFile(Codes.FileNotFound, pointKey, "cannot read this file (it does not exist or is not readable)"));
        // Point files get the same source display as rule files.
        var point = PointEval.readPoint(pointKey, text.Value, rule);
        if (point.IsError)
        {
            Show(err, ProblemsModule.OfText(pointKey, text.Value, result.Program, point.ErrorValue));
            return ExitCodes.InputError;
        }
        Show(err, ProblemsModule.OfText(pointKey, text.Value, result.Program, point.ResultValue.Item2));
        @out.WriteLine(PointEval.Evaluate(rule, point.ResultValue.Item1));
        return ExitCodes.Ok;
    }

    /// `ruledsl vars`: the variables of each setting, with shapes and what they are.
    public static int Vars(TextWriter @out)
    {
        foreach (var setting in new[] { Setting.Feedforward, Setting.Recurrent })
        {
            @out.WriteLine($"{Variables.settingName(setting)} rules read:");
            foreach (var v in Variables.ofSetting(setting))
                @out.WriteLine($"  {v.Name,-10} {v.Shape,-18} {v.Doc}");
            @out.WriteLine();
        }
        @out.WriteLine("rules of either setting also read their own traces (trace E' = ... or trace E += ...): post×pre, post or pre.");
        @out.WriteLine("W is post × pre: rows are postsynaptic neurons, columns presynaptic ones.");
        return ExitCodes.Ok;
    }

    /// `ruledsl check FILE.model`: the model's equations checked, then every tangent it yields verified.
    static int CheckModels(FileSystem fs, ProblemReport report, IReadOnlyList<string> files)
    {
        bool inputError = false;
        var rows = new List<CheckRow>();
        foreach (var f in files)
        {
            var loaded = ExperimentInput.ReadModel(fs, Loader.normalize(f), MapModule.Empty<string, double>());
            if (loaded.IsError) { report.Show(loaded.ErrorValue); inputError = true; continue; }
            report.Show(loaded.ResultValue.Item2);
            var m = loaded.ResultValue.Item1;
            report.Text.WriteLine($"{f}: model with {string.Join(", ", ModelFile.Equations(m).Select(e => e.Item1))}");
            rows.AddRange(ModelFile.Verify(f, m));
        }
        if (rows.Count > 0) report.Text.WriteLine(CheckTableText.Text(rows));
        foreach (var r in rows.Where(r => !r.Passed)) report.Failed(r);
        return inputError ? ExitCodes.InputError : rows.Any(r => !r.Passed) ? ExitCodes.CheckFailed : ExitCodes.Ok;
    }

    /// Rule and model files for `ruledsl check`: parse and check, then verify every derivative numerically.
    public static int CheckRulesAndModels(FileSystem fs, TextWriter @out, TextWriter err, IReadOnlyList<string> files, bool json) =>
        CheckRulesAndModels(fs, @out, new ProblemReport(DiagnosticFormat.Human, @out, err), files, json);

    /// The same, problems shown as <paramref name="report"/> shows them; the table as JSON on
    /// <paramref name="out"/> with <paramref name="json"/>.
    public static int CheckRulesAndModels(FileSystem fs, TextWriter @out, ProblemReport report, IReadOnlyList<string> files, bool json)
    {
        var models = files.Where(IsModel).ToList();
        var others = files.Where(f => !IsModel(f)).ToList();
        if (models.Count > 0 && others.Count == 0) return CheckModels(fs, report, models);
        int modelCode = models.Count == 0 ? ExitCodes.Ok : CheckModels(fs, report, models);
        var result = Check.CheckFiles(fs, ListModule.OfSeq(others));
        report.Show(ProblemsModule.OfProgram(result.Program, result.Diagnostics));
        var rows = result.Rules.SelectMany(Verify.VerifyRule).ToList();
        int errors = result.Diagnostics.Count(d => d.IsError);
        int warnings = result.Diagnostics.Length - errors;
        if (json)
        {
            @out.WriteLine(CheckTableText.Json(result.Files.Select(f => (f.Path, f.Rules.Select(r => r.Name))), rows, errors, warnings));
        }
        else
        {
            foreach (var f in result.Files)
                if (f.Rules.IsEmpty && errors == 0)
                    report.Text.WriteLine($"{f.Path}: no rules (its top-level definitions checked)");
            if (rows.Count > 0) report.Text.WriteLine(CheckTableText.Text(rows));
        }
        foreach (var r in rows.Where(r => !r.Passed)) report.Failed(r);
        if (errors > 0 || modelCode == ExitCodes.InputError) return ExitCodes.InputError;
        if (rows.Any(r => !r.Passed) || modelCode == ExitCodes.CheckFailed) return ExitCodes.CheckFailed;
        return ExitCodes.Ok;
    }

    /// The language's half of `ruledsl run FILE --check`: the experiment file, its rules and its model,
    /// summarised in one line.
    public static int CheckExperiment(FileSystem fs, TextWriter @out, TextWriter err, string file) =>
        CheckExperiment(fs, @out, new ProblemReport(DiagnosticFormat.Human, @out, err), file);

    /// The same, problems shown as <paramref name="report"/> shows them, the summary written to <paramref name="out"/>.
    public static int CheckExperiment(FileSystem fs, TextWriter @out, ProblemReport report, string file)
    {
        var loaded = ExperimentInput.Load(fs, file);
        if (loaded.IsError) { report.Show(loaded.ErrorValue); return ExitCodes.InputError; }
        var x = loaded.ResultValue;
        report.Show(x.Warnings);
        var spec = x.Spec;
        if (x.Rules.Length == 1)
        {
            var rule = x.Rules.Head;
            @out.WriteLine($"experiment {spec.Name}: {spec.Setting} rule {rule.Name} with {rule.Params.Length} parameters, {spec.Episodes} episodes × {spec.Trials} trials → {spec.Output}");
        }
        else
        {
            int ps = x.Rules.SelectMany(r => r.Params.Select(p => p.Symbol.Name)).Distinct().Count();
            @out.WriteLine($"experiment {spec.Name}: {spec.Setting} rules {string.Join(", ", x.Rules.Select(r => r.Name))} (one per layer) with {ps} parameters, {spec.Episodes} episodes × {spec.Trials} trials → {spec.Output}");
        }
        return ExitCodes.Ok;
    }

    /// `ruledsl check FILE...` as the language sees it: experiment files as CheckExperiment checks them,
    /// rule and model files by CheckRulesAndModels; the worst exit code wins. With --json, stdout holds
    /// only the JSON table and the experiments' one-line summaries go to stderr.
    public static int CheckFiles(FileSystem fs, TextWriter @out, TextWriter err, IReadOnlyList<string> files, bool json) =>
        CheckFiles(fs, @out, err, files, json, DiagnosticFormat.Human);

    /// The same with problems in <paramref name="format"/>: gcc lines or a JSON array alone on stdout.
    public static int CheckFiles(FileSystem fs, TextWriter @out, TextWriter err, IReadOnlyList<string> files, bool json, DiagnosticFormat format)
    {
        var report = new ProblemReport(format, @out, err);
        var experiments = files.Where(f => f.EndsWith(".experiment", StringComparison.Ordinal)).ToList();
        var others = files.Where(f => !f.EndsWith(".experiment", StringComparison.Ordinal)).ToList();
        var codes = experiments.Select(f => CheckExperiment(fs, json ? err : report.Text, report, f)).ToList();
        if (others.Count > 0) codes.Add(CheckRulesAndModels(fs, @out, report, others, json));
        report.Finish();
        return codes.DefaultIfEmpty(ExitCodes.Ok).Max();
    }
}
