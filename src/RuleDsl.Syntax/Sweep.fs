namespace RuleDsl.Syntax

open System
open System.IO

/// One setting a sweep varies: its values as written, each with its column, and its line.
type SweptSetting =
    { Key: string
      Values: (string * int) list
      Line: int
      Col: int }

/// A `.sweep` file: a grid over experiment settings around a base experiment.
type SweepSpec =
    { Name: string
      File: string
      /// The base experiment file, as written (relative to the sweep file's folder).
      Experiment: string
      ExperimentLine: int
      /// The folder holding one results folder per point (relative to the working directory).
      Output: string
      Settings: SweptSetting list }

/// One point of a sweep's grid: its settings, its experiment text (the base experiment with them, its
/// files named by absolute paths), and its own results folder.
type SweepPoint =
    { Index: int
      /// p0-lambda_0.01-lr_0.001: the point's file and folder name in the sweep's output.
      Folder: string
      Values: (string * string) list
      Text: string
      Output: string }

/// Sweep files:
///   sweep lambda_grid
///     experiment = pool.experiment
///     lambda = 0.01 0.05 0.1
///     rule   = ../rules/fa.rule fa | ../rules/bio.rule bio
///     output = results/lambda_grid
/// Values are separated by spaces, or by `|` when a value holds spaces. Every point of the grid (the
/// last setting varying fastest) is the base experiment with those settings.
module Sweep =
    let private diag (code: Code) (file: string) (ln: int) (col: int) (len: int) (msg: string) =
        Diagnostic.at code (SourceRange.make file (ln, col) (ln, col + max 1 len)) msg

    let private keys () = Experiment.schema |> List.map (fun (k, _, _) -> k) |> List.filter (fun k -> k <> "output")

    /// The values of a line and their columns: split at `|` when there is one, else at spaces.
    let private values (value: string) (col: int) =
        let sep = if value.Contains '|' then [| '|' |] else [| ' '; '\t' |]
        let mutable at = 0
        [ for part in value.Split sep do
              let start = at + (part.Length - part.TrimStart().Length)
              at <- at + part.Length + 1
              yield part.Trim (), col + start ]

    let parse (file: string) (text: string) : Result<SweepSpec, Diagnostic list> =
        let lines = text.Replace("\r\n", "\n").Split '\n'
        let errors = ResizeArray<Diagnostic> ()
        let settings = ResizeArray<SweptSetting> ()
        let mutable name = None
        let mutable experiment = None
        let mutable output = None
        for i in 0 .. lines.Length - 1 do
            let content = match lines.[i].IndexOf '#' with -1 -> lines.[i] | k -> lines.[i].Substring (0, k)
            let trimmed = content.Trim ()
            let ln = i + 1
            let col = content.Length - content.TrimStart().Length + 1
            if trimmed = "" then ()
            elif trimmed.StartsWith "sweep" && (trimmed.Length = 5 || Char.IsWhiteSpace trimmed.[5]) then
                let n = trimmed.Substring(5).Trim ()
                if name.IsSome then errors.Add (diag Codes.ExperimentStructure file ln col 5 "a file holds one sweep; this is a second `sweep` line")
                elif n = "" || not (n |> Seq.forall (fun c -> Char.IsLetterOrDigit c || c = '_' || c = '-')) then
                    errors.Add (diag Codes.ExperimentStructure file ln col trimmed.Length "expected `sweep NAME`, a name of letters, digits, _ or -")
                name <- Some n
            elif name.IsNone then
                errors.Add (diag Codes.ExperimentStructure file ln col trimmed.Length "a sweep file starts with `sweep NAME`")
            elif col = 1 then errors.Add (diag Codes.ExperimentStructure file ln col trimmed.Length "indent the settings of the sweep")
            else
                match trimmed.IndexOf '=' with
                | -1 -> errors.Add (Diagnostic.withHint "e.g.  lambda = 0.01 0.05 0.1" (diag Codes.ExperimentStructure file ln col trimmed.Length "expected `key = value …`"))
                | k ->
                    let key = trimmed.Substring(0, k).Trim ()
                    let rest = trimmed.Substring (k + 1)
                    let value = rest.Trim ()
                    let vcol = col + k + 1 + (rest.Length - rest.TrimStart().Length)
                    let seen = (key = "experiment" && experiment.IsSome) || (key = "output" && output.IsSome) || settings.Exists (fun s -> s.Key = key)
                    if seen then errors.Add (diag Codes.ExperimentStructure file ln col key.Length (sprintf "`%s` is set twice" key))
                    elif value = "" then errors.Add (diag Codes.BadSetting file ln col key.Length (sprintf "`%s` has no value" key))
                    elif key = "experiment" then experiment <- Some (value, ln)
                    elif key = "output" then output <- Some value
                    elif not (List.contains key (keys ())) then
                        let d = diag Codes.UnknownSetting file ln col key.Length (sprintf "unknown setting `%s`: a sweep gives `experiment`, `output` and experiment settings to vary" key)
                        match Suggest.nearest key ("experiment" :: "output" :: keys ()) with
                        | best :: _ -> errors.Add (Diagnostic.withHint (sprintf "did you mean `%s`?" best) d)
                        | [] -> errors.Add d
                    else
                        let vs = values value vcol
                        match vs |> List.tryFind (fun (v, _) -> v = "") with
                        | Some (_, c) -> errors.Add (diag Codes.BadSetting file ln c 1 (sprintf "`%s` has an empty value (two `|` in a row?)" key))
                        | None ->
                            match vs |> List.countBy fst |> List.tryFind (fun (_, n) -> n > 1) with
                            | Some (v, _) ->
                                let c = vs |> List.filter (fun (x, _) -> x = v) |> List.item 1 |> snd
                                errors.Add (diag Codes.BadSetting file ln c v.Length (sprintf "`%s` lists %s twice" key v))
                            | None -> settings.Add { Key = key; Values = vs; Line = ln; Col = col }
        match name with
        | None when errors.Count = 0 -> errors.Add (Diagnostic.inFile Codes.ExperimentStructure file "the file has no `sweep NAME` line")
        | Some _ when experiment.IsNone -> errors.Add (Diagnostic.withHint "e.g.  experiment = base.experiment" (Diagnostic.inFile Codes.MissingSetting file "a sweep names its base experiment: `experiment = FILE`"))
        | Some _ when settings.Count = 0 && errors.Count = 0 -> errors.Add (Diagnostic.withHint "e.g.  lambda = 0.01 0.05 0.1" (Diagnostic.inFile Codes.MissingSetting file "the sweep varies no setting"))
        | _ -> ()
        if errors.Count > 0 then Error (List.ofSeq errors)
        else
            let n = name.Value
            Ok { Name = n; File = file; Experiment = fst experiment.Value; ExperimentLine = snd experiment.Value
                 Output = defaultArg output ("results/" + n); Settings = List.ofSeq settings }

    /// A value's file path made absolute (from the folder of the file that gave it): the point's
    /// experiment is written into the sweep's output, away from the files it names.
    let private absolute (dir: string) (key: string) (value: string) =
        if key <> "rule" && key <> "model" then value
        else
            match value.Split ([| ' '; '\t' |], 2, StringSplitOptions.RemoveEmptyEntries) with
            | [||] -> value
            | parts when Path.IsPathRooted parts.[0] || not (parts.[0].EndsWith ".rule" || parts.[0].EndsWith ".model") -> value
            | parts -> String.Join (" ", Array.append [| Path.GetFullPath (Path.Combine (dir, parts.[0])) |] parts.[1..])

    /// A value as part of a folder name: files by their name, anything but letters, digits, . _ - as _.
    let private short (value: string) =
        let words = value.Split ([| ' '; '\t'; ',' |], StringSplitOptions.RemoveEmptyEntries) |> Array.map (fun w -> if w.Contains '/' then Path.GetFileNameWithoutExtension w else w)
        String (String.Join("_", words) |> Seq.map (fun c -> if Char.IsLetterOrDigit c || c = '.' || c = '-' || c = '_' then c else '_') |> Array.ofSeq)

    /// The grid's points, the last setting varying fastest. <paramref name="baseText"/> is the base
    /// experiment's text, read from <paramref name="baseDir"/>; the sweep file is in <paramref name="sweepDir"/>.
    let expand (sweep: SweepSpec) (baseText: string) (baseDir: string) (sweepDir: string) : SweepPoint list =
        let swept = sweep.Settings |> List.map (fun s -> s.Key) |> Set.ofList
        let rec grid (settings: SweptSetting list) =
            match settings with
            | [] -> [ [] ]
            | s :: rest -> [ for (v, _) in s.Values do for tail in grid rest -> (s.Key, v) :: tail ]
        let lines = baseText.Replace("\r\n", "\n").Split '\n'
        grid sweep.Settings
        |> List.mapi (fun i values ->
            let folder = sprintf "p%d-%s" i (String.Join ("-", values |> List.map (fun (k, v) -> k + "_" + short v)))
            let folder = if folder.Length > 100 then folder.Substring (0, 100) else folder
            let output = (Path.Combine (sweep.Output, folder)).Replace ('\\', '/')
            let kept =
                lines
                |> Array.choose (fun raw ->
                    let content = match raw.IndexOf '#' with -1 -> raw | k -> raw.Substring (0, k)
                    let trimmed = content.Trim ()
                    match trimmed.IndexOf '=' with
                    | _ when trimmed.StartsWith "experiment" && (trimmed.Length = 10 || Char.IsWhiteSpace trimmed.[10]) ->
                        Some (sprintf "experiment %s_p%d" (trimmed.Substring(10).Trim ()) i)
                    | k when k > 0 ->
                        let key = trimmed.Substring(0, k).Trim ()
                        if key = "output" || swept.Contains key then None
                        else Some (sprintf "  %s = %s" key (absolute baseDir key (trimmed.Substring(k + 1).Trim ())))
                    | _ -> Some raw)
            let added =
                [ yield sprintf "  # point %d of sweep %s (%s)" i sweep.Name (Path.GetFileName sweep.File)
                  for (k, v) in values -> sprintf "  %s = %s" k (absolute sweepDir k v)
                  yield sprintf "  output = %s" output ]
            let body = (String.Join ("\n", kept)).TrimEnd ()
            { Index = i; Folder = folder; Values = values; Output = output
              Text = body + "\n" + String.Join ("\n", added) + "\n" })

    /// Each point's experiment text checked as an experiment: a problem with a value the sweep gives is
    /// reported at that value in the sweep file; any other at the sweep's `experiment` line.
    let check (sweep: SweepSpec) (points: SweepPoint list) : Diagnostic list =
        [ for p in points do
              match Experiment.parse sweep.File p.Text with
              | Ok _ -> ()
              | Error ds ->
                  let textLines = p.Text.Split '\n'
                  for d in ds do
                      let line = match d.Range with Some r when r.Start.Line >= 1 && r.Start.Line <= textLines.Length -> textLines.[r.Start.Line - 1] | _ -> ""
                      let key = match line.IndexOf '=' with k when k > 0 -> line.Substring(0, k).Trim () | _ -> ""
                      match sweep.Settings |> List.tryFind (fun s -> s.Key = key) with
                      | Some s ->
                          let v = p.Values |> List.find (fun (k, _) -> k = key) |> snd
                          let col = s.Values |> List.find (fun (x, _) -> x = v) |> snd
                          yield { d with Range = Some (SourceRange.make sweep.File (s.Line, col) (s.Line, col + max 1 v.Length)) }
                      | None ->
                          yield diag d.Code sweep.File sweep.ExperimentLine 1 10 (sprintf "point %s: %s" p.Folder d.Message) ]
        |> List.distinct
