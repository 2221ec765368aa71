/// A rule block checked into a Rule: its declarations, consts, parameters, inits, traces and update in
/// that order, then its setting (declared or inferred) and the warnings for what it never uses.
module internal RuleDsl.Semantics.Checking.Rules

open System
open System.Collections.Generic
open RuleDsl.Semantics
open RuleDsl.Symbolic
open RuleDsl.Syntax
open RuleDsl.Syntax.Ast
open RuleDsl.Semantics.Checking.Scopes
open RuleDsl.Semantics.Checking.Numbers
open RuleDsl.Semantics.Checking.Expressions
open RuleDsl.Semantics.Checking.Declarations

let private toLoc (r: SourceRange) : SourceLoc = { File = r.File; Line = r.Start.Line; Column = r.Start.Col }

/// The setting written in the header (rule NAME : feedforward), if any; an unknown one is reported.
let private declaredSetting (sink: Sink) (block: RuleBlock) : Setting option =
    match block.Setting with
    | None -> None
    | Some s ->
        match Choice.tryParse<Setting> s.Name with
        | Some setting -> Some setting
        | None ->
            let d = Diagnostic.at Codes.UnknownName s.Range (sprintf "unknown setting %s (a rule is feedforward or recurrent)" s.Name)
            sink.Diags.Add (match Suggest.nearest s.Name (Choice.words<Setting> ()) with n :: _ -> Diagnostic.withHint (sprintf "did you mean %s?" n) d | [] -> d)
            None

/// 1. Declarations, in order: consts, terms, traces and parameter families enter the rule's scope (a name
/// taken by a variable, a built-in, a keyword or a top-level definition is reported); inits and updates
/// are collected for later steps. Returns the parameter families in declaration order, the updates, the inits.
let private declareStatements (ctx: Ctx) (rs: RuleScope) (fileKey: string) (block: RuleBlock) =
    let scope = ctx.Global
    let defined = Dictionary<string, SourceRange> ()
    let paramOrder = List<ParamFamily> ()
    let declare (id: Ident) (kind: string) =
        // Only a rule that says its setting is checked against the engine's names (an undeclared one may be either).
        let engine = match rs.Declared with Some s -> (Variables.engineNames s).Contains id.Name | None -> false
        if (Variables.tryFind id.Name).IsSome || (Builtins.tryFind id.Name).IsSome || reservedWords.Contains id.Name || engine then
            let what =
                if (Variables.tryFind id.Name).IsSome then "a variable (see `ruledsl vars`)"
                elif reservedWords.Contains id.Name then "a keyword"
                elif engine then sprintf "a quantity the engine binds for the %s network (a model's or a learner's)" (Variables.settingName rs.Declared.Value)
                else "a built-in function"
            report ctx Codes.ReservedName id.Range (sprintf "%s cannot be named %s: the name belongs to %s" kind id.Name what) None
            false
        else
            match defined.TryGetValue id.Name with
            | true, prev ->
                report ctx Codes.Duplicate id.Range (sprintf "%s is already defined at %O" id.Name prev) None
                false
            | _ ->
                match scope.Terms.TryGetValue id.Name, scope.Consts.TryGetValue id.Name with
                | (true, t), _ ->
                    report ctx Codes.Duplicate id.Range (sprintf "%s is already defined at %O (a top-level term)" id.Name t.Loc) None
                    false
                | _, (true, c) ->
                    report ctx Codes.Duplicate id.Range (sprintf "%s is already defined at %O (a top-level const)" id.Name c.Loc) None
                    false
                | _ ->
                    defined.[id.Name] <- id.Range
                    true
    let updates = List<Located * AExpr> ()
    let inits = List<Located * Ident * AExpr list * AExpr> ()
    for s in block.Body do
        match s.Stmt with
        | Const (id, body) ->
            if declare id "a const" then
                rs.Consts.[id.Name] <- { Name = id.Name; Body = body; Loc = id.Range; File = ""; State = Pending }
        | Term (id, specs, body) ->
            // Later definitions of the same family add instances.
            let fresh = not (rs.Terms.ContainsKey id.Name)
            if not fresh || declare id "a term" then declareTerm ctx rs.Terms false fileKey id specs body
        | Trace (id, kind, body) ->
            if declare id "a trace" then
                rs.Traces.[id.Name] <- { Name = id.Name; Kind = kind; Body = body; Loc = s.Range; Shape = None; UsedBeforeKnown = false; Failed = false }
        | Param (id, bindings, _, _) ->
            if declare id "a parameter" then
                let axes =
                    bindings
                    |> List.map (fun b ->
                        match evalIndex ctx b.Lo, evalIndex ctx b.Hi with
                        | Some lo, Some hi when lo > hi ->
                            report ctx Codes.BadRange b.Range (sprintf "empty range %d..%d: the lower bound is above the upper one" lo hi) None
                            None
                        | Some lo, Some hi -> Some (b.Var.Name, lo, hi)
                        | _ -> None)
                if axes |> List.forall Option.isSome then
                    let axes = axes |> List.map Option.get
                    rs.Params.[id.Name] <- { Name = id.Name; Axes = axes; Loc = id.Range; Elements = Dictionary (HashIdentity.Structural) }
                    paramOrder.Add rs.Params.[id.Name]
        | Init (id, ix, value) -> inits.Add ((s, id, ix, value))
        | Assign (_, value) -> updates.Add ((s, value))
        | RuleHeader _ | Include _ -> ()
    paramOrder, updates, inits

/// 3. Parameters: every element of each family, with its initial value, bounds and meta step.
let private expandParams (ctx: Ctx) (rs: RuleScope) (block: RuleBlock) =
    for s in block.Body do
        match s.Stmt with
        | Param (id, bindings, dflt, opts) when rs.Params.ContainsKey id.Name && rs.Params.[id.Name].Loc = id.Range ->
            let fam = rs.Params.[id.Name]
            let init = evalConst ctx (sprintf "the initial value of %s" id.Name) dflt
            let bound (e: Expr option) what (fallback: float) =
                match e with
                | None -> fallback
                | Some e ->
                    match evalConst ctx (sprintf "the %s of %s" what id.Name) e with
                    | Some v when not (Double.IsNaN v) -> v
                    | _ -> fallback
            for (k, r) in opts.Repeated do
                report ctx Codes.Duplicate r (sprintf "`%s` is given twice for %s; the first one counts" k id.Name) (Some (sprintf "keep one `%s` clause" k))
            let lo, hi = bound opts.Min "lower bound" -infinity, bound opts.Max "upper bound" infinity
            let boundsRange = [ opts.Min; opts.Max ] |> List.choose (fun b -> b) |> List.map Ast.rangeOf
            if lo >= hi then
                report ctx Codes.BadBounds (List.reduce SourceRange.union boundsRange)
                    (sprintf "the bounds of %s leave no room: min %g is not below max %g" id.Name lo hi) None
            match init with
            | Some v when lo < hi -> checkInBounds ctx (Ast.rangeOf dflt) id.Name v lo hi
            | _ -> ()
            let step =
                match opts.Step with
                | None -> 1.0
                | Some e ->
                    match evalConst ctx (sprintf "the meta step of %s" id.Name) e with
                    | Some v when v > 0.0 && Double.IsFinite v -> v
                    | Some v ->
                        report ctx Codes.BadStep (Ast.rangeOf e) (sprintf "the meta step of %s must be a positive number, got %g" id.Name v)
                            (Some "step scales the meta-optimizer's steps in this parameter: step 0.01 makes them a hundred times smaller")
                        1.0
                    | None -> 1.0
            let rec combos (axes: (string * int * int) list) =
                match axes with
                | [] -> [ [] ]
                | (_, lo, hi) :: rest -> [ for k in lo..hi do for tail in combos rest -> k :: tail ]
            for ks in combos fam.Axes do
                let name = if ks.IsEmpty then id.Name else id.Name + "[" + String.Join (",", ks) + "]"
                fam.Elements.[ks] <-
                    { Param.Symbol = { Name = name; Shape = Shape.Scalar }
                      Family = id.Name
                      Index = ks
                      Init = defaultArg init 0.0
                      Step = step
                      Min = lo
                      Max = hi
                      Loc = toLoc id.Range }
        | _ -> ()

/// 4. Inits: the initial value of one parameter element, in its bounds, given once.
let private applyInits (ctx: Ctx) (rs: RuleScope) (inits: List<Located * Ident * AExpr list * AExpr>) =
    let initialised = Dictionary<string, SourceRange> ()
    for (s, id, ix, value) in inits do
        let v = evalConst ctx (sprintf "the initial value of %s" id.Name) value
        match resolve ctx id.Name with
        | RParam fam ->
            let target =
                match fam.Axes, ix with
                | [], [] -> Some []
                | [], _ -> report ctx Codes.IndexUse id.Range (sprintf "%s is a single parameter; write init %s = ..." id.Name id.Name) None; None
                | axes, ix when ix.Length <> axes.Length ->
                    report ctx Codes.IndexUse id.Range (sprintf "%s takes %s, got %d" id.Name (plural axes.Length "index") ix.Length) None
                    None
                | axes, ix ->
                    let ks = ix |> List.map (evalIndex ctx)
                    if ks |> List.forall Option.isSome then
                        let ks = ks |> List.map Option.get
                        match List.zip ks axes |> List.tryFind (fun (k, (_, lo, hi)) -> k < lo || k > hi) with
                        | Some (k, (vn, lo, hi)) ->
                            report ctx Codes.IndexRange (SourceRange.union id.Range (Ast.rangeOf (List.last ix)))
                                (sprintf "index %d is out of range: %s is declared with %s in %d..%d" k id.Name vn lo hi) None
                            None
                        | None -> Some ks
                    else None
            match target, v with
            | Some ks, Some v when fam.Elements.ContainsKey ks ->
                let p = fam.Elements.[ks]
                match initialised.TryGetValue p.Symbol.Name with
                | true, prev -> report ctx Codes.Duplicate id.Range (sprintf "%s is already initialised at %O" p.Symbol.Name prev) None
                | _ ->
                    initialised.[p.Symbol.Name] <- id.Range
                    if p.Min < p.Max then checkInBounds ctx (Ast.rangeOf value) p.Symbol.Name v p.Min p.Max
                    fam.Elements.[ks] <- { p with Init = v }
            | _ -> ()
        | RUnknown ->
            let near = Suggest.nearest id.Name rs.Params.Keys
            report ctx Codes.UnknownName id.Range (sprintf "unknown parameter %s" id.Name)
                (match near with
                 | n :: _ when not (isParamLike id.Name) -> Some (sprintf "did you mean %s?" n)
                 | _ -> Some (declareHint id.Name (not ix.IsEmpty)))
        | other ->
            let kind =
                match other with
                | RConst _ -> "a const"
                | RTrace _ -> "a trace"
                | RTerm _ -> "a term"
                | RVar _ -> "a variable"
                | _ -> "not a parameter"
            report ctx Codes.BadInit id.Range (sprintf "init sets the initial value of a parameter; %s is %s" id.Name kind) None

/// The shapes a trace may have, in the order a trace that reads itself is tried in.
let private traceShapes = [ Variables.weight.Shape; Shape.Vector "post"; Shape.Vector "pre" ]
let private traceShapesText = "a post×pre matrix (like W), a post vector or a pre vector"

/// A trace read in its own right-hand side takes the first shape of `traceShapes` its right-hand side
/// keeps when the trace has it (tried silently; none: it is checked as post×pre, and reported).
let private inferTraceShape (ctx: Ctx) (t: TraceDecl) =
    traceShapes
    |> List.tryFind (fun shape ->
        t.Shape <- Some shape
        let scratch = newSink ()
        match elab { ctx with Sink = scratch; Silent = true } Any t.Body with
        | Some rate -> rate.Shape = shape && not (scratch.Diags |> Seq.exists (fun d -> d.IsError))
        | None -> false)
    |> fun found -> t.Shape <- found

/// 5. Traces (either setting): each right-hand side checked and given its shape. Returns the declared
/// traces in order and, for those that checked clean, their symbol, rate, kind and location (their
/// next value needs the setting: `E' = f` steps by dt in the recurrent one, by one training step in the
/// feedforward one).
let private checkTraces (ctx: Ctx) (rs: RuleScope) (block: RuleBlock) =
    let traceOrder = block.Body |> List.choose (fun s -> match s.Stmt with Trace (id, _, _) when rs.Traces.ContainsKey id.Name && rs.Traces.[id.Name].Loc = s.Range -> Some (s, rs.Traces.[id.Name]) | _ -> None)
    let traces =
        traceOrder
        |> List.choose (fun (s, t) ->
            inferTraceShape ctx t
            match elabWithRepairs ctx Any t.Body with
            | None ->
                t.Failed <- true
                None
            | Some rate ->
                if not (List.contains rate.Shape traceShapes) then
                    t.Failed <- true
                    report ctx Codes.TraceShape (Ast.rangeOf t.Body)
                        (sprintf "trace %s would be a %O; a trace is %s" t.Name rate.Shape traceShapesText)
                        None
                    None
                elif t.UsedBeforeKnown && rate.Shape <> Variables.weight.Shape then
                    t.Failed <- true
                    report ctx Codes.TraceShape (Ast.rangeOf t.Body)
                        (sprintf "trace %s is used in its own right-hand side (or before it), and no shape it may have (%s) keeps it that shape; this is a %O" t.Name traceShapesText rate.Shape)
                        None
                    None
                else
                    t.Shape <- Some rate.Shape
                    Some ({ Name = t.Name; Shape = rate.Shape }, rate.Expr, t.Kind, s))
    traceOrder, traces

/// A checked trace's next value in its setting (dt read in the recurrent one only).
let private finishTraces (ctx: Ctx) (setting: Setting) traces : Trace list =
    let dt = (Variables.tryFind "dt").Value
    traces
    |> List.map (fun (sym: Symbol, rate: IExpr, kind, s: Located) ->
        let next =
            match kind, setting with
            | Continuous, Setting.Recurrent -> IExpr.Add [ IExpr.Sym sym; IExpr.Mul [ IExpr.Sym dt.Symbol; rate ] ]
            | _ -> IExpr.Add [ IExpr.Sym sym; rate ]
        if kind = Continuous && setting = Setting.Recurrent then ctx.Sink.Vars.Add ((dt, s.Keyword, Some ("trace " + sym.Name)))
        { RuleDsl.Semantics.Trace.Symbol = sym
          Next = next
          Rate = rate
          Continuous = (kind = Continuous)
          Loc = toLoc s.Range })

/// 6. The update: one dW, a post×pre matrix.
let private checkUpdate (ctx: Ctx) (block: RuleBlock) (updates: List<Located * AExpr>) : (Located * Typed) option =
    if updates.Count > 1 then
        for (s, _) in updates |> Seq.skip 1 do
            report ctx Codes.TwoUpdates s.Keyword
                (sprintf "rule %s has a second update; the first is at %O" block.Name.Name (fst updates.[0]).Keyword)
                (Some "combine them into one: dW = first + second")
    if updates.Count = 0 && block.Incomplete then None
    elif updates.Count = 0 then
        report ctx Codes.NoUpdate block.Name.Range (sprintf "rule %s has no update" block.Name.Name) (Some "add a line dW = ... to the rule")
        None
    else
        let (s, value) = updates.[0]
        let w = Variables.weight
        elabWithRepairs ctx (Like (w.Shape, false, "dW must be a post×pre matrix (the shape of W)")) value
        |> Option.map (fun t -> s, t)

/// 7. The setting: the declared one, or the one the variables read imply (a trace, allowed in either, is
/// no evidence); both is an error.
let private inferSetting (ctx: Ctx) (block: RuleBlock) (declared: Setting option) : Setting option =
    match declared with
    | Some s -> Some s
    | None ->
        let only s = ctx.Sink.Vars |> Seq.filter (fun (v, _, _) -> v.Settings = [ s ]) |> List.ofSeq
        let ff = only Setting.Feedforward
        let rc = only Setting.Recurrent
        let firstRec =
            (rc |> List.map (fun (v, r, via) -> r, (match via with Some t -> sprintf "%s (in %s)" v.Name t | None -> v.Name)))
            |> List.sortBy fst
        match ff, firstRec with
        | [], [] -> Some Setting.Feedforward // only W: either would do
        | _ :: _, [] -> Some Setting.Feedforward
        | [], _ :: _ -> Some Setting.Recurrent
        | (fv, fr, fvia) :: _, (rr, rdesc) :: _ ->
            let fdesc = match fvia with Some t -> sprintf "%s (in %s)" fv.Name t | None -> fv.Name
            let later = max fr rr
            report ctx Codes.MixedSettings later
                (sprintf "rule %s mixes settings: %s is feedforward (line %d) and %s is recurrent (line %d)" block.Name.Name fdesc fr.Start.Line rdesc rr.Start.Line)
                (Some "a rule reads the variables of one setting; declare it with rule NAME : feedforward or : recurrent (`ruledsl vars` lists them)")
            None

/// 8. Warnings: unused parameters and local terms.
let private warnUnused (ctx: Ctx) (rs: RuleScope) (paramOrder: List<ParamFamily>) (update: (Located * Typed) option)
                       (traces: Trace list) (traceOrder: (Located * TraceDecl) list) =
    let reads =
        [ match update with Some (_, t) -> yield t.Expr | None -> ()
          for t in traces -> t.Next ]
        |> List.collect RuleDsl.Symbolic.Expr.symbols
        |> List.map (fun s -> s.Name)
        |> set
    // Only for rules that are otherwise sound: after an error "unused" is noise.
    if update.IsSome && traces.Length = traceOrder.Length && not (ctx.Sink.Diags |> Seq.exists (fun d -> d.IsError)) then
        for fam in paramOrder do
            let unused = fam.Elements.Values |> Seq.filter (fun p -> not (reads.Contains p.Symbol.Name)) |> Seq.map (fun p -> p.Symbol.Name) |> List.ofSeq
            if unused.Length = fam.Elements.Count then
                report ctx Codes.UnusedParam fam.Loc
                    (if fam.Axes.IsEmpty then sprintf "parameter %s is never used" fam.Name
                     else sprintf "none of the %s %s[...] is used" (plural fam.Elements.Count "parameter") fam.Name) None
            elif not unused.IsEmpty then
                let shown = unused |> List.truncate 8
                report ctx Codes.UnusedParam fam.Loc
                    (sprintf "%s of %s never used: %s%s" (plural unused.Length "parameter") fam.Name (String.Join (", ", shown)) (if unused.Length > shown.Length then ", …" else ""))
                    None
        let used = ctx.Sink.TermsUsed |> Seq.map (fun d -> d.Family) |> set
        for fam in rs.Terms.Values do
            if not (used.Contains fam.Name) then
                report ctx Codes.UnusedTerm fam.Loc (sprintf "term %s is never used" fam.Name) None

/// The checked rule, from a rule that had no errors: what it reads, the terms and consts it uses, its update.
let private assemble (ctx: Ctx) (rs: RuleScope) (fileKey: string) (block: RuleBlock) (paramOrder: List<ParamFamily>)
                     (s: Located, u: Typed) (setting: Setting) (traces: Trace list) : Rule =
    let session = ctx.Session
    let traceNames = traces |> List.map (fun t -> t.Symbol.Name) |> set
    let inputs =
        (u.Expr :: (traces |> List.map (fun t -> t.Next)))
        |> List.collect RuleDsl.Symbolic.Expr.symbols
        |> List.distinct
        |> List.filter (fun s -> (Variables.tryFind s.Name).IsSome && not (traceNames.Contains s.Name))
    let termsUsed =
        ctx.Sink.TermsUsed
        |> Seq.distinctBy (fun d -> d.File, d.Display)
        |> Seq.map (fun d ->
            let key = d.File + "|" + d.Display
            let cache = if d.Global then session.GlobalCache else rs.TermCache
            match cache.TryGetValue key with
            | true, Finished (Some t, _) -> Some { RuleDsl.Semantics.Term.Name = d.Display; Body = t.Expr; Loc = toLoc d.Loc }
            | _ -> None)
        |> Seq.choose id
        |> List.ofSeq
    let constsUsed =
        [ for c in rs.Consts.Values do
              match c.State with
              | Done (Some v) -> yield { RuleDsl.Semantics.Const.Symbol = { Name = c.Name; Shape = Shape.Scalar }; Value = v; Loc = toLoc c.Loc }
              | _ -> () ]
    { Name = block.Name.Name
      Setting = setting
      File = fileKey
      Loc = toLoc block.Name.Range
      Params = paramOrder |> Seq.collect (fun f -> f.Elements.Values) |> List.ofSeq
      Consts = constsUsed
      Inputs = inputs
      Traces = traces
      Terms = termsUsed
      Update = u.Expr
      UpdateLoc = toLoc s.Keyword
      Weight = Variables.weight }

let checkRule (session: Session) (fileKey: string) (diags: List<Diagnostic>) (block: RuleBlock) : Rule option =
    let sink = { newSink () with Diags = List () }
    let declared = declaredSetting sink block
    let scope = session.Scopes.[fileKey]
    let rs =
        { RuleName = block.Name.Name
          Declared = declared
          Params = Dictionary ()
          Consts = Dictionary ()
          Terms = Dictionary ()
          Traces = Dictionary ()
          TermCache = Dictionary () }
    let ctx = { Session = session; Global = scope; Rule = Some rs; Index = Map.empty; Sink = sink; Silent = false }
    let paramOrder, updates, inits = declareStatements ctx rs fileKey block
    // 2. consts (each once, so errors are reported once)
    for c in rs.Consts.Values do constValue ctx c c.Loc |> ignore
    expandParams ctx rs block
    applyInits ctx rs inits
    let traceOrder, checkedTraces = checkTraces ctx rs block
    let update = checkUpdate ctx block updates
    let setting = inferSetting ctx block declared
    let traces = finishTraces ctx (defaultArg setting Setting.Recurrent) checkedTraces
    warnUnused ctx rs paramOrder update traces traceOrder
    let hasErrors = sink.Diags |> Seq.exists (fun d -> d.IsError)
    diags.AddRange sink.Diags
    match update, setting with
    | Some u, Some setting when not hasErrors && traces.Length = traceOrder.Length ->
        Some (assemble ctx rs fileKey block paramOrder u setting traces)
    | _ -> None
