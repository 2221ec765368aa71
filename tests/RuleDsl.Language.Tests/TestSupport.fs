/// Helpers for the front-end tests: the repository root, and running commands as the CLI does.
module TestSupport

open System
open System.IO
open RuleDsl.Semantics
open RuleDsl.Cli

/// The repository root (the directory holding RuleDsl.sln), found from the test's bin folder.
let repoRoot =
    let rec up (d: DirectoryInfo | null) =
        match d with
        | null -> failwith "RuleDsl.sln not found above the test directory"
        | d when File.Exists (Path.Combine (d.FullName, "RuleDsl.sln")) -> d.FullName
        | d -> up d.Parent
    up (DirectoryInfo AppContext.BaseDirectory)

/// Files relative to the repository root, as `ruledsl` sees them when run from there.
let fs = FileSystem.rooted repoRoot

/// Run a command; returns (exit code, stdout, stderr). Newlines normalised to \n.
let run (command: TextWriter -> TextWriter -> int) =
    use out = new StringWriter ()
    use err = new StringWriter ()
    let code = command out err
    let norm (s: string) = s.Replace ("\r\n", "\n")
    code, norm (out.ToString ()), norm (err.ToString ())

/// Arguments as `ruledsl` takes them, mapped to the command the CLI runs.
let runArgs (args: string list) =
    let rec opts (acc: Map<string, string>) (pos: string list) (xs: string list) =
        match xs with
        | ("--rule" | "--at" as k) :: v :: rest -> opts (acc.Add (k, v)) pos rest
        | ("--latex" | "--json" as k) :: rest -> opts (acc.Add (k, "")) pos rest
        | x :: rest -> opts acc (pos @ [ x ]) rest
        | [] -> acc, pos
    match args with
    | cmd :: rest ->
        let o, pos = opts Map.empty [] rest
        let rule : string | null = match o.TryFind "--rule" with Some r -> r | None -> null
        match cmd with
        | "check" -> run (fun out err -> LanguageCommands.CheckFiles (fs, out, err, Array.ofList pos, o.ContainsKey "--json"))
        | "derive" -> run (fun out err -> LanguageCommands.Derive (fs, out, err, pos.Head, rule, o.ContainsKey "--latex"))
        | "eval" -> run (fun out err -> LanguageCommands.Eval (fs, out, err, pos.Head, rule, o.["--at"]))
        | "vars" -> run (fun out _ -> LanguageCommands.Vars out)
        | "experiment" -> run (fun out err -> LanguageCommands.CheckExperiment (fs, out, err, pos.Head))
        | c -> failwithf "unknown command %s" c
    | [] -> failwith "no command"
