namespace RuleDsl.Syntax

open System
open System.Text

/// A 1-based position in a source file.
[<StructuralEquality; StructuralComparison>]
type Pos =
    { Line: int
      Col: int }

/// A span of source text. `End` is exclusive. Every AST node carries one.
[<StructuralEquality; StructuralComparison>]
type SourceRange =
    { File: string
      Start: Pos
      End: Pos }

    override this.ToString() = sprintf "%s:%d:%d" this.File this.Start.Line this.Start.Col

module SourceRange =
    let make file (sl, sc) (el, ec) =
        { File = file
          Start = { Line = sl; Col = sc }
          End = { Line = el; Col = ec } }

    /// The smallest range covering both.
    let union (a: SourceRange) (b: SourceRange) =
        { a with
            Start = min a.Start b.Start
            End = max a.End b.End }

    let contains (outer: SourceRange) (inner: SourceRange) =
        outer.File = inner.File && outer.Start <= inner.Start && inner.End <= outer.End

[<RequireQualifiedAccess>]
type Severity =
    | Error
    | Warning

/// One entry of the diagnostics catalog: a stable number and a short title.
type Code =
    { Id: string
      Title: string
      Severity: Severity }

/// Every diagnostic the front end can produce, numbered once. Tests pin code, position and text;
/// tests/bad holds at least one file per code.
module Codes =
    // Every code is made by `c`, which also records it, so `all` is the catalog itself rather than a
    // second, hand-kept list (which had missed RD0506 and RD0507).
    let private registry = ResizeArray<Code> ()
    let private c id title sev =
        let code = { Id = id; Title = title; Severity = sev }
        registry.Add code
        code
    // text and layout
    let Syntax = c "RD0001" "syntax error" Severity.Error
    let Bracket = c "RD0002" "unbalanced bracket" Severity.Error
    let Indentation = c "RD0003" "bad indentation" Severity.Error
    let UnknownStatement = c "RD0004" "unknown statement" Severity.Error
    let InvalidCharacter = c "RD0005" "invalid character" Severity.Error
    let MisplacedStatement = c "RD0006" "statement not allowed here" Severity.Error
    // files
    let IncludeNotFound = c "RD0101" "include not found" Severity.Error
    let IncludeCycle = c "RD0102" "cyclic include" Severity.Error
    let FileNotFound = c "RD0103" "file not found" Severity.Error
    // names
    let UnknownName = c "RD0201" "unknown name" Severity.Error
    let UnknownFunction = c "RD0202" "unknown function" Severity.Error
    let Duplicate = c "RD0203" "duplicate definition" Severity.Error
    let WrongSetting = c "RD0204" "variable not available in this setting" Severity.Error
    let MixedSettings = c "RD0205" "rule mixes settings" Severity.Error
    let IndexUse = c "RD0206" "wrong use of indices" Severity.Error
    let IndexRange = c "RD0207" "index out of range" Severity.Error
    let CyclicTerm = c "RD0208" "cyclic term definition" Severity.Error
    let ReservedName = c "RD0209" "name reserved for a variable or function" Severity.Error
    // shapes
    let ShapeMismatch = c "RD0301" "shape mismatch" Severity.Error
    let TraceShape = c "RD0302" "bad trace shape" Severity.Error
    // calls and numbers
    let Arity = c "RD0401" "wrong number of arguments" Severity.Error
    let NumberRequired = c "RD0402" "number required" Severity.Error
    let BadRange = c "RD0403" "bad range" Severity.Error
    let MisplacedRange = c "RD0404" "range outside sum" Severity.Error
    // rule structure
    let NoUpdate = c "RD0501" "rule has no update" Severity.Error
    let TwoUpdates = c "RD0502" "rule has more than one update" Severity.Error
    let NoSuchRule = c "RD0504" "no such rule" Severity.Error
    let BadInit = c "RD0505" "init of something that is not a parameter" Severity.Error
    let BadStep = c "RD0506" "meta step that is not a positive number" Severity.Error
    let BadBounds = c "RD0507" "parameter bounds that are empty or exclude the initial value" Severity.Error
    // points (ruledsl eval)
    let PointMissing = c "RD0601" "value missing from point" Severity.Error
    let PointSize = c "RD0602" "value of the wrong size" Severity.Error
    let PointJson = c "RD0603" "point is not valid JSON" Severity.Error
    let PointUnknown = c "RD0604" "point names something the rule does not read" Severity.Warning
    let PointDuplicate = c "RD0605" "value given twice in a point" Severity.Error
    let PointMisspelled = c "RD0606" "point name close to one the rule reads" Severity.Error
    // experiment files
    let UnknownSetting = c "RD0701" "unknown setting" Severity.Error
    let BadSetting = c "RD0702" "bad setting value" Severity.Error
    let ExperimentStructure = c "RD0703" "bad experiment file structure" Severity.Error
    let MissingSetting = c "RD0704" "required setting missing" Severity.Error
    // model files
    let UnknownRole = c "RD0801" "unknown model equation" Severity.Error
    let MissingRole = c "RD0802" "model equation missing" Severity.Error
    let ModelStructure = c "RD0803" "bad model file structure" Severity.Error
    let ErrorNotGradient = c "RD0804" "output error is not the loss's derivative" Severity.Warning
    // warnings
    let UnusedParam = c "RD0901" "parameter never used" Severity.Warning
    let UnusedTerm = c "RD0902" "term never used" Severity.Warning

    /// Every code above, in the catalog's order.
    let all = List.ofSeq registry

/// A located message with an optional hint. `Range` is None for whole-file problems.
[<StructuralEquality; NoComparison>]
type Diagnostic =
    { Code: Code
      File: string
      Range: SourceRange option
      Message: string
      Hint: string option }

    member this.IsError = this.Code.Severity = Severity.Error

module Diagnostic =
    let at (code: Code) (range: SourceRange) (message: string) =
        { Code = code; File = range.File; Range = Some range; Message = message; Hint = None }

    let inFile (code: Code) (file: string) (message: string) =
        { Code = code; File = file; Range = None; Message = message; Hint = None }

    let withHint (hint: string) (d: Diagnostic) = { d with Hint = Some hint }

    /// Sort key: file, position, code.
    let key (d: Diagnostic) =
        let line, col = match d.Range with Some r -> r.Start.Line, r.Start.Col | None -> 0, 0
        d.File, line, col, d.Code.Id, d.Message

    /// Render in the compiler style:
    ///   file:line:col: error RD0301: message
    ///      12 |   source line
    ///         |        ^
    ///      hint: ...
    /// `lineOf file n` gives source line n (1-based) when the source is known.
    let render (lineOf: string -> int -> string option) (d: Diagnostic) : string =
        let sb = StringBuilder ()
        let sev = match d.Code.Severity with Severity.Error -> "error" | Severity.Warning -> "warning"
        match d.Range with
        | Some r ->
            sb.AppendFormat ("{0}:{1}:{2}: {3} {4}: {5}", r.File, r.Start.Line, r.Start.Col, sev, d.Code.Id, d.Message) |> ignore
            match lineOf r.File r.Start.Line with
            | Some text ->
                let text = text.TrimEnd ()
                let gutter = sprintf "%5d | " r.Start.Line
                sb.Append('\n').Append(gutter).Append(text) |> ignore
                // Keep tabs under tabs so the caret lines up in any terminal.
                let pad =
                    String (text.ToCharArray () |> Array.truncate (max 0 (r.Start.Col - 1)) |> Array.map (fun ch -> if ch = '\t' then '\t' else ' '))
                let pad = pad + String (' ', max 0 (r.Start.Col - 1 - pad.Length))
                sb.Append('\n').Append(String (' ', gutter.Length - 2)).Append("| ").Append(pad).Append('^') |> ignore
            | None -> ()
        | None -> sb.AppendFormat ("{0}: {1} {2}: {3}", d.File, sev, d.Code.Id, d.Message) |> ignore
        match d.Hint with
        | Some h -> sb.Append("\n   hint: ").Append(h) |> ignore
        | None -> ()
        sb.ToString ()

    /// "2 errors, 1 warning"
    let summary (ds: Diagnostic list) =
        let e = ds |> List.filter (fun d -> d.IsError) |> List.length
        let w = ds.Length - e
        let plural n word = sprintf "%d %s%s" n word (if n = 1 then "" else "s")
        sprintf "%s, %s" (plural e "error") (plural w "warning")

/// "Did you mean …?" by edit distance.
module Suggest =
    /// Optimal string alignment distance (Levenshtein plus adjacent transpositions).
    let distance (a: string) (b: string) =
        let n, m = a.Length, b.Length
        let d = Array2D.zeroCreate (n + 1) (m + 1)
        for i in 0..n do d.[i, 0] <- i
        for j in 0..m do d.[0, j] <- j
        for i in 1..n do
            for j in 1..m do
                let cost = if a.[i - 1] = b.[j - 1] then 0 else 1
                let v = min (min (d.[i - 1, j] + 1) (d.[i, j - 1] + 1)) (d.[i - 1, j - 1] + cost)
                d.[i, j] <-
                    if i > 1 && j > 1 && a.[i - 1] = b.[j - 2] && a.[i - 2] = b.[j - 1] then min v (d.[i - 2, j - 2] + 1)
                    else v
        d.[n, m]

    /// Candidates close enough to be a plausible typo, best first.
    let nearest (name: string) (candidates: string seq) : string list =
        // Short names are one edit away from many others: only a change of case counts for them.
        let limit = if name.Length <= 2 then 0 else max 1 (min 3 ((name.Length + 1) / 3))
        candidates
        |> Seq.distinct
        |> Seq.filter (fun c -> c <> name)
        |> Seq.map (fun c ->
            // Case-only differences are the most likely typo.
            let d = if String.Equals (c, name, StringComparison.OrdinalIgnoreCase) then 0 else distance name c
            c, d)
        |> Seq.filter (fun (_, d) -> d <= limit)
        |> Seq.sortBy (fun (c, d) -> d, c)
        |> Seq.map fst
        |> List.ofSeq
