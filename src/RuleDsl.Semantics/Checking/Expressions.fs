/// Expressions: each one checked against what its context needs (shapes, settings), translated to the rule IR,
/// with term references expanded once per scope and repairs offered as hints.
module internal RuleDsl.Semantics.Checking.Expressions

open System
open System.Collections.Generic
open RuleDsl.Semantics
open RuleDsl.Symbolic
open RuleDsl.Syntax
open RuleDsl.Syntax.Ast
open RuleDsl.Semantics.Checking.Scopes
open RuleDsl.Semantics.Checking.Numbers
open RuleDsl.Semantics.Checking.Repairs

/// Note that a variable is read; in a rule of a declared setting, a variable of the other
/// setting is an error at once (undeclared settings are inferred at the end).
let private noteVar (ctx: Ctx) (v: Variable) (range: SourceRange) (via: string option) =
    ctx.Sink.Vars.Add ((v, range, via))
    match ctx.Rule with
    | Some r ->
        match r.Declared with
        | Some s when not (List.contains s v.Settings) ->
            let other = v.Settings |> List.map Variables.settingName |> String.concat "/"
            let msg =
                match via with
                | None -> sprintf "%s is a %s variable; rule %s is %s" v.Name other r.RuleName (Variables.settingName s)
                | Some t -> sprintf "term %s reads %s, a %s variable; rule %s is %s" t v.Name other r.RuleName (Variables.settingName s)
            let hint =
                Some (sprintf "%s rules read %s" (Variables.settingName s) (String.Join (", ", Variables.ofSetting s |> List.map (fun x -> x.Name))))
            report ctx Codes.WrongSetting range msg hint
        | _ -> ()
    | None -> ()

// ------------------------------------------------------------------ expressions

let rec elab (ctx: Ctx) (exp: Expect) (e: AExpr) : Typed option =
    match e with
    | Number (v, t, r) -> conform ctx exp r ("the number " + t) { Expr = IExpr.Num v; Shape = Shape.Scalar }
    | Paren (x, _) -> elab ctx exp x
    | Name (id, ix, r) -> elabName ctx exp id ix r
    | Neg (x, _) ->
        elab ctx exp x
        |> Option.map (fun t ->
            match t.Expr with
            | IExpr.Num v -> { t with Expr = IExpr.Num -v }
            | x -> { t with Expr = IExpr.Mul [ IExpr.Num -1.0; x ] })
    | Binary (BinOp.MatMul, _, _, _, r) -> elabChain ctx exp e r
    | Binary (op, a, b, opR, r) -> elabElementwise ctx exp op a b opR r
    | Transpose (x, r) ->
        match elab ctx Any x with
        | None -> None
        | Some t ->
            match (Builtins.info Fn.Transpose).ShapeRule [ t.Shape ] with
            | Error m ->
                report ctx Codes.ShapeMismatch r ("shape mismatch: " + m) None
                None
            | Ok s -> conform ctx exp r (describe e) { Expr = IExpr.Call (Fn.Transpose, [ t.Expr ]); Shape = s }
    | Call (id, args, r) -> elabCall ctx exp id args r

and private elabElementwise ctx exp op a b opR r =
    let opText = match op with BinOp.Add -> "+" | BinOp.Sub -> "-" | BinOp.Mul -> "*" | BinOp.Div -> "/" | _ -> "^"
    let ta, tb =
        match exp with
        | Any ->
            let ta = elab ctx Any a
            let expB =
                match ta with
                | Some t when t.Shape <> Shape.Scalar -> Like (t.Shape, true, sprintf "the other operand of %s is a %O" opText t.Shape)
                | _ -> Any
            ta, elab ctx expB b
        | Like (s, _, why) ->
            let ta = elab ctx (Like (s, true, why)) a
            ta, elab ctx (Like (s, true, why)) b
    match ta, tb with
    | Some ta, Some tb ->
        match Shape.broadcast ta.Shape tb.Shape with
        | Error m ->
            report ctx Codes.ShapeMismatch opR ("shape mismatch: " + m) None
            None
        | Ok shape ->
            // Flatten chains written a + b + c into one n-ary node.
            let isChain ops = match a with Binary (o, _, _, _, _) -> List.contains o ops | _ -> false
            let expr =
                match op with
                | BinOp.Add | BinOp.Sub ->
                    let right = if op = BinOp.Sub then IExpr.Mul [ IExpr.Num -1.0; tb.Expr ] else tb.Expr
                    match ta.Expr with
                    | IExpr.Add xs when isChain [ BinOp.Add; BinOp.Sub ] -> IExpr.Add (xs @ [ right ])
                    | x -> IExpr.Add [ x; right ]
                | BinOp.Mul | BinOp.Div ->
                    let right = if op = BinOp.Div then IExpr.Pow (tb.Expr, IExpr.Num -1.0) else tb.Expr
                    match ta.Expr with
                    | IExpr.Mul xs when isChain [ BinOp.Mul; BinOp.Div ] -> IExpr.Mul (xs @ [ right ])
                    | x -> IExpr.Mul [ x; right ]
                | _ -> IExpr.Pow (ta.Expr, tb.Expr)
            let t = { Expr = expr; Shape = shape }
            match exp with
            | Like (want, false, why) when shape = Shape.Scalar && want <> Shape.Scalar ->
                conform ctx exp r (shortText (Binary (op, a, b, opR, r))) t
            | _ -> Some t
    | _ -> None

and private elabChain ctx exp e r =
    let rec operands (x: AExpr) =
        match x with
        | Binary (BinOp.MatMul, a, b, o, _) -> operands a @ [ (Some o, b) ]
        | x -> [ (None, x) ]
    let ops = operands e
    let typed = ops |> List.map (fun (o, x) -> o, elab ctx Any x)
    if typed |> List.exists (fun (_, t) -> t.IsNone) then None
    else
        let rule = (Builtins.info Fn.MatMul).ShapeRule
        let folded =
            typed.Tail
            |> List.fold (fun acc (o, t) ->
                match acc with
                | None -> None
                | Some (s: Shape) ->
                    match rule [ s; t.Value.Shape ] with
                    | Ok s' -> Some s'
                    | Error m ->
                        report ctx Codes.ShapeMismatch o.Value ("shape mismatch: " + m) None
                        None) (Some (snd typed.Head).Value.Shape)
        match folded with
        | None -> None
        | Some s -> conform ctx exp r (describe e) { Expr = IExpr.Call (Fn.MatMul, typed |> List.map (fun (_, t) -> t.Value.Expr)); Shape = s }

and private elabName ctx exp id ix r =
    let notIndexed (what: string) =
        report ctx Codes.IndexUse r (sprintf "%s is %s; it takes no index" id.Name what) None
        None
    let indices (expected: int) (family: string) : int list option =
        match ix with
        | None -> None
        | Some xs when xs.Length <> expected ->
            report ctx Codes.IndexUse r (sprintf "%s takes %s, got %d" family (plural expected "index") xs.Length) None
            None
        | Some xs ->
            let vs = xs |> List.map (evalIndex ctx)
            if vs |> List.forall Option.isSome then Some (vs |> List.map Option.get) else None
    match resolve ctx id.Name with
    | RIndex k ->
        if ix.IsSome then notIndexed "an index variable"
        else conform ctx exp r id.Name { Expr = IExpr.Num (float k); Shape = Shape.Scalar }
    | RConst c ->
        if ix.IsSome then notIndexed "a const"
        else constValue ctx c r |> Option.bind (fun v -> conform ctx exp r id.Name { Expr = IExpr.Num v; Shape = Shape.Scalar })
    | RParam p when p.Axes.IsEmpty ->
        if ix.IsSome then notIndexed "a single parameter, not a family"
        else conform ctx exp r id.Name { Expr = IExpr.Sym p.Elements.[[]].Symbol; Shape = Shape.Scalar }
    | RParam p ->
        let form = p.Name + "[" + String.Join (", ", p.Axes |> List.map (fun (v, _, _) -> v)) + "]"
        match ix with
        | None ->
            report ctx Codes.IndexUse r (sprintf "%s is a family of %s; write %s" p.Name (plural p.Elements.Count "parameter") form) None
            None
        | Some _ ->
            match indices p.Axes.Length p.Name with
            | None -> None
            | Some ks ->
                let bad =
                    List.zip ks p.Axes
                    |> List.tryPick (fun (k, (v, lo, hi)) -> if k < lo || k > hi then Some (k, v, lo, hi) else None)
                match bad with
                | Some (k, v, lo, hi) ->
                    report ctx Codes.IndexRange r
                        (sprintf "index %d is out of range: %s is declared with %s in %d..%d" k p.Name v lo hi) None
                    None
                | None ->
                    let name = p.Name + "[" + String.Join (",", ks) + "]"
                    conform ctx exp r name { Expr = IExpr.Sym p.Elements.[ks].Symbol; Shape = Shape.Scalar }
    | RTrace t when t.Failed -> None
    | RTrace t ->
        if ix.IsSome then notIndexed "a trace"
        else
            let shape =
                match t.Shape with
                | Some s -> s
                | None ->
                    // Used in its own right-hand side or before it: assume the usual post×pre.
                    if not ctx.Silent then t.UsedBeforeKnown <- true
                    Variables.weight.Shape
            conform ctx exp r id.Name { Expr = IExpr.Sym { Name = t.Name; Shape = shape }; Shape = shape }
    | RTerm f ->
        match ix, f.Arity with
        | None, 0 -> termRef ctx exp f.Instances.[[]] r
        | None, n ->
            let known = f.Instances.Keys |> Seq.map (fun k -> f.Name + "[" + String.Join (",", k) + "]") |> Seq.truncate 4
            report ctx Codes.IndexUse r (sprintf "%s is a family of terms (%s…); write %s[...]" f.Name (String.Join (", ", known)) f.Name) None
            None
        | Some _, 0 -> notIndexed "a single term"
        | Some _, n ->
            match indices n f.Name with
            | None -> None
            | Some ks ->
                match f.Instances.TryGetValue ks with
                | true, d -> termRef ctx exp d r
                | _ ->
                    let defined = f.Instances.Keys |> Seq.map (fun k -> f.Name + "[" + String.Join (",", k) + "]") |> List.ofSeq
                    let shown = defined |> List.truncate 12
                    report ctx Codes.IndexRange r
                        (sprintf "term %s[%s] is not defined (defined: %s%s)" f.Name (String.Join (",", ks)) (String.Join (", ", shown))
                            (if defined.Length > shown.Length then ", …" else ""))
                        None
                    None
    | RVar v ->
        if ix.IsSome then notIndexed (sprintf "a %O variable (elements cannot be indexed)" v.Shape)
        else
            noteVar ctx v r None
            conform ctx exp r id.Name { Expr = IExpr.Sym v.Symbol; Shape = v.Shape }
    | RUnknown ->
        let msg, hint =
            if id.Name.StartsWith "δ" then
                sprintf "unknown name %s" id.Name, Some "tangents (δX) are derived by `ruledsl derive`, not written in rules"
            elif (Builtins.tryFind id.Name).IsSome then
                sprintf "%s is a function" id.Name, Some (sprintf "call it: %s" (usage id.Name 1))
            elif ctx.Rule.IsNone && id.Name.StartsWith "theta" then
                sprintf "unknown name %s" id.Name, Some "top-level terms cannot read a rule's parameters; multiply by them in the rule"
            elif isParamLike id.Name then
                // theta1 beside theta0 is a new coefficient more often than a typo of the old one.
                sprintf "unknown name %s" id.Name, Some (declareHint id.Name ix.IsSome)
            else
                sprintf "unknown name %s" id.Name,
                (match Suggest.nearest id.Name (namesInScope ctx) with
                 | n :: _ -> Some (sprintf "did you mean %s?" n)
                 | [] when ctx.Global.MissingIncludes -> Some "it may be defined in the include that could not be found"
                 | [] -> None)
        report ctx Codes.UnknownName r msg hint
        None

/// A reference to a term instance: check its definition once (in its own scope), then fit it
/// to what the context needs; on a mismatch, look inside the definition for the culprit.
and termRef (ctx: Ctx) (exp: Expect) (d: TermDef) (refRange: SourceRange) : Typed option =
    let key = d.File + "|" + d.Display
    let cache = if d.Global then ctx.Session.GlobalCache else ctx.Rule.Value.TermCache
    let defCtx (sink: Sink) =
        { ctx with
            Global = (if d.Global then ctx.Session.Scopes.[d.File] else ctx.Global)
            Rule = (if d.Global then None else ctx.Rule)
            Index = d.Env
            Sink = sink }
    ctx.Sink.TermsUsed.Add d
    let state =
        match cache.TryGetValue key with
        | true, s -> Some s
        | _ -> None
    let result =
        match state with
        | Some InProgress ->
            let inner = ctx.Session.Expanding |> List.takeWhile (fun k -> k <> d.Display) |> List.rev
            let chain = d.Display :: inner @ [ d.Display ]
            report ctx Codes.CyclicTerm refRange
                (sprintf "term %s is defined in terms of itself (%s)" d.Display (String.Join (" → ", chain))) None
            None
        | Some (Finished (t, vars)) -> Some (t, vars)
        | None ->
            let sink = if ctx.Silent then { newSink () with Diags = List () } else { ctx.Sink with Vars = List (); TermsUsed = ctx.Sink.TermsUsed }
            cache.[key] <- InProgress
            ctx.Session.Expanding <- d.Display :: ctx.Session.Expanding
            let t = elab (defCtx sink) Any d.Body
            ctx.Session.Expanding <- ctx.Session.Expanding.Tail
            let vars = sink.Vars |> Seq.map (fun (v, r, _) -> v, r) |> List.ofSeq
            if ctx.Silent then
                cache.Remove key |> ignore
                if sink.Diags.Count > 0 then ctx.Sink.Diags.Add sink.Diags.[0]
            else cache.[key] <- Finished (t, vars)
            Some (t, vars)
    match result with
    | None -> None
    | Some (t, vars) ->
        let vars = vars |> List.map fst |> List.distinctBy (fun v -> v.Name)
        // One error per reference, naming every variable of the other setting the term reads.
        match ctx.Rule with
        | Some r when r.Declared.IsSome ->
            let s = r.Declared.Value
            let wrong = vars |> List.filter (fun v -> not (List.contains s v.Settings))
            for v in vars do ctx.Sink.Vars.Add ((v, refRange, Some d.Display))
            if not wrong.IsEmpty then
                let other = wrong.Head.Settings |> List.map Variables.settingName |> String.concat "/"
                let names = String.Join (", ", wrong |> List.map (fun v -> v.Name))
                report ctx Codes.WrongSetting refRange
                    (sprintf "term %s reads %s (%s); rule %s is %s" d.Display names other r.RuleName (Variables.settingName s))
                    (Some (sprintf "%s rules read %s" (Variables.settingName s) (String.Join (", ", Variables.ofSetting s |> List.map (fun x -> x.Name)))))
        | _ ->
            for v in vars do noteVar ctx v refRange (Some d.Display)
        match t with
        | None -> None
        | Some t when fits exp t.Shape -> Some t
        | Some t ->
            // Find the culprit inside the definition, with the expectation of this use.
            let before = ctx.Sink.Diags.Count
            let sink = { ctx.Sink with Vars = List () }
            elabWithRepairs (defCtx sink) exp d.Body |> ignore
            if ctx.Sink.Diags.Count = before then
                conform ctx exp refRange d.Display t |> ignore
            None

and private elabCall (ctx: Ctx) (exp: Expect) (id: Ident) (args: Arg list) (r: SourceRange) : Typed option =
    let positional = args |> List.choose (function Positional a -> Some a | _ -> None)
    let bindings = args |> List.choose (function Binding b -> Some b | _ -> None)
    match Builtins.tryFind id.Name with
    | Some b when b.Name = "sum" && not bindings.IsEmpty -> elabSum ctx exp args r
    | Some b when b.Notation = Notation.Prefix ->
        if not bindings.IsEmpty then
            report ctx Codes.MisplacedRange bindings.Head.Range
                (sprintf "a range (%s in ...) is only allowed in sum(...)" bindings.Head.Var.Name) None
            None
        else
            match b.Arity with
            | Some n when n <> positional.Length ->
                report ctx Codes.Arity r
                    (sprintf "%s takes %s, got %d" b.Name (plural n "argument") positional.Length)
                    (Some (sprintf "write %s" (usage b.Name n)))
                None
            | _ ->
                // Arguments that must be numbers (softplus β, clip bounds).
                let argName i =
                    match builtinUsage.TryGetValue b.Name with
                    | true, u -> (u.Split('(').[1].Split([| ','; ')' |]).[i]).Trim ()
                    | _ -> sprintf "argument %d" (i + 1)
                let consts =
                    positional
                    |> List.mapi (fun i a ->
                        if List.contains i b.ConstantArgs then
                            Some (i, evalConst ctx (sprintf "%s in %s" (argName i) (usage b.Name positional.Length)) a)
                        else None)
                    |> List.choose (fun x -> x)
                if consts |> List.exists (fun (_, v) -> v.IsNone) then
                    // Still check the other arguments, for their own errors.
                    positional |> List.iteri (fun i a -> if not (List.contains i b.ConstantArgs) then elab ctx Any a |> ignore)
                    None
                else
                    let constOf i = consts |> List.find (fun (j, _) -> j = i) |> snd |> Option.get
                    let argExp (i: int) : Expect =
                        match b.Fn, exp with
                        | Fn.Outer, Like (Shape.Matrix (rows, cols), _, _) ->
                            let want = if i = 0 then rows else cols
                            Like (Shape.Vector want, false,
                                  sprintf "outer(a, b) needs a %s vector %s here (for a %O)" want (if i = 0 then "first" else "second")
                                      (Shape.Matrix (rows, cols)))
                        | _ when b.Linq.IsSome && i = 0 -> elemOf exp
                        | _ -> Any
                    // When the first argument of outer does not fit, the second is checked on
                    // its own: one error (and the hint) says it, not two.
                    let typed =
                        positional
                        |> List.fold (fun (acc: Typed option list) a ->
                            let i = acc.Length
                            let t =
                                if List.contains i b.ConstantArgs then Some { Expr = IExpr.Num (constOf i); Shape = Shape.Scalar }
                                elif b.Fn = Fn.Outer && i = 1 && acc.Head.IsNone then elab ctx Any a
                                else elab ctx (argExp i) a
                            acc @ [ t ]) []
                    if typed |> List.exists Option.isNone then None
                    else
                        let ts = typed |> List.map Option.get
                        match b.ShapeRule (ts |> List.map (fun t -> t.Shape)) with
                        | Error m ->
                            report ctx Codes.ShapeMismatch r ("shape mismatch: " + m) None
                            None
                        | Ok s -> conform ctx exp r (describe (Call (id, args, r))) { Expr = IExpr.Call (b.Fn, ts |> List.map (fun t -> t.Expr)); Shape = s }
    | Some b ->
        let hint = if b.Fn = Fn.Transpose then "write the transpose as x'" else "write a @ b for the matrix product"
        report ctx Codes.UnknownFunction id.Range (sprintf "%s is an operator, not a function" b.Name) (Some hint)
        None
    | None ->
        let msg =
            match resolve ctx id.Name with
            | RUnknown -> sprintf "unknown function %s" id.Name
            | _ -> sprintf "%s is not a function" id.Name
        let hint =
            match Suggest.nearest id.Name Builtins.functionNames with
            | n :: _ -> Some (sprintf "did you mean %s?" n)
            | [] -> Some ("the functions are " + String.Join (", ", Builtins.functionNames))
        report ctx Codes.UnknownFunction id.Range msg hint
        None

and private elabSum (ctx: Ctx) (exp: Expect) (args: Arg list) (r: SourceRange) : Typed option =
    let rec split acc (xs: Arg list) =
        match xs with
        | [ Positional body ] -> Some (List.rev acc, body)
        | Binding b :: rest -> split (b :: acc) rest
        | _ -> None
    match split [] args with
    | None ->
        report ctx Codes.MisplacedRange r "a sum over ranges is written sum(k in lo..hi, l in lo..hi, body): the ranges first, then one body" None
        None
    | Some (bindings, body) ->
        match expandRanges ctx bindings with
        | None -> None
        | Some envs ->
            let parts = envs |> List.map (fun env -> elab { ctx with Index = env } exp body)
            if parts |> List.exists Option.isNone then None
            else
                let ts = parts |> List.map Option.get
                let shape = ts |> List.fold (fun acc t -> acc |> Result.bind (fun s -> Shape.broadcast s t.Shape)) (Ok Shape.Scalar)
                match shape with
                | Error m ->
                    report ctx Codes.ShapeMismatch (Ast.rangeOf body) ("shape mismatch: the terms of this sum differ in shape: " + m) None
                    None
                | Ok s ->
                    let expr = match ts with [ t ] -> t.Expr | ts -> IExpr.Add (ts |> List.map (fun t -> t.Expr))
                    conform ctx exp r (describe (Call ({ Name = "sum"; Range = r }, args, r))) { Expr = expr; Shape = s }

/// Check an expression; when it has errors, try single edits and attach the first one that
/// removes an error as a hint ("did you mean outer(e_post, e_pre)?").
and elabWithRepairs (ctx: Ctx) (exp: Expect) (e: AExpr) : Typed option =
    if ctx.Silent then elab ctx exp e
    else
        let local = { ctx.Sink with Diags = List () }
        let result = elab { ctx with Sink = local } exp e
        let errors = local.Diags |> Seq.filter (fun d -> d.IsError) |> Seq.distinctBy diagKey |> List.ofSeq
        let repairable =
            // A guess ("did you mean …") may be sharpened by a repair; an instruction ("declare it") is kept.
            errors
            |> List.filter (fun d -> d.Hint.IsNone || (d.Code = Codes.UnknownName && d.Hint.Value.StartsWith "did you mean"))
            |> List.map diagKey
            |> set
        let hints = Dictionary<string * SourceRange option, string> ()
        if not repairable.IsEmpty then
            let names = namesInScope ctx
            let original = errors |> List.map diagKey |> set
            for (candidate, anchor, editRange) in edits names e do
                if hints.Count < repairable.Count then
                    let scratch = newSink ()
                    elab { ctx with Sink = scratch; Silent = true } exp candidate |> ignore
                    let after = scratch.Diags |> Seq.filter (fun d -> d.IsError) |> Seq.map diagKey |> set
                    if after.Count < original.Count && Set.isSubset after original then
                        for fixedKey in Set.difference original after do
                            let inside = match snd fixedKey with Some fr -> SourceRange.contains (Ast.rangeOf anchor) fr || SourceRange.contains editRange fr | None -> false
                            if repairable.Contains fixedKey && inside && not (hints.ContainsKey fixedKey) then
                                hints.[fixedKey] <- sprintf "did you mean %s?" (Ast.print anchor)
        for d in local.Diags do
            match hints.TryGetValue (diagKey d) with
            | true, h -> ctx.Sink.Diags.Add { d with Hint = Some h }
            | _ -> ctx.Sink.Diags.Add d
        result
