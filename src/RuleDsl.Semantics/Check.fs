namespace RuleDsl.Semantics

open System
open System.Collections.Generic
open RuleDsl.Symbolic
open RuleDsl.Syntax
open RuleDsl.Syntax.Ast

type private IExpr = RuleDsl.Symbolic.Expr
type private AExpr = RuleDsl.Syntax.Ast.Expr

/// An expression after checking: its IR and its shape.
type Typed = { Expr: RuleDsl.Symbolic.Expr; Shape: Shape }

/// What the context needs of an expression's shape. `Like (s, true, why)` also accepts a scalar
/// (elementwise broadcasting); `why` finishes the sentence "x is a pre vector, …".
type Expect =
    | Any
    | Like of Shape * allowScalar: bool * why: string

/// The result of checking files: the rules that checked clean, and every diagnostic.
type CheckedFile = { Path: string; Rules: Rule list }

type CheckResult =
    { Files: CheckedFile list
      Diagnostics: Diagnostic list
      Program: Program }

    member this.HasErrors = this.Diagnostics |> List.exists (fun d -> d.IsError)
    member this.Rules = this.Files |> List.collect (fun f -> f.Rules)

/// Name resolution, index expansion, shape checking and lowering to the rule IR.
module Check =
    // ------------------------------------------------------------------ definitions and scopes

    type TermDef =
        { Family: string
          Index: int list
          Body: AExpr
          /// Values of the index variables bound on the left (term F[k in 0..2] = …).
          Env: Map<string, int>
          Loc: SourceRange
          /// Defined at file top level (visible to every rule that includes the file).
          Global: bool
          File: string }

        member this.Display =
            if this.Index.IsEmpty then this.Family
            else this.Family + "[" + String.Join (",", this.Index) + "]"

    type TermFamily =
        { Name: string
          Arity: int
          Loc: SourceRange
          Instances: Dictionary<int list, TermDef> }

    type ConstState =
        | Pending
        | Evaluating
        | Done of float option

    type ConstDef =
        { Name: string
          Body: AExpr
          Loc: SourceRange
          File: string
          mutable State: ConstState }

    type ParamFamily =
        { Name: string
          /// (index variable, lo, hi) per axis; [] for a plain parameter.
          Axes: (string * int * int) list
          Loc: SourceRange
          Elements: Dictionary<int list, Param> }

    type TraceDecl =
        { Name: string
          Kind: TraceKind
          Body: AExpr
          Loc: SourceRange
          mutable Shape: Shape option
          mutable UsedBeforeKnown: bool
          /// Its right-hand side had errors: uses of it stay quiet.
          mutable Failed: bool }

    /// Top-level definitions one file sees (its own and its includes').
    type GlobalScope =
        { Terms: Dictionary<string, TermFamily>
          Consts: Dictionary<string, ConstDef>
          /// An include of this file (or of its includes) could not be loaded.
          MissingIncludes: bool }

    type RuleScope =
        { RuleName: string
          Declared: Setting option
          Params: Dictionary<string, ParamFamily>
          Consts: Dictionary<string, ConstDef>
          Terms: Dictionary<string, TermFamily>
          Traces: Dictionary<string, TraceDecl>
          TermCache: Dictionary<string, InstanceState> }

    and InstanceState =
        | InProgress
        | Finished of Typed option * (Variable * SourceRange) list

    /// Where a check writes what it finds. A scratch sink is thrown away (trial repairs).
    type Sink =
        { Diags: List<Diagnostic>
          /// Variables read, with where (for the setting of the rule).
          Vars: List<Variable * SourceRange * string option>
          TermsUsed: List<TermDef> }

    let private newSink () = { Diags = List (); Vars = List (); TermsUsed = List () }

    /// The state shared by one check run.
    type Session =
        { Program: Program
          GlobalCache: Dictionary<string, InstanceState>
          Scopes: Dictionary<string, GlobalScope>
          /// Terms being expanded, innermost first (to report cycles).
          mutable Expanding: string list }

    type Ctx =
        { Session: Session
          Global: GlobalScope
          Rule: RuleScope option
          Index: Map<string, int>
          Sink: Sink
          /// Trial runs (repair search): no caching, no repair search of their own.
          Silent: bool }

    // ------------------------------------------------------------------ small helpers

    let private report (ctx: Ctx) (code: Code) (range: SourceRange) (msg: string) (hint: string option) =
        let d = Diagnostic.at code range msg
        ctx.Sink.Diags.Add (match hint with Some h -> Diagnostic.withHint h d | None -> d)

    /// A parameter's initial value (from `param` or `init`) must lie within its `min` .. `max`.
    let private checkInBounds (ctx: Ctx) (range: SourceRange) (name: string) (v: float) (lo: float) (hi: float) =
        if v < lo || v > hi then
            let show (b: float) = if Double.IsNegativeInfinity b then "-inf" elif Double.IsPositiveInfinity b then "inf" else sprintf "%g" b
            report ctx Codes.BadBounds range
                (sprintf "the initial value of %s, %g, is outside its bounds %s .. %s" name v (show lo) (show hi))
                (Some "start the parameter inside min .. max; meta-learning keeps it there")

    let private shortText (e: AExpr) =
        let s = Ast.print e
        if s.Length <= 48 then s else s.Substring (0, 45) + "..."

    /// How a node is named in a message.
    let private describe (e: AExpr) =
        match e with
        | Number (_, t, _) -> "the number " + t
        | e -> shortText e

    let private elemOf (exp: Expect) =
        match exp with
        | Any -> Any
        | Like (s, _, why) -> Like (s, true, why)

    let private fits (exp: Expect) (s: Shape) =
        match exp with
        | Any -> true
        | Like (want, allowScalar, _) -> s = want || (allowScalar && s = Shape.Scalar)

    let private conform (ctx: Ctx) (exp: Expect) (range: SourceRange) (what: string) (t: Typed) : Typed option =
        match exp with
        | Like (want, _, why) when not (fits exp t.Shape) ->
            report ctx Codes.ShapeMismatch range (sprintf "shape mismatch: %s is a %O, %s" what t.Shape why) None
            None
        | _ -> Some t

    let private plural n (word: string) =
        if n = 1 then sprintf "%d %s" n word
        elif word = "index" then sprintf "%d indices" n
        else sprintf "%d %ss" n word

    let private builtinUsage =
        dict [ "outer", "outer(a, b)"; "dot", "dot(a, b)"; "clip", "clip(x, lo, hi)"; "between", "between(x, lo, hi)"
               "softplus", "softplus(z, beta)"; "sum", "sum(x), or sum(k in lo..hi, body)" ]

    let private usage (name: string) (arity: int) =
        match builtinUsage.TryGetValue name with
        | true, u -> u
        | _ -> name + "(" + String.Join (", ", List.init arity (fun i -> [| "x"; "y"; "z" |].[min i 2])) + ")"

    let reservedWords = set [ "rule"; "include"; "param"; "init"; "const"; "term"; "trace"; "in"; "dW" ]

    // ------------------------------------------------------------------ name lookup

    type private Resolved =
        | RIndex of int
        | RConst of ConstDef
        | RParam of ParamFamily
        | RTrace of TraceDecl
        | RTerm of TermFamily
        | RVar of Variable
        | RUnknown

    let private resolve (ctx: Ctx) (name: string) : Resolved =
        match ctx.Index.TryFind name with
        | Some k -> RIndex k
        | None ->
            let tryRule f = match ctx.Rule with Some r -> f r | None -> None
            let get (d: Dictionary<string, 'a>) = match d.TryGetValue name with | true, v -> Some v | _ -> None
            match tryRule (fun r -> get r.Consts) with
            | Some c -> RConst c
            | None ->
            match tryRule (fun r -> get r.Params) with
            | Some p -> RParam p
            | None ->
            match tryRule (fun r -> get r.Traces) with
            | Some t -> RTrace t
            | None ->
            match tryRule (fun r -> get r.Terms) with
            | Some t -> RTerm t
            | None ->
            match get ctx.Global.Consts with
            | Some c -> RConst c
            | None ->
            match get ctx.Global.Terms with
            | Some t -> RTerm t
            | None ->
            match Variables.tryFind name with
            | Some v -> RVar v
            | None -> RUnknown

    /// Names written like a meta-learned coefficient (theta1, thetaR, theta[k]): when undeclared,
    /// the fix is to declare them, not to read a neighbouring coefficient.
    let private isParamLike (name: string) = name.StartsWith ("theta", StringComparison.Ordinal)

    let private declareHint (name: string) (indexed: bool) =
        if indexed then sprintf "declare it: param %s[k in 0..N] = <initial value>" name
        else sprintf "declare it: param %s = <initial value>" name

    /// Every name that could be meant at this point, for "did you mean".
    let private namesInScope (ctx: Ctx) : string list =
        [ yield! ctx.Index |> Map.keys
          match ctx.Rule with
          | Some r ->
              yield! r.Consts.Keys
              yield! r.Params.Keys
              yield! r.Traces.Keys
              yield! r.Terms.Keys
              let vars = match r.Declared with Some s -> Variables.ofSetting s | None -> Variables.all
              yield! vars |> List.map (fun v -> v.Name)
          | None -> yield! Variables.all |> List.map (fun v -> v.Name)
          yield! ctx.Global.Consts.Keys
          yield! ctx.Global.Terms.Keys ]

    // ------------------------------------------------------------------ numbers and indices

    /// Evaluate a constant expression (numbers, consts, index variables, arithmetic, elementwise
    /// functions of numbers). `what` names what needs the number, for the message.
    let rec evalConst (ctx: Ctx) (what: string) (e: AExpr) : float option =
        let ev = evalConst ctx what
        let notNumber (range: SourceRange) (why: string) =
            report ctx Codes.NumberRequired range (sprintf "%s must be a number; %s" what why) None
            None
        match e with
        | Number (v, _, _) -> Some v
        | Paren (x, _) -> ev x
        | Neg (x, _) -> ev x |> Option.map (fun v -> -v)
        | Binary (op, a, b, opR, _) ->
            match ev a, ev b with
            | Some x, Some y ->
                match op with
                | BinOp.Add -> Some (x + y)
                | BinOp.Sub -> Some (x - y)
                | BinOp.Mul -> Some (x * y)
                | BinOp.Div -> Some (x / y)
                | BinOp.Pow -> Some (Kernels.Pow (x, y))
                | BinOp.MatMul -> notNumber opR "@ is a matrix product"
            | _ -> None
        | Name (id, None, r) ->
            match resolve ctx id.Name with
            | RIndex k -> Some (float k)
            | RConst c -> constValue ctx c r
            | RParam _ -> notNumber r (sprintf "%s is a meta-learned parameter (use a const for a fixed number)" id.Name)
            | RTrace _ -> notNumber r (sprintf "%s is a trace" id.Name)
            | RTerm _ -> notNumber r (sprintf "%s is a term" id.Name)
            | RVar v -> notNumber r (sprintf "%s is a %O" id.Name v.Shape)
            | RUnknown ->
                let hint = match Suggest.nearest id.Name (namesInScope ctx) with n :: _ -> Some (sprintf "did you mean %s?" n) | [] -> None
                report ctx Codes.UnknownName r (sprintf "unknown name %s" id.Name) hint
                None
        | Name (id, Some _, r) -> notNumber r (sprintf "%s[...] is not a constant" id.Name)
        | Call (id, args, r) ->
            match Builtins.tryFind id.Name with
            | Some b when b.Linq.IsSome && b.Arity = Some args.Length ->
                let vals = args |> List.map (function Positional a -> ev a | Binding bd -> notNumber bd.Range "a range is not a number")
                if vals |> List.forall Option.isSome then
                    match b.Eval (vals |> List.map (fun v -> Value.Scalar v.Value)) with
                    | Value.Scalar v -> Some v
                    | _ -> None
                else None
            | _ -> notNumber r (sprintf "%s is not a constant" (shortText e))
        | Transpose (_, r) -> notNumber r "a transpose is not a number"

    and constValue (ctx: Ctx) (c: ConstDef) (useAt: SourceRange) : float option =
        match c.State with
        | Done v -> v
        | Evaluating ->
            report ctx Codes.CyclicTerm useAt (sprintf "const %s is defined in terms of itself" c.Name) None
            None
        | Pending ->
            c.State <- Evaluating
            // A const is evaluated where it was defined: a top-level one sees only top-level names.
            let defCtx =
                if c.File <> "" && ctx.Rule.IsSome && not (ctx.Rule.Value.Consts.ContainsKey c.Name && Object.ReferenceEquals (ctx.Rule.Value.Consts.[c.Name], c)) then
                    { ctx with Rule = None; Index = Map.empty; Global = ctx.Session.Scopes.[c.File] }
                else { ctx with Index = Map.empty }
            let v = evalConst defCtx (sprintf "the value of const %s" c.Name) c.Body
            c.State <- Done v
            v

    /// An index: an integer expression of numbers, consts and index variables.
    let evalIndex (ctx: Ctx) (e: AExpr) : int option =
        match evalConst ctx "an index" e with
        | Some v when v = Math.Round v && abs v < 1e9 -> Some (int v)
        | Some v ->
            report ctx Codes.NumberRequired (Ast.rangeOf e) (sprintf "an index must be a whole number, got %s" (Ast.numberText v)) None
            None
        | None -> None

    /// Expand index ranges `k in lo..hi, l in lo..hi` into every combination (row-major).
    let expandRanges (ctx: Ctx) (bindings: Binding list) : Map<string, int> list option =
        let seen = HashSet<string> ()
        let twice = bindings |> List.filter (fun b -> not (seen.Add b.Var.Name))
        for b in twice do
            report ctx Codes.Duplicate b.Var.Range (sprintf "index variable %s is bound twice" b.Var.Name) None
        let rec go (ctx: Ctx) (bs: Binding list) : Map<string, int> list option =
            match bs with
            | [] -> Some [ ctx.Index ]
            | b :: rest ->
                    match evalIndex ctx b.Lo, evalIndex ctx b.Hi with
                    | Some lo, Some hi when lo > hi ->
                        report ctx Codes.BadRange b.Range (sprintf "empty range %d..%d: the lower bound is above the upper one" lo hi) None
                        None
                    | Some lo, Some hi ->
                        let parts = [ for k in lo..hi -> go { ctx with Index = ctx.Index.Add (b.Var.Name, k) } rest ]
                        if parts |> List.forall Option.isSome then Some (parts |> List.collect Option.get) else None
                    | _ -> None
        match (if twice.IsEmpty then go ctx bindings else None) with
        | Some envs when envs.Length > 100000 ->
            report ctx Codes.BadRange (bindings.Head.Range) (sprintf "these ranges expand to %d terms; the limit is 100000" envs.Length) None
            None
        | r -> r

    // ------------------------------------------------------------------ settings

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

    // ------------------------------------------------------------------ repairs ("did you mean …?")

    /// Single edits of an expression that often fix a shape or name error: swapped arguments of
    /// outer/dot, pre↔post, a transpose added or removed, a misspelt name. Each comes with the
    /// innermost call around the edit (what the hint shows) and the edited range.
    let private edits (names: string list) (e: AExpr) : (AExpr * AExpr * SourceRange) list =
        let swapPrePost (n: string) =
            if n.EndsWith "_pre" then Some (n.Substring (0, n.Length - 4) + "_post")
            elif n.EndsWith "_post" then Some (n.Substring (0, n.Length - 5) + "_pre")
            else None
        let local (e: AExpr) : (int * AExpr) list =
            match e with
            | Call (id, [ Positional a; Positional b ], r) when id.Name = "outer" || id.Name = "dot" ->
                [ 1, Call (id, [ Positional b; Positional a ], r) ]
            | Name (id, None, r) ->
                [ match Variables.tryFind id.Name with
                  | Some v ->
                      match swapPrePost id.Name with
                      | Some n when (Variables.tryFind n).IsSome -> yield 2, Name ({ id with Name = n }, None, r)
                      | _ -> ()
                      match v.Shape with
                      | Shape.Matrix _ -> yield 3, Transpose (e, r)
                      | _ -> ()
                  | None when not (List.contains id.Name names) ->
                      for n in Suggest.nearest id.Name names |> List.truncate 3 do
                          yield 0, Name ({ id with Name = n }, None, r)
                  | None -> () ]
            | Call (id, args, r) when (Builtins.tryFind id.Name).IsNone ->
                [ for n in Suggest.nearest id.Name Builtins.functionNames |> List.truncate 3 -> 0, Call ({ id with Name = n }, args, r) ]
            | Transpose (x, _) -> [ 3, x ]
            | _ -> []
        // (edited tree, anchor, anchor is a call, edited range, priority)
        let rec go (e: AExpr) : (AExpr * AExpr * bool * SourceRange * int) list =
            let here = local e |> List.map (fun (p, e') -> e', e', false, Ast.rangeOf e, p)
            let inChild (child: AExpr) (rebuild: AExpr -> AExpr) =
                go child
                |> List.map (fun (c', anchor, isCall, r, p) ->
                    let e' = rebuild c'
                    match e' with
                    | Call _ when not isCall -> e', e', true, r, p
                    | _ -> e', anchor, isCall, r, p)
            let children =
                match e with
                | Number _ -> []
                | Name (id, Some ix, r) ->
                    ix |> List.mapi (fun i x -> inChild x (fun x' -> Name (id, Some (ix |> List.mapi (fun j y -> if i = j then x' else y)), r)))
                    |> List.concat
                | Name _ -> []
                | Call (id, args, r) ->
                    args
                    |> List.mapi (fun i a ->
                        match a with
                        | Positional x ->
                            inChild x (fun x' -> Call (id, args |> List.mapi (fun j y -> if i = j then Positional x' else y), r))
                        | Binding _ -> [])
                    |> List.concat
                | Neg (x, r) -> inChild x (fun x' -> Neg (x', r))
                | Binary (op, a, b, o, r) -> inChild a (fun a' -> Binary (op, a', b, o, r)) @ inChild b (fun b' -> Binary (op, a, b', o, r))
                | Transpose (x, r) -> inChild x (fun x' -> Transpose (x', r))
                | Paren (x, r) -> inChild x (fun x' -> Paren (x', r))
            here @ children
        go e
        |> List.sortBy (fun (_, _, _, _, p) -> p) // stable: names, swaps, pre/post, transposes
        |> List.map (fun (e', anchor, _, r, _) -> e', anchor, r)

    let private diagKey (d: Diagnostic) = d.Code.Id, d.Range

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
    and private termRef (ctx: Ctx) (exp: Expect) (d: TermDef) (refRange: SourceRange) : Typed option =
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

    // ------------------------------------------------------------------ declarations

    /// Register a term definition (one instance, or a family over ranges) in a scope.
    let private declareTerm (ctx: Ctx) (terms: Dictionary<string, TermFamily>) (isGlobal: bool) (file: string) (id: Ident) (specs: IndexSpec list) (body: AExpr) =
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
    let private buildScopes (session: Session) (diags: List<Diagnostic>) =
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

    // ------------------------------------------------------------------ rules

    let private toLoc (r: SourceRange) : SourceLoc = { File = r.File; Line = r.Start.Line; Column = r.Start.Col }

    let private checkRule (session: Session) (fileKey: string) (diags: List<Diagnostic>) (block: RuleBlock) : Rule option =
        let scope = session.Scopes.[fileKey]
        let sink = { newSink () with Diags = List () }
        let declared =
            match block.Setting with
            | None -> None
            | Some s ->
                match Choice.tryParse<Setting> s.Name with
                | Some setting -> Some setting
                | None ->
                    let d = Diagnostic.at Codes.UnknownName s.Range (sprintf "unknown setting %s (a rule is feedforward or recurrent)" s.Name)
                    sink.Diags.Add (match Suggest.nearest s.Name (Choice.words<Setting> ()) with n :: _ -> Diagnostic.withHint (sprintf "did you mean %s?" n) d | [] -> d)
                    None
        let rs =
            { RuleName = block.Name.Name
              Declared = declared
              Params = Dictionary ()
              Consts = Dictionary ()
              Terms = Dictionary ()
              Traces = Dictionary ()
              TermCache = Dictionary () }
        let ctx = { Session = session; Global = scope; Rule = Some rs; Index = Map.empty; Sink = sink; Silent = false }
        let defined = Dictionary<string, SourceRange> ()
        let paramOrder = List<ParamFamily> ()
        let declare (id: Ident) (kind: string) =
            if (Variables.tryFind id.Name).IsSome || (Builtins.tryFind id.Name).IsSome || reservedWords.Contains id.Name then
                let what =
                    if (Variables.tryFind id.Name).IsSome then "a variable (see `ruledsl vars`)"
                    elif reservedWords.Contains id.Name then "a keyword"
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
        // 1. declarations, in order
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
        // 2. consts (each once, so errors are reported once)
        for c in rs.Consts.Values do constValue ctx c c.Loc |> ignore
        // 3. parameters: expand, defaults
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
        // 4. inits
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
        // 5. traces
        let traceOrder = block.Body |> List.choose (fun s -> match s.Stmt with Trace (id, _, _) when rs.Traces.ContainsKey id.Name && rs.Traces.[id.Name].Loc = s.Range -> Some (s, rs.Traces.[id.Name]) | _ -> None)
        let dt = (Variables.tryFind "dt").Value
        let traces =
            traceOrder
            |> List.choose (fun (s, t) ->
                match declared with
                | Some Setting.Feedforward ->
                    report ctx Codes.TraceSetting s.Keyword
                        (sprintf "traces belong to recurrent rules; rule %s is feedforward" block.Name.Name)
                        (Some "declare the rule recurrent (rule NAME : recurrent), or fold the trace into dW")
                    None
                | _ ->
                    if t.Kind = Continuous then sink.Vars.Add ((dt, s.Keyword, Some ("trace " + t.Name)))
                    match elabWithRepairs ctx Any t.Body with
                    | None ->
                        t.Failed <- true
                        None
                    | Some rate ->
                        let ok =
                            match rate.Shape with
                            | Shape.Matrix ("post", "pre") | Shape.Vector _ | Shape.Scalar -> true
                            | _ -> false
                        if not ok then
                            t.Failed <- true
                            report ctx Codes.TraceShape (Ast.rangeOf t.Body)
                                (sprintf "trace %s would be a %O; a trace is a post×pre matrix (like W), a vector or a scalar" t.Name rate.Shape)
                                None
                            None
                        elif t.UsedBeforeKnown && rate.Shape <> Variables.weight.Shape then
                            t.Failed <- true
                            report ctx Codes.TraceShape (Ast.rangeOf t.Body)
                                (sprintf "trace %s is used in its own right-hand side (or before it), which needs it to be a post×pre matrix; this is a %O" t.Name rate.Shape)
                                None
                            None
                        else
                            t.Shape <- Some rate.Shape
                            let sym = { Name = t.Name; Shape = rate.Shape }
                            let next =
                                match t.Kind with
                                | Continuous -> IExpr.Add [ IExpr.Sym sym; IExpr.Mul [ IExpr.Sym dt.Symbol; rate.Expr ] ]
                                | Accumulate -> IExpr.Add [ IExpr.Sym sym; rate.Expr ]
                            Some
                                { RuleDsl.Semantics.Trace.Symbol = sym
                                  Next = next
                                  Rate = rate.Expr
                                  Continuous = (t.Kind = Continuous)
                                  Loc = toLoc s.Range })
        // 6. the update
        if updates.Count > 1 then
            for (s, _) in updates |> Seq.skip 1 do
                report ctx Codes.TwoUpdates s.Keyword
                    (sprintf "rule %s has a second update; the first is at %O" block.Name.Name (fst updates.[0]).Keyword)
                    (Some "combine them into one: dW = first + second")
        let update =
            if updates.Count = 0 && block.Incomplete then None
            elif updates.Count = 0 then
                report ctx Codes.NoUpdate block.Name.Range (sprintf "rule %s has no update" block.Name.Name) (Some "add a line dW = ... to the rule")
                None
            else
                let (s, value) = updates.[0]
                let w = Variables.weight
                elabWithRepairs ctx (Like (w.Shape, false, "dW must be a post×pre matrix (the shape of W)")) value
                |> Option.map (fun t -> s, t)
        // 7. the setting
        let setting =
            match declared with
            | Some s -> Some s
            | None ->
                let only s = sink.Vars |> Seq.filter (fun (v, _, _) -> v.Settings = [ s ]) |> List.ofSeq
                let traceEvidence = traceOrder |> List.map (fun (s, t) -> s.Keyword, "trace " + t.Name)
                let ff = only Setting.Feedforward
                let rc = only Setting.Recurrent
                let firstRec =
                    (rc |> List.map (fun (v, r, via) -> r, (match via with Some t -> sprintf "%s (in %s)" v.Name t | None -> v.Name)))
                    @ traceEvidence
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
        // 8. warnings: unused parameters and local terms
        let reads =
            [ match update with Some (_, t) -> yield t.Expr | None -> ()
              for t in traces -> t.Next ]
            |> List.collect RuleDsl.Symbolic.Expr.symbols
            |> List.map (fun s -> s.Name)
            |> set
        // Only for rules that are otherwise sound: after an error "unused" is noise.
        if update.IsSome && traces.Length = traceOrder.Length && not (sink.Diags |> Seq.exists (fun d -> d.IsError)) then
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
            let used = sink.TermsUsed |> Seq.map (fun d -> d.Family) |> set
            for fam in rs.Terms.Values do
                if not (used.Contains fam.Name) then
                    report ctx Codes.UnusedTerm fam.Loc (sprintf "term %s is never used" fam.Name) None
        let hasErrors = sink.Diags |> Seq.exists (fun d -> d.IsError)
        diags.AddRange sink.Diags
        match update, setting with
        | Some (s, u), Some setting when not hasErrors && traces.Length = traceOrder.Length ->
            let traceNames = traces |> List.map (fun t -> t.Symbol.Name) |> set
            let inputs =
                (u.Expr :: (traces |> List.map (fun t -> t.Next)))
                |> List.collect RuleDsl.Symbolic.Expr.symbols
                |> List.distinct
                |> List.filter (fun s -> (Variables.tryFind s.Name).IsSome && not (traceNames.Contains s.Name))
            let termsUsed =
                sink.TermsUsed
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
            Some
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
        | _ -> None

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
