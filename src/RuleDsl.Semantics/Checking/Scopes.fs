/// What one check run works with: the checked-expression and expectation types, the definitions and
/// scopes of files and rules, the context a check runs in, how it reports, and how a name is looked up.
module internal RuleDsl.Semantics.Checking.Scopes

open System
open System.Collections.Generic
open RuleDsl.Semantics
open RuleDsl.Symbolic
open RuleDsl.Syntax
open RuleDsl.Syntax.Ast

type IExpr = RuleDsl.Symbolic.Expr
type AExpr = RuleDsl.Syntax.Ast.Expr

/// An expression after checking: its IR and its shape.
type Typed = { Expr: RuleDsl.Symbolic.Expr; Shape: Shape }

/// What the context needs of an expression's shape. `Like (s, true, why)` also accepts a scalar
/// (elementwise broadcasting); `why` finishes the sentence "x is a pre vector, …".
type Expect =
    | Any
    | Like of Shape * allowScalar: bool * why: string

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

let newSink () = { Diags = List (); Vars = List (); TermsUsed = List () }

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

let report (ctx: Ctx) (code: Code) (range: SourceRange) (msg: string) (hint: string option) =
    let d = Diagnostic.at code range msg
    ctx.Sink.Diags.Add (match hint with Some h -> Diagnostic.withHint h d | None -> d)

/// A parameter's initial value (from `param` or `init`) must lie within its `min` .. `max`.
let checkInBounds (ctx: Ctx) (range: SourceRange) (name: string) (v: float) (lo: float) (hi: float) =
    if v < lo || v > hi then
        let show (b: float) = if Double.IsNegativeInfinity b then "-inf" elif Double.IsPositiveInfinity b then "inf" else sprintf "%g" b
        report ctx Codes.BadBounds range
            (sprintf "the initial value of %s, %g, is outside its bounds %s .. %s" name v (show lo) (show hi))
            (Some "start the parameter inside min .. max; meta-learning keeps it there")

let shortText (e: AExpr) =
    let s = Ast.print e
    if s.Length <= 48 then s else s.Substring (0, 45) + "..."

/// How a node is named in a message.
let describe (e: AExpr) =
    match e with
    | Number (_, t, _) -> "the number " + t
    | e -> shortText e

let elemOf (exp: Expect) =
    match exp with
    | Any -> Any
    | Like (s, _, why) -> Like (s, true, why)

let fits (exp: Expect) (s: Shape) =
    match exp with
    | Any -> true
    | Like (want, allowScalar, _) -> s = want || (allowScalar && s = Shape.Scalar)

let conform (ctx: Ctx) (exp: Expect) (range: SourceRange) (what: string) (t: Typed) : Typed option =
    match exp with
    | Like (want, _, why) when not (fits exp t.Shape) ->
        report ctx Codes.ShapeMismatch range (sprintf "shape mismatch: %s is a %O, %s" what t.Shape why) None
        None
    | _ -> Some t

let plural n (word: string) =
    if n = 1 then sprintf "%d %s" n word
    elif word = "index" then sprintf "%d indices" n
    else sprintf "%d %ss" n word

let builtinUsage =
    dict [ "outer", "outer(a, b)"; "dot", "dot(a, b)"; "clip", "clip(x, lo, hi)"; "between", "between(x, lo, hi)"
           "softplus", "softplus(z, beta)"; "sum", "sum(x), or sum(k in lo..hi, body)" ]

let usage (name: string) (arity: int) =
    match builtinUsage.TryGetValue name with
    | true, u -> u
    | _ -> name + "(" + String.Join (", ", List.init arity (fun i -> [| "x"; "y"; "z" |].[min i 2])) + ")"

let reservedWords = set [ "rule"; "include"; "param"; "init"; "const"; "term"; "trace"; "in"; "dW" ]

// ------------------------------------------------------------------ name lookup

type Resolved =
    | RIndex of int
    | RConst of ConstDef
    | RParam of ParamFamily
    | RTrace of TraceDecl
    | RTerm of TermFamily
    | RVar of Variable
    | RUnknown

let resolve (ctx: Ctx) (name: string) : Resolved =
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
let isParamLike (name: string) = name.StartsWith ("theta", StringComparison.Ordinal)

let declareHint (name: string) (indexed: bool) =
    if indexed then sprintf "declare it: param %s[k in 0..N] = <initial value>" name
    else sprintf "declare it: param %s = <initial value>" name

/// Every name that could be meant at this point, for "did you mean".
let namesInScope (ctx: Ctx) : string list =
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
