/// Declarations: term definitions (one instance or a family over ranges, at top level or in a rule) and the
/// top-level scope of every loaded file, its own definitions and its includes'.
module internal RuleDsl.Semantics.Checking.Declarations

open System
open System.Collections.Generic
open RuleDsl.Semantics
open RuleDsl.Symbolic
open RuleDsl.Syntax
open RuleDsl.Syntax.Ast
open RuleDsl.Semantics.Checking.Scopes
open RuleDsl.Semantics.Checking.Numbers

/// Register a term definition (one instance, or a family over ranges) in a scope.
let declareTerm (ctx: Ctx) (terms: Dictionary<string, TermFamily>) (isGlobal: bool) (file: string) (id: Ident) (specs: IndexSpec list) (body: AExpr) =
    let bindings = specs |> List.choose (function Bind b -> Some b | _ -> None)
    match expandRanges ctx bindings with
    | None -> ()
    | Some envs ->
        for env in envs do
            let ctxE = { ctx with Index = env }
            let ks = specs |> List.map (function At e -> evalIndex ctxE e | Bind b -> Some env.[b.Var.Name])
            if ks |> List.forall Option.isSome then
                let ks = ks |> List.map Option.get
                let fam =
                    match terms.TryGetValue id.Name with
                    | true, f -> f
                    | _ ->
                        let f = { Name = id.Name; Arity = ks.Length; Loc = id.Range; Instances = Dictionary (HashIdentity.Structural) }
                        terms.[id.Name] <- f
                        f
                let display = if ks.IsEmpty then id.Name else id.Name + "[" + String.Join (",", ks) + "]"
                if fam.Arity <> ks.Length then
                    report ctx Codes.IndexUse id.Range
                        (sprintf "term %s was defined with %s at %O; here it has %d" id.Name (plural fam.Arity "index") fam.Loc ks.Length) None
                else
                    match fam.Instances.TryGetValue ks with
                    | true, prev -> report ctx Codes.Duplicate id.Range (sprintf "term %s is already defined at %O" display prev.Loc) None
                    | _ ->
                        fam.Instances.[ks] <- { Family = id.Name; Index = ks; Body = body; Env = env; Loc = id.Range; Global = isGlobal; File = file }

/// Build the top-level scope of every loaded file (its own definitions and its includes').
let buildScopes (session: Session) (diags: List<Diagnostic>) =
    let program = session.Program
    let own = Dictionary<string, Dictionary<string, TermFamily> * Dictionary<string, ConstDef>> ()
    for key in program.Order do
        let file = program.Files.[key]
        let terms = Dictionary<string, TermFamily> ()
        let consts = Dictionary<string, ConstDef> ()
        let seen = Dictionary<string, SourceRange> ()
        let ctx0 =
            { Session = session
              Global = { Terms = Dictionary (); Consts = consts; MissingIncludes = false }
              Rule = None
              Index = Map.empty
              Sink = { newSink () with Diags = diags }
              Silent = false }
        let reserve (id: Ident) (kind: string) =
            if (Variables.tryFind id.Name).IsSome || (Builtins.tryFind id.Name).IsSome || reservedWords.Contains id.Name then
                report ctx0 Codes.ReservedName id.Range
                    (sprintf "%s cannot be named %s: the name belongs to a %s" kind id.Name
                        (if (Variables.tryFind id.Name).IsSome then "variable" elif reservedWords.Contains id.Name then "keyword" else "built-in function"))
                    None
                false
            else true
        for item in file.Source.Items do
            match item with
            | TopStatement { Stmt = Const (id, body); Range = r } ->
                if reserve id "a const" then
                    match seen.TryGetValue id.Name with
                    | true, prev -> report ctx0 Codes.Duplicate id.Range (sprintf "%s is already defined at %O" id.Name prev) None
                    | _ ->
                        seen.[id.Name] <- id.Range
                        consts.[id.Name] <- { Name = id.Name; Body = body; Loc = id.Range; File = key; State = Pending }
            | TopStatement { Stmt = Term (id, specs, body) } ->
                if reserve id "a term" then
                    match seen.TryGetValue id.Name with
                    | true, prev when not (terms.ContainsKey id.Name) ->
                        report ctx0 Codes.Duplicate id.Range (sprintf "%s is already defined at %O" id.Name prev) None
                    | _ ->
                        seen.TryAdd (id.Name, id.Range) |> ignore
                        // Index values on the left may use top-level consts.
                        let ctxC = { ctx0 with Global = { Terms = terms; Consts = consts; MissingIncludes = false } }
                        let declare = declareTerm ctxC terms true key
                        declare id specs body
            | _ -> ()
        own.[key] <- (terms, consts)
    // A file sees its includes' definitions and its own.
    for key in program.Order do
        let terms = Dictionary<string, TermFamily> ()
        let consts = Dictionary<string, ConstDef> ()
        let origin = Dictionary<string, string> ()
        for f in Loader.visibleFiles program key do
            let (ts, cs) = own.[f]
            let addOne (name: string) (loc: SourceRange) add =
                match origin.TryGetValue name with
                | true, other when other <> f ->
                    if f = key then
                        diags.Add (Diagnostic.at Codes.Duplicate loc (sprintf "%s is already defined in %s, which this file includes" name other))
                | _ ->
                    origin.[name] <- f
                    add ()
            for KeyValue (n, t) in ts do addOne n t.Loc (fun () -> terms.[n] <- t)
            for KeyValue (n, c) in cs do addOne n c.Loc (fun () -> consts.[n] <- c)
        let visible = Loader.visibleFiles program key |> set
        let missing = program.Diagnostics |> Seq.exists (fun d -> d.Code = Codes.IncludeNotFound && visible.Contains d.File)
        session.Scopes.[key] <- { Terms = terms; Consts = consts; MissingIncludes = missing }
