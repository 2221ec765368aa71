namespace RuleDsl.Syntax

open System

/// One `--set KEY=VALUE` of the command line, where it landed in the experiment's text.
type Override =
    { /// Its place among the command's `--set`s, 1-based: the "line" its errors point at in the file `--set`.
      Index: int
      Key: string
      Value: string
      /// The line of the experiment's text that now gives the setting (replaced, or appended).
      Line: int
      /// The column of the value on that line.
      ValueCol: int }

/// `--set KEY=VALUE` on `run`, `learn` and `gradcheck`: any setting of an experiment file given on the
/// command line instead. The override is written into the experiment's text, on the line that gives the
/// setting (or a line added at the end), marked `# --set KEY=VALUE`: the text then parses, checks and runs
/// like a file that says so, run.json records it, and `--resume` compares it like an edited file.
/// Its errors point at the `--set` (the pseudo-file `--set`, line n for the n-th), not at the text.
module ExperimentOverrides =
    /// The pseudo-file the errors of a `--set` are located in.
    [<Literal>]
    let SetFile = "--set"

    let private keys () = Experiment.schema |> List.map (fun (k, _, _) -> k)

    let private lines (text: string) = text.Replace("\r\n", "\n").Split '\n'

    /// The line (0-based) that gives `key`, with its indentation.
    let private lineOf (ls: string[]) (key: string) =
        ls |> Array.tryFindIndex (fun raw ->
            let content = match raw.IndexOf '#' with -1 -> raw | k -> raw.Substring (0, k)
            match content.IndexOf '=' with
            | eq when eq > 0 -> content.Substring(0, eq).Trim () = key
            | _ -> false)

    let private at (index: int) (col: int) (len: int) code msg =
        Diagnostic.at code (SourceRange.make SetFile (index, col) (index, col + max 1 len)) msg

    /// Each `KEY=VALUE` checked (a known setting, a value, once) and written into `text`; the new text and
    /// where each override went, or located errors in the file `--set`. Values are checked by `Experiment.parse`
    /// of the new text (see `relocate`).
    [<CompiledName "Apply">]
    let apply (text: string) (sets: string list) : Result<string * Override list, Diagnostic list> =
        let errors = ResizeArray<Diagnostic> ()
        let parsed =
            sets
            |> List.mapi (fun i s ->
                let index = i + 1
                match s.IndexOf '=' with
                | k when k <= 0 ->
                    errors.Add ({ at index 1 s.Length Codes.ExperimentStructure (sprintf "expected --set KEY=VALUE, not `%s`" s) with Hint = Some "e.g.  --set episodes=600" })
                    None
                | k ->
                    let key, value = s.Substring(0, k).Trim (), s.Substring(k + 1).Trim ()
                    if not (List.contains key (keys ())) then
                        let d = at index 1 key.Length Codes.UnknownSetting (sprintf "unknown setting `%s`" key)
                        errors.Add (match Suggest.nearest key (keys ()) with best :: _ -> Diagnostic.withHint (sprintf "did you mean `%s`?" best) d | [] -> Diagnostic.withHint "`ruledsl settings` lists them" d)
                        None
                    elif value = "" then
                        errors.Add (at index 1 key.Length Codes.BadSetting (sprintf "`%s` has no value" key))
                        None
                    elif value.Contains '#' then
                        errors.Add (at index (k + 2) value.Length Codes.BadSetting (sprintf "`%s`: a value cannot hold `#` (it starts a comment)" key))
                        None
                    else Some (index, key, value))
            |> List.choose id
        for (index, key, _) in parsed do
            match parsed |> List.tryFind (fun (_, k, _) -> k = key) with
            | Some (first, _, _) when first <> index ->
                errors.Add (at index 1 key.Length Codes.ExperimentStructure (sprintf "`%s` is set twice (first by --set %d)" key first))
            | _ -> ()
        if errors.Count > 0 then Error (List.ofSeq errors)
        else
            let mutable ls = lines text
            let overrides =
                parsed |> List.map (fun (index, key, value) ->
                    let setting = sprintf "%s = %s  # --set %s=%s" key value key value
                    match lineOf ls key with
                    | Some i ->
                        let indent = ls.[i].Substring (0, ls.[i].Length - ls.[i].TrimStart().Length)
                        ls.[i] <- indent + setting
                        { Index = index; Key = key; Value = value; Line = i + 1; ValueCol = indent.Length + key.Length + 4 }
                    | None ->
                        // Appended inside the one experiment block, after a trailing empty line if the text ends with one.
                        let body = if ls.Length > 0 && ls.[ls.Length - 1] = "" then ls.[.. ls.Length - 2] else ls
                        ls <- Array.append body [| "  " + setting; "" |]
                        { Index = index; Key = key; Value = value; Line = body.Length + 1; ValueCol = 2 + key.Length + 4 })
            Ok (String.Join ("\n", ls), overrides)

    /// A diagnostic of `file` (the experiment, its overrides written in) on a line an override gave, moved to
    /// that `--set` with its column in `KEY=VALUE`; any other diagnostic unchanged.
    [<CompiledName "Relocate">]
    let relocate (file: string) (overrides: Override list) (d: Diagnostic) : Diagnostic =
        match d.Range with
        | Some r when r.File = file ->
            match overrides |> List.tryFind (fun o -> o.Line = r.Start.Line) with
            | Some o ->
                let col = if r.Start.Col >= o.ValueCol then r.Start.Col - o.ValueCol + o.Key.Length + 2 else 1
                let len = max 1 (r.End.Col - r.Start.Col)
                { d with File = SetFile; Range = Some (SourceRange.make SetFile (o.Index, col) (o.Index, col + len)) }
            | None -> d
        | _ -> d

    /// Source lines for rendering: line n of the file `--set` is the n-th `KEY=VALUE`.
    [<CompiledName "LineOf">]
    let lineOf' (sets: string list) (inner: string -> int -> string option) : string -> int -> string option =
        fun file n -> if file = SetFile then List.tryItem (n - 1) sets else inner file n
