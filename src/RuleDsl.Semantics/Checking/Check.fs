namespace RuleDsl.Semantics

open System
open RuleDsl.Syntax

/// The result of checking files: the rules that checked clean, and every diagnostic.
type CheckedFile = { Path: string; Rules: Rule list }

type CheckResult =
    { Files: CheckedFile list
      Diagnostics: Diagnostic list
      Program: Program }

    member this.HasErrors = this.Diagnostics |> List.exists (fun d -> d.IsError)
    member this.Rules = this.Files |> List.collect (fun f -> f.Rules)

/// Name resolution, index expansion, shape checking and lowering to the rule IR: the entry points. The
/// steps they run are the other files of this folder: Declarations (each file's top-level scope), Rules
/// (one rule block), Expressions (one expression), with Scopes, Numbers and Repairs under them.
module Check =
    open System.Collections.Generic
    open RuleDsl.Syntax.Ast
    open RuleDsl.Semantics.Checking.Scopes
    open RuleDsl.Semantics.Checking.Numbers
    open RuleDsl.Semantics.Checking.Expressions
    open RuleDsl.Semantics.Checking.Declarations
    open RuleDsl.Semantics.Checking.Rules

    /// Order diagnostics by file (load order), position, code; drop exact repeats.
    let sortDiagnostics (program: Program) (ds: Diagnostic seq) : Diagnostic list =
        let order = program.Order |> Seq.mapi (fun i k -> k, i) |> dict
        ds
        |> Seq.distinctBy Diagnostic.key
        |> Seq.sortBy (fun d ->
            let fi = match order.TryGetValue d.File with | true, i -> i | _ -> Int32.MaxValue
            let (_, l, c, code, _) = Diagnostic.key d
            fi, l, c, code)
        |> List.ofSeq

    /// Check files (and what they include) as one program: parse, resolve, expand, type, lower.
    [<CompiledName "CheckFiles">]
    let checkFiles (fs: FileSystem) (paths: string list) : CheckResult =
        let program = Loader.create ()
        let keys = paths |> List.map (Loader.load fs program)
        let session = { Program = program; GlobalCache = Dictionary (); Scopes = Dictionary (); Expanding = [] }
        let diags = List<Diagnostic> (program.Diagnostics)
        buildScopes session diags
        // Top-level definitions are checked on their own (a terms-only file is checked too).
        for key in program.Order do
            let scope = session.Scopes.[key]
            let ctx = { Session = session; Global = scope; Rule = None; Index = Map.empty; Sink = { newSink () with Diags = diags }; Silent = false }
            for c in scope.Consts.Values do
                if c.File = key then constValue ctx c c.Loc |> ignore
            for t in scope.Terms.Values do
                for d in t.Instances.Values do
                    if d.File = key then termRef ctx Any d d.Loc |> ignore
        let files =
            List.zip paths keys
            |> List.choose (fun (_, k) -> k)
            |> List.distinct
            |> List.map (fun key ->
                let file = program.Files.[key]
                let seen = Dictionary<string, SourceRange> ()
                let rules =
                    file.Source.Items
                    |> List.choose (function
                        | TopRule block ->
                            match seen.TryGetValue block.Name.Name with
                            | true, prev ->
                                diags.Add (Diagnostic.at Codes.Duplicate block.Name.Range (sprintf "rule %s is already defined at %O" block.Name.Name prev))
                                None
                            | _ ->
                                seen.[block.Name.Name] <- block.Name.Range
                                checkRule session key diags block
                        | _ -> None)
                { Path = key; Rules = rules })
        { Files = files; Diagnostics = sortDiagnostics program diags; Program = program }

    /// Check source text held in memory (notebooks, tests). `path` names it in messages.
    [<CompiledName "CheckText">]
    let checkText (path: string) (text: string) : CheckResult =
        checkFiles (FileSystem.ofMap (Map [ Loader.normalize path, text ])) [ path ]

    /// Render diagnostics as the CLI prints them.
    [<CompiledName "Render">]
    let render (result: CheckResult) : string =
        result.Diagnostics |> List.map (Diagnostic.render result.Program.LineOf) |> String.concat "\n"
