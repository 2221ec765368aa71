namespace RuleDsl.Semantics

open System
open System.IO
open System.Text
open RuleDsl.Symbolic
open RuleDsl.Syntax

/// The front-end commands of `ruledsl`, as library calls: the CLI only parses arguments and calls
/// these, so a notebook (or a test) can run exactly what the command line runs.
/// Exit codes: 0 success, 1 a derivative failed its numerical check, 2 errors in the input,
/// 3 a run stopped because its episodes diverged (or has no finite number to show).
module Commands =
    let exitOk = 0
    let exitCheckFailed = 1
    let exitInputError = 2
    let exitDiverged = 3

    let private writeDiagnostics (err: TextWriter) (program: Program) (ds: Diagnostic list) =
        for d in ds do
            err.WriteLine (Diagnostic.render program.LineOf d)
        if not ds.IsEmpty then err.WriteLine (Diagnostic.summary ds)

    /// Pick the rules a command works on: the one named, or all of the file's.
    let rec private selectRules (result: CheckResult) (file: string) (ruleName: string | null) : Result<Rule list, Diagnostic> =
        selectRulesHinting (sprintf "did you mean --rule %s?") result file ruleName

    /// As selectRules, with the "did you mean" hint worded for where the name was written.
    and private selectRulesHinting (hint: string -> string) (result: CheckResult) (file: string) (ruleName: string | null) : Result<Rule list, Diagnostic> =
        let key = Loader.normalize file
        let checkedRules = result.Files |> List.tryFind (fun f -> f.Path = key) |> Option.map (fun f -> f.Rules) |> Option.defaultValue []
        // Every rule the file defines (also those that did not check), to tell "no such rule" apart.
        let defined =
            match result.Program.Files.TryGetValue key with
            | true, f -> f.Source.Items |> List.choose (function Ast.TopRule b -> Some b.Name.Name | _ -> None)
            | _ -> []
        match ruleName with
        | null | "" -> Ok checkedRules
        | name when List.contains name defined -> Ok (checkedRules |> List.filter (fun r -> r.Name = name))
        | name ->
            let d =
                Diagnostic.inFile Codes.NoSuchRule key
                    (if defined.IsEmpty then sprintf "no rule named %s: the file defines no rules" name
                     else sprintf "no rule named %s (the file defines %s)" name (String.Join (", ", defined)))
            Error (match Suggest.nearest name defined with n :: _ -> Diagnostic.withHint (hint n) d | [] -> d)

    let private isModel (f: string) = f.EndsWith (".model", StringComparison.Ordinal)

    /// Reads and checks a .model file; errors and warnings are printed (file:line:col, caret, hint).
    [<CompiledName "LoadModelFile">]
    let loadModelFile (fs: FileSystem) (err: TextWriter) (path: string) (overrides: Map<string, float>) : Result<LoadedModel, int> =
        match fs.Read path with
        | None ->
            err.WriteLine (Diagnostic.render (fun _ _ -> None) (Diagnostic.inFile Codes.FileNotFound path (sprintf "cannot read %s: no such file" path)))
            Error exitInputError
        | Some text ->
            let lineOf = Experiment.lineOf text
            match ModelFile.parse path text overrides with
            | Result.Ok m, warnings ->
                for w in warnings do err.WriteLine (Diagnostic.render lineOf w)
                Ok m
            | Result.Error ds, warnings ->
                for d in ds @ warnings do err.WriteLine (Diagnostic.render lineOf d)
                err.WriteLine (Diagnostic.summary (ds @ warnings))
                Error exitInputError

    /// `ruledsl check FILE.model`: the model's equations checked, then every tangent it yields verified.
    let private checkModels (fs: FileSystem) (out: TextWriter) (err: TextWriter) (files: string list) : int =
        let results = files |> List.map (fun f -> f, loadModelFile fs err (Loader.normalize f) Map.empty)
        let rows =
            results |> List.collect (fun (f, r) ->
                match r with
                | Ok m ->
                    out.WriteLine (sprintf "%s: model with %s" f (String.Join (", ", ModelFile.equations m |> List.map fst)))
                    ModelFile.verify f m
                | Error _ -> [])
        if not rows.IsEmpty then out.WriteLine (Verify.renderTable rows)
        if results |> List.exists (fun (_, r) -> Result.isError r) then exitInputError
        elif rows |> List.exists (fun r -> not r.Passed) then exitCheckFailed
        else exitOk

    /// Rule and model files for `ruledsl check` (see checkFiles): parse and check, then verify every
    /// derivative numerically.
    let private checkRulesAndModels (fs: FileSystem) (out: TextWriter) (err: TextWriter) (files: string list) (json: bool) : int =
        let models, files = files |> List.partition isModel
        if not models.IsEmpty && files.IsEmpty then checkModels fs out err models else
        let modelCode = if models.IsEmpty then exitOk else checkModels fs out err models
        let result = Check.checkFiles fs files
        writeDiagnostics err result.Program result.Diagnostics
        let rows = result.Rules |> List.collect Verify.verifyRule
        let errors = result.Diagnostics |> List.filter (fun d -> d.IsError) |> List.length
        let warnings = result.Diagnostics.Length - errors
        if json then
            out.WriteLine (Verify.renderJson (result.Files |> List.map (fun f -> f.Path, f.Rules |> List.map (fun r -> r.Name))) rows errors warnings)
        else
            for f in result.Files do
                if f.Rules.IsEmpty && errors = 0 then
                    out.WriteLine (sprintf "%s: no rules (its top-level definitions checked)" f.Path)
            if not rows.IsEmpty then out.WriteLine (Verify.renderTable rows)
        if errors > 0 || modelCode = exitInputError then exitInputError
        elif rows |> List.exists (fun r -> not r.Passed) || modelCode = exitCheckFailed then exitCheckFailed
        else exitOk

    /// `ruledsl derive FILE.model [--latex]`: each equation and the tangent equation the engine
    /// propagates through it (δ of every symbol it reads).
    let private deriveModel (fs: FileSystem) (out: TextWriter) (err: TextWriter) (file: string) (latex: bool) : int =
        match loadModelFile fs err (Loader.normalize file) Map.empty with
        | Error code -> code
        | Ok m ->
            for (name, e) in ModelFile.equations m do
                let d = Simplify.simplify (Differentiate.differential (Expr.symbols e) e)
                if latex then
                    out.WriteLine (sprintf "\\text{%s}: \\quad %s" name (Print.latex e))
                    out.WriteLine (sprintf "\\delta(\\text{%s}) = %s" name (Print.latex d))
                else
                    out.WriteLine (sprintf "%s = %s" name (Print.text e))
                    out.WriteLine (sprintf "  δ(%s) = %s" name (Print.text d))
            exitOk

    /// `ruledsl derive FILE [--rule NAME] [--latex]`: the rule and every derived tangent equation.
    [<CompiledName "Derive">]
    let derive (fs: FileSystem) (out: TextWriter) (err: TextWriter) (file: string) (ruleName: string | null) (latex: bool) : int =
        if isModel file then deriveModel fs out err file latex else
        let result = Check.checkFiles fs [ file ]
        writeDiagnostics err result.Program result.Diagnostics
        match selectRules result file ruleName with
        | Error d ->
            writeDiagnostics err result.Program [ d ]
            exitInputError
        | Ok rules ->
            rules
            |> List.iteri (fun i r ->
                if i > 0 then out.WriteLine ()
                let d = Derive.derive r
                out.Write (if latex then Derive.renderLatex d else Derive.renderText d))
            if result.HasErrors then exitInputError else exitOk

    /// `ruledsl eval FILE --rule NAME --at POINT.json`: values of the update and its derivatives.
    [<CompiledName "Eval">]
    let eval (fs: FileSystem) (out: TextWriter) (err: TextWriter) (file: string) (ruleName: string | null) (pointFile: string) : int =
        let result = Check.checkFiles fs [ file ]
        writeDiagnostics err result.Program result.Diagnostics
        if result.HasErrors then exitInputError
        else
            match selectRules result file ruleName with
            | Error d ->
                writeDiagnostics err result.Program [ d ]
                exitInputError
            | Ok [] ->
                writeDiagnostics err result.Program [ Diagnostic.inFile Codes.NoSuchRule (Loader.normalize file) "the file defines no rules" ]
                exitInputError
            | Ok (_ :: _ :: _ as rules) ->
                let d =
                    Diagnostic.inFile Codes.NoSuchRule (Loader.normalize file)
                        (sprintf "the file defines %d rules; choose one with --rule (%s)" rules.Length (String.Join (", ", rules |> List.map (fun r -> r.Name))))
                writeDiagnostics err result.Program [ d ]
                exitInputError
            | Ok [ rule ] ->
                let pointKey = Loader.normalize pointFile
                match fs.Read pointKey with
                | None ->
                    writeDiagnostics err result.Program [ Diagnostic.inFile Codes.FileNotFound pointKey "cannot read this file (it does not exist or is not readable)" ]
                    exitInputError
                | Some text ->
                    // Point files get the same source display as rule files.
                    let lines = text.Replace("\r\n", "\n").Split '\n'
                    let lineOf (f: string) (n: int) =
                        if f = pointKey && n >= 1 && n <= lines.Length then Some lines.[n - 1] else result.Program.LineOf f n
                    let show (ds: Diagnostic list) =
                        let ds = ds |> List.sortBy (fun d -> match d.Range with Some r -> r.Start.Line, r.Start.Col | None -> 0, 0)
                        for d in ds do err.WriteLine (Diagnostic.render lineOf d)
                        if not ds.IsEmpty then err.WriteLine (Diagnostic.summary ds)
                    match PointEval.readPoint pointKey text rule with
                    | Error ds ->
                        show ds
                        exitInputError
                    | Ok (point, warnings) ->
                        show warnings
                        out.WriteLine (PointEval.evaluate rule point)
                        exitOk

    /// `ruledsl vars`: the variables of each setting, with shapes and what they are.
    [<CompiledName "Vars">]
    let vars (out: TextWriter) : int =
        for setting in [ Setting.Feedforward; Setting.Recurrent ] do
            out.WriteLine (sprintf "%s rules read:" (Variables.settingName setting))
            for v in Variables.ofSetting setting do
                out.WriteLine (sprintf "  %-10s %-18s %s" v.Name (string v.Shape) v.Doc)
            out.WriteLine ()
        out.WriteLine "recurrent rules also read their own traces (trace E' = ... or trace E += ...)."
        out.WriteLine "W is post × pre: rows are postsynaptic neurons, columns presynaptic ones."
        exitOk

    /// An error about one setting of an experiment file, found after parsing it: at the setting's value
    /// (with the line and a caret), or the whole file when the setting is left to its default.
    [<CompiledName "SettingError">]
    let settingError (fs: FileSystem) (err: TextWriter) (file: string) (key: string) (code: Code) (message: string) =
        let text = fs.Read file |> Option.defaultValue ""
        let d =
            match Experiment.locate file text key with
            | Some r -> Diagnostic.at code r message
            | None -> Diagnostic.inFile code file message
        err.WriteLine (Diagnostic.render (Experiment.lineOf text) d)

    /// Reads an experiment file and the rules it names, checked: one rule for every layer, or (feedforward,
    /// `rule = FILE NAME1, NAME2, …`) one per layer of weights, layer 1 first. Errors are printed
    /// (file:line:col, caret, hint) and give the input-error exit code.
    [<CompiledName "LoadExperimentRules">]
    let loadExperimentRules (fs: FileSystem) (err: TextWriter) (file: string) : Result<ExperimentSpec * Rule list, int> =
        match fs.Read file with
        | None ->
            err.WriteLine (Diagnostic.render (fun _ _ -> None) (Diagnostic.inFile Codes.FileNotFound file (sprintf "cannot read %s: no such file" file)))
            Error exitInputError
        | Some text ->
            match Experiment.parse file text with
            | Error ds ->
                for d in ds do err.WriteLine (Diagnostic.render (Experiment.lineOf text) d)
                err.WriteLine (Diagnostic.summary ds)
                Error exitInputError
            | Ok spec ->
                // The rule file is relative to the experiment file's folder, or to the working directory.
                let dir = Path.GetDirectoryName file |> string
                let candidates = [ Path.Combine (dir, spec.RuleFile); spec.RuleFile ] |> List.map Loader.normalize
                let ruleFile = candidates |> List.tryFind (fun p -> (fs.Read p).IsSome)
                match ruleFile with
                | None ->
                    settingError fs err file "rule" Codes.FileNotFound
                        (sprintf "cannot read the rule file %s (looked in %s)" spec.RuleFile (String.Join (" and ", candidates |> List.distinct |> List.map (fun c -> if c = "" then "." else c))))
                    Error exitInputError
                | Some ruleFile ->
                let result = Check.checkFiles fs [ ruleFile ]
                if result.HasErrors then
                    writeDiagnostics err result.Program result.Diagnostics
                    Error exitInputError
                else
                    let one (name: string) : Result<Rule, int> =
                        // In an experiment file the rule is named on its `rule =` line, not with --rule.
                        let hint n =
                            if spec.LayerRules.Length > 1 then sprintf "did you mean %s? (one rule per layer on the `rule =` line)" n
                            else sprintf "did you mean `rule = %s %s`?" spec.RuleFile n
                        match selectRulesHinting hint result ruleFile name with
                        | Error d ->
                            writeDiagnostics err result.Program [ d ]
                            Error exitInputError
                        | Ok [ rule ] ->
                            if rule.Setting <> spec.Setting then
                                settingError fs err file "rule" Codes.WrongSetting (sprintf "rule %s is a %s rule but the experiment's setting is %s" rule.Name (Variables.settingName rule.Setting) (string spec.Setting))
                                Error exitInputError
                            else Ok rule
                        | Ok rules ->
                            settingError fs err file "rule" Codes.NoSuchRule (sprintf "%s defines %d rules (%s); name one: `rule = %s NAME`" ruleFile rules.Length (String.Join (", ", rules |> List.map (fun r -> r.Name))) spec.RuleFile)
                            Error exitInputError
                    let names = if spec.LayerRules.IsEmpty then [ spec.RuleName ] else spec.LayerRules
                    // Each distinct name once (its errors once), then the list per layer.
                    let distinct = names |> List.distinct |> List.map (fun n -> n, one n)
                    match distinct |> List.tryPick (fun (_, r) -> match r with Error c -> Some c | Ok _ -> None) with
                    | Some code -> Error code
                    | None ->
                        let byName = distinct |> List.choose (fun (n, r) -> match r with Ok rule -> Some (n, rule) | Error _ -> None) |> Map.ofList
                        Ok (spec, names |> List.map (fun n -> byName.[n]))

    /// Reads an experiment file and the rule it names (the first layer's, when it names one per layer).
    [<CompiledName "LoadExperiment">]
    let loadExperiment (fs: FileSystem) (err: TextWriter) (file: string) : Result<ExperimentSpec * Rule, int> =
        loadExperimentRules fs err file |> Result.map (fun (spec, rules) -> spec, List.head rules)

    /// The network an experiment names (`model = FILE`, relative to the experiment file), with the
    /// experiment's beta, dt and tau in place of the model's constants of those names; the shipped
    /// model of the setting when it names none. A model of the other setting is an error.
    [<CompiledName "LoadExperimentModel">]
    let loadExperimentModel (fs: FileSystem) (err: TextWriter) (spec: ExperimentSpec) : Result<LoadedModel, int> =
        let overrides = Map [ "beta", spec.Beta; "dt", spec.Dt; "tau", spec.Tau ]
        let loaded =
            match Sources.modelPath fs spec with
            | None ->
                let name = Sources.shippedModel spec.Setting
                match ModelFile.parse ("models/" + name + ".model") (ModelFile.shippedText name) overrides with
                | Result.Ok m, _ -> Ok m
                | Result.Error ds, _ -> (for d in ds do err.WriteLine (Diagnostic.render (fun _ _ -> None) d)); Error exitInputError
            | Some path -> loadModelFile fs err path overrides
        match loaded, spec.Setting with
        | Ok (RecurrentNet _), Setting.Feedforward | Ok (FeedforwardNet _), Setting.Recurrent ->
            settingError fs err spec.File "model" Codes.WrongSetting (sprintf "%s is a model of the other setting; the experiment's setting is %O" spec.ModelFile spec.Setting)
            Error exitInputError
        | Ok (FeedforwardNet m), _ when not (m.Feedback.ContainsKey spec.Feedback) ->
            let modes = m.Feedback |> Map.keys |> List.ofSeq
            let hint = match Suggest.nearest spec.Feedback modes with n :: _ -> sprintf " (did you mean %s?)" n | [] -> ""
            settingError fs err spec.File "feedback" Codes.BadSetting (sprintf "feedback = %s, but model %s defines feedback %s%s" spec.Feedback m.Name (String.Join (", ", modes)) hint)
            Error exitInputError
        | r, _ -> r

    /// `ruledsl run FILE --check`: validates an experiment file without running it.
    [<CompiledName "CheckExperiment">]
    let checkExperiment (fs: FileSystem) (out: TextWriter) (err: TextWriter) (file: string) : int =
        match loadExperimentRules fs err file |> Result.bind (fun (spec, rules) -> loadExperimentModel fs err spec |> Result.map (fun _ -> spec, rules)) with
        | Ok (spec, [ rule ]) ->
            out.WriteLine (sprintf "experiment %s: %s rule %s with %d parameters, %d episodes × %d trials → %s" spec.Name (string spec.Setting) rule.Name rule.Params.Length spec.Episodes spec.Trials spec.Output)
            exitOk
        | Ok (spec, rules) ->
            let ps = rules |> List.collect (fun r -> r.Params |> List.map (fun p -> p.Symbol.Name)) |> List.distinct
            out.WriteLine (sprintf "experiment %s: %s rules %s (one per layer) with %d parameters, %d episodes × %d trials → %s" spec.Name (string spec.Setting) (String.Join (", ", rules |> List.map (fun r -> r.Name))) ps.Length spec.Episodes spec.Trials spec.Output)
            exitOk
        | Error code -> code

    /// `ruledsl check FILE...`: experiment files are checked as `run --check` does (the file, its
    /// rule and its model), rule and model files by checkRulesAndModels; the worst exit code wins. With --json,
    /// stdout holds only the JSON table and the experiments' one-line summaries go to stderr.
    [<CompiledName "CheckFiles">]
    let checkFiles (fs: FileSystem) (out: TextWriter) (err: TextWriter) (files: string list) (json: bool) : int =
        let experiments, others = files |> List.partition (fun f -> f.EndsWith (".experiment", StringComparison.Ordinal))
        let codes = experiments |> List.map (checkExperiment fs (if json then err else out) err)
        let codes = if others.IsEmpty then codes else checkRulesAndModels fs out err others json :: codes
        List.fold max exitOk codes
