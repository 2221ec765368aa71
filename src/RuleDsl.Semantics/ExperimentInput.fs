namespace RuleDsl.Semantics

open System
open System.IO
open RuleDsl.Syntax

/// Diagnostics found together, with the source lines they point into, so that a caller can show each
/// with its line and a caret (the CLI prints them; a notebook may read them).
type Problems =
    { Diagnostics: Diagnostic list
      /// Line n of a file, for the caret display.
      LineOf: string -> int -> string option
      /// Shown with the count line ("2 errors, 0 warnings") after them.
      Counted: bool }

module Problems =
    let private noLines (_: string) (_: int) : string option = None

    let internal counted lineOf (ds: Diagnostic list) = { Diagnostics = ds; LineOf = lineOf; Counted = not ds.IsEmpty }
    let internal single lineOf (d: Diagnostic) = { Diagnostics = [ d ]; LineOf = lineOf; Counted = false }
    let internal unread (path: string) =
        single noLines (Diagnostic.inFile Codes.FileNotFound path (sprintf "cannot read %s: no such file" path))

    /// A check's diagnostics, shown with the lines of the files it read and counted.
    [<CompiledName "OfProgram">]
    let ofProgram (program: Program) (ds: Diagnostic list) = counted program.LineOf ds

    /// Diagnostics of one file of settings (a sweep file), shown with its lines and counted.
    [<CompiledName "OfFile">]
    let ofFile (text: string) (ds: Diagnostic list) = counted (Experiment.lineOf text) ds

    /// Diagnostics of a file read beside a program (a point file), in order of position, shown with
    /// that file's lines.
    [<CompiledName "OfText">]
    let ofText (path: string) (text: string) (program: Program) (ds: Diagnostic list) =
        let lines = text.Replace("\r\n", "\n").Split '\n'
        let lineOf (f: string) (n: int) = if f = path && n >= 1 && n <= lines.Length then Some lines.[n - 1] else program.LineOf f n
        counted lineOf (ds |> List.sortBy (fun d -> match d.Range with Some r -> r.Start.Line, r.Start.Col | None -> 0, 0))

    /// Each diagnostic as `file:line:col: error RDxxxx: …` with its line, a caret and its hint, one
    /// line of text each, then the count line when the problems are counted.
    [<CompiledName "Render">]
    let render (ps: Problems seq) : string =
        let sb = Text.StringBuilder ()
        for p in ps do
            for d in p.Diagnostics do sb.Append(Diagnostic.render p.LineOf d).Append('\n') |> ignore
            if p.Counted then sb.Append(Diagnostic.summary p.Diagnostics).Append('\n') |> ignore
        sb.ToString ()

/// An experiment file read with everything it names: the spec, the checked rule of every layer, the
/// network's equations, and the file's text as read.
type LoadedExperiment =
    { Spec: ExperimentSpec
      /// One rule for every layer, or (feedforward, `rule = FILE NAME1, NAME2, …`) one per layer of weights.
      Rules: Rule list
      Model: LoadedModel
      Text: string
      /// What loading found that does not stop it (a model's warnings).
      Warnings: Problems list }

/// Reading the inputs of a run: an experiment file, the rule file it names (checked), its `.model`
/// file or the shipped model. Every problem comes back as located diagnostics, never printed here.
module ExperimentInput =
    /// The rules a command works on: the one named, or all of the file's. `hint` words the "did you
    /// mean" for where the name was written (`--rule`, an experiment's `rule =` line).
    [<CompiledName "SelectRules">]
    let selectRules (hint: string -> string) (result: CheckResult) (file: string) (ruleName: string | null) : Result<Rule list, Diagnostic> =
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

    /// A `.model` file read and checked, with its warnings; `overrides` replace its constants of the same name.
    [<CompiledName "ReadModel">]
    let readModel (fs: FileSystem) (path: string) (overrides: Map<string, float>) : Result<LoadedModel * Problems list, Problems list> =
        match Std.read fs path with
        | None -> Error [ Problems.unread path ]
        | Some text ->
            let lineOf = Experiment.lineOf text
            match ModelFile.parse path text overrides with
            | Result.Ok m, warnings -> Ok (m, [ { Diagnostics = warnings; LineOf = lineOf; Counted = false } ])
            | Result.Error ds, warnings -> Error [ Problems.counted lineOf (ds @ warnings) ]

    /// An error about one setting of an experiment file, found after parsing it: at the setting's value
    /// (with the line and a caret), or the whole file when the setting is left to its default.
    [<CompiledName "SettingError">]
    let settingError (fs: FileSystem) (file: string) (key: string) (code: Code) (message: string) : Problems =
        let text = fs.Read file |> Option.defaultValue ""
        let d =
            match Experiment.locate file text key with
            | Some r -> Diagnostic.at code r message
            | None -> Diagnostic.inFile code file message
        Problems.single (Experiment.lineOf text) d

    /// An experiment file and the rules it names, checked, with the file's text.
    [<CompiledName "Rules">]
    let rules (fs: FileSystem) (file: string) : Result<ExperimentSpec * Rule list * string, Problems list> =
        match fs.Read file with
        | None -> Error [ Problems.unread file ]
        | Some text ->
            match Experiment.parse file text with
            | Error ds -> Error [ Problems.counted (Experiment.lineOf text) ds ]
            | Ok spec ->
                // The rule file is relative to the experiment file's folder, or to the working directory.
                let dir = Path.GetDirectoryName file |> string
                // A `std/` path found in neither is the standard library's.
                let candidates = [ Path.Combine (dir, spec.RuleFile); spec.RuleFile ] |> List.map Loader.normalize
                match candidates |> List.tryFind (fun p -> (Std.read fs p).IsSome) with
                | None ->
                    Error [ settingError fs file "rule" Codes.FileNotFound
                                (sprintf "cannot read the rule file %s (looked in %s)" spec.RuleFile (String.Join (" and ", candidates |> List.distinct |> List.map (fun c -> if c = "" then "." else c)))) ]
                | Some ruleFile ->
                let result = Check.checkFiles fs [ ruleFile ]
                if result.HasErrors then Error [ Problems.counted result.Program.LineOf result.Diagnostics ]
                else
                    let wanted = spec.Setting
                    let one (name: string) : Result<Rule, Problems> =
                        // In an experiment file the rule is named on its `rule =` line, not with --rule.
                        let hint n =
                            if spec.LayerRules.Length > 1 then sprintf "did you mean %s? (one rule per layer on the `rule =` line)" n
                            else sprintf "did you mean `rule = %s %s`?" spec.RuleFile n
                        match selectRules hint result ruleFile name with
                        | Error d -> Error (Problems.counted result.Program.LineOf [ d ])
                        | Ok [ rule ] when rule.Setting <> wanted ->
                            Error (settingError fs file "rule" Codes.WrongSetting (sprintf "rule %s is a %s rule but the experiment's setting is %s" rule.Name (Variables.settingName rule.Setting) (string spec.Setting)))
                        | Ok [ rule ] -> Ok rule
                        | Ok rules ->
                            Error (settingError fs file "rule" Codes.NoSuchRule (sprintf "%s defines %d rules (%s); name one: `rule = %s NAME`" ruleFile rules.Length (String.Join (", ", rules |> List.map (fun r -> r.Name))) spec.RuleFile))
                    let names = if spec.LayerRules.IsEmpty then [ spec.RuleName ] else spec.LayerRules
                    // Each distinct name once (its errors once), then the list per layer.
                    let distinct = names |> List.distinct |> List.map (fun n -> n, one n)
                    match distinct |> List.choose (fun (_, r) -> match r with Error p -> Some p | Ok _ -> None) with
                    | _ :: _ as problems -> Error problems
                    | [] ->
                        let byName = distinct |> List.choose (fun (n, r) -> match r with Ok rule -> Some (n, rule) | Error _ -> None) |> Map.ofList
                        Ok (spec, names |> List.map (fun n -> byName.[n]), text)

    /// The network an experiment names (`model = FILE`, relative to the experiment file), with the
    /// experiment's beta, dt and tau in place of the model's constants of those names; the shipped
    /// model of the setting when it names none. A model of the other setting is an error.
    [<CompiledName "Model">]
    let model (fs: FileSystem) (spec: ExperimentSpec) : Result<LoadedModel * Problems list, Problems list> =
        let overrides = Map [ "beta", spec.Beta; "dt", spec.Dt; "tau", spec.Tau ]
        let loaded =
            match Sources.modelPath fs spec with
            | None ->
                let name = Sources.shippedModel spec.Setting
                match ModelFile.parse ("models/" + name + ".model") (ModelFile.shippedText name) overrides with
                | Result.Ok m, _ -> Ok (m, [])
                | Result.Error ds, _ -> Error [ { Diagnostics = ds; LineOf = (fun _ _ -> None); Counted = false } ]
            | Some path when (Std.read fs path).IsNone ->
                // At the `model =` line, naming the library's model when the path was meant for one.
                let near = if spec.ModelFile.StartsWith Std.prefix then Suggest.nearest (Loader.normalize spec.ModelFile) Std.names else []
                let p = settingError fs spec.File "model" Codes.FileNotFound (sprintf "cannot read the model file %s (looked beside the experiment, then in the working directory%s)" spec.ModelFile (if spec.ModelFile.StartsWith Std.prefix then ", then in ruledsl's standard library" else ""))
                Error [ match near with n :: _ -> { p with Diagnostics = p.Diagnostics |> List.map (Diagnostic.withHint (sprintf "did you mean `model = %s`?" n)) } | [] -> p ]
            | Some path -> readModel fs path overrides
        match loaded, spec.Setting with
        | Ok (RecurrentNet _, warnings), Setting.Feedforward | Ok (FeedforwardNet _, warnings), Setting.Recurrent ->
            Error (warnings @ [ settingError fs spec.File "model" Codes.WrongSetting (sprintf "%s is a model of the other setting; the experiment's setting is %O" spec.ModelFile spec.Setting) ])
        | Ok (FeedforwardNet m, warnings), _ when not (m.Feedback.ContainsKey spec.Feedback) ->
            let modes = m.Feedback |> Map.keys |> List.ofSeq
            let hint = match Suggest.nearest spec.Feedback modes with n :: _ -> sprintf " (did you mean %s?)" n | [] -> ""
            Error (warnings @ [ settingError fs spec.File "feedback" Codes.BadSetting (sprintf "feedback = %s, but model %s defines feedback %s%s" spec.Feedback m.Name (String.Join (", ", modes)) hint) ])
        | r, _ -> r

    /// An experiment file with its rules and its model, checked: what a run, `learn`, `samples` and
    /// `analyse` start from.
    [<CompiledName "Load">]
    let load (fs: FileSystem) (file: string) : Result<LoadedExperiment, Problems list> =
        match rules fs file with
        | Error ps -> Error ps
        | Ok (spec, rules, text) ->
            match model fs spec with
            | Error ps -> Error ps
            | Ok (m, warnings) -> Ok { Spec = spec; Rules = rules; Model = m; Text = text; Warnings = warnings }

    /// The file system with `--set KEY=VALUE` overrides written into the experiment file's text
    /// (`ExperimentOverrides.apply`), and where they went; errors of the `--set`s themselves located in them.
    [<CompiledName "WithOverrides">]
    let withOverrides (fs: FileSystem) (file: string) (sets: string list) : Result<FileSystem * Override list, Problems list> =
        match fs.Read file with
        | None -> Error [ Problems.unread file ]
        | Some text ->
            match ExperimentOverrides.apply text sets with
            | Error ds -> Error [ Problems.counted (ExperimentOverrides.lineOf' sets (fun _ _ -> None)) ds ]
            | Ok (changed, overrides) -> Ok ({ fs with Read = fun p -> if p = file then Some changed else fs.Read p }, overrides)

    /// `load` with `--set KEY=VALUE` overrides (none: `load`): the experiment as if its file said so, its
    /// text (kept with the run) showing each override as `KEY = VALUE  # --set KEY=VALUE`. An error in an
    /// override's value points at its `--set`.
    [<CompiledName "LoadWith">]
    let loadWith (fs: FileSystem) (file: string) (sets: string list) : Result<LoadedExperiment, Problems list> =
        if sets.IsEmpty then load fs file
        else
            match withOverrides fs file sets with
            | Error ps -> Error ps
            | Ok (overlay, overrides) ->
                let fix (p: Problems) =
                    { p with Diagnostics = p.Diagnostics |> List.map (ExperimentOverrides.relocate file overrides)
                             LineOf = ExperimentOverrides.lineOf' sets p.LineOf }
                match load overlay file with
                | Ok l -> Ok { l with Warnings = l.Warnings |> List.map fix }
                | Error ps -> Error (ps |> List.map fix)
