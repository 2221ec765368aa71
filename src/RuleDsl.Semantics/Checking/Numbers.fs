/// Numbers known while checking: consts, indices and the index ranges that expand term families and sums.
module internal RuleDsl.Semantics.Checking.Numbers

open System
open System.Collections.Generic
open RuleDsl.Semantics
open RuleDsl.Symbolic
open RuleDsl.Syntax
open RuleDsl.Syntax.Ast
open RuleDsl.Semantics.Checking.Scopes

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
