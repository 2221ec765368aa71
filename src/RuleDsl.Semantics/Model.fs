namespace RuleDsl.Semantics

open RuleDsl.Symbolic
open RuleDsl.Syntax

/// A layered feedforward network written as equations over one layer: `pre` is layer ℓ−1, `post` is
/// layer ℓ (the engine binds the two dimensions to each layer's sizes). Every tangent the engine
/// propagates through these equations comes from `Differentiate`, like the rule's own.
type FeedforwardModel =
    { Name: string
      /// z_post from W (post×pre) and y_pre
      PreActivation: Expr
      /// y_post of a hidden layer, from z_post
      Hidden: Expr
      /// y_post of the output layer, from z_post
      Output: Expr
      /// the per-sample loss, a scalar, from z_post of the output layer and `target` (post)
      Loss: Expr
      /// e_post at the output, ∂L/∂z_post (checked against the loss by `check`)
      OutputError: Expr
      /// e_pre of a hidden layer from e_post, z_pre, y_pre, W and B (pre×post), one per feedback
      /// mode: "fa" (fixed random B), "bp" (B = Wᵀ), "dfa" (B from the output layer: e_out, B is pre×out)
      Feedback: Map<string, Expr>
      /// e_0, the synthetic presynaptic error of the first layer (section 4.2), from e_post, B, y_pre
      Synthetic: Map<string, Expr> }

module FeedforwardModel =
    let private zPostSym : Symbol = { Name = "z_post"; Shape = Shape.Vector "post" }
    let private zPre = Expr.sym "z_pre" (Shape.Vector "pre")

    /// The elementwise derivative σ'(z) of an activation y = σ(z_post), taken by the differentiator
    /// (the forward differential with a tangent of 1 everywhere) and moved to the pre side.
    let activationDerivative (activation: Expr) : Expr =
        Differentiate.forward (fun s -> if s = zPostSym then Some Expr.one else None) activation
        |> Expr.substitute (fun s -> if s = zPostSym then Some zPre else None)
        |> Simplify.simplify

/// A rate RNN learning from a sparse, delayed reward (the Maoutsa poster; Miconi 2017), written as
/// equations over one time step. The population has N units; a rule sees them on its `post` side
/// (x, xbar, r_post) and on its `pre` side (r, x_pre, xbar_pre): the engine binds both names to the
/// same buffers. Every tangent comes from `Differentiate`.
type RecurrentModel =
    { Name: string
      /// r (pre) from x_pre: the rates φ(x)
      Rate: Expr
      /// x after one Euler step, from x, W @ r, W_in @ u, the perturbation `noise`, and the clamps
      /// (`free`, `clamp`)
      Dynamics: Expr
      /// xbar after one step, from xbar and x
      Average: Expr
      /// the scalar output z, from r_post and the readout w_out (post)
      Readout: Expr
      /// the reward earned in one step, from z, target and mask (summed over a trial, divided by the
      /// number of scored steps: the trial's reward R)
      RewardRate: Expr
      /// the baseline after a trial, from Rbar and R
      Baseline: Expr }

/// Building a checked rule directly from IR (for library users and tests; text goes through the parser).
module RuleOf =
    let private noLoc : SourceLoc = { File = "<ir>"; Line = 0; Column = 0 }

    /// A rule whose update is `update`, with the given (name, initial value) parameters as scalars.
    [<CompiledName "Create">]
    let create (name: string) (setting: Setting) (parameters: (string * float) list) (update: Expr) : Rule =
        let ps =
            parameters
            |> List.map (fun (n, init) ->
                let family, index =
                    match n.IndexOf '[' with
                    | -1 -> n, []
                    | i -> n.Substring (0, i), (n.Substring (i + 1)).TrimEnd(']').Split(',') |> Seq.map int |> List.ofSeq
                { Symbol = { Name = n; Shape = Shape.Scalar }; Family = family; Index = index; Init = init; Step = 1.0; Min = -infinity; Max = infinity; Loc = noLoc })
        let paramNames = ps |> List.map (fun p -> p.Symbol.Name) |> Set.ofList
        { Name = name
          Setting = setting
          File = "<ir>"
          Loc = noLoc
          Params = ps
          Consts = []
          Inputs = Expr.symbols update |> List.filter (fun s -> not (paramNames.Contains s.Name))
          Traces = []
          Terms = []
          Update = update
          UpdateLoc = noLoc
          Weight = { Name = "W"; Shape = Shape.Matrix ("post", "pre") } }

    /// Adds traces to a rule: (name, shape, rate f, continuous). Continuous traces step E + dt·f,
    /// accumulating ones E + f; `dt` is the recurrent setting's input of that name.
    [<CompiledName "WithTraces">]
    let withTraces (traces: (string * Shape * Expr * bool) list) (rule: Rule) : Rule =
        let ts =
            traces
            |> List.map (fun (name, shape, rate, continuous) ->
                let e = Expr.sym name shape
                let next = if continuous then e + Expr.scalar "dt" * rate else e + rate
                { Symbol = { Name = name; Shape = shape }; Next = Simplify.simplify next; Rate = rate; Continuous = continuous; Loc = noLoc })
        let traceNames = ts |> List.map (fun t -> t.Symbol.Name) |> Set.ofList
        { rule with
            Traces = ts
            Inputs =
                (rule.Inputs @ (ts |> List.collect (fun t -> Expr.symbols t.Next)))
                |> List.distinct
                |> List.filter (fun s -> not (traceNames.Contains s.Name) && not (rule.Params |> List.exists (fun p -> p.Symbol = s))) }

    /// `x` to four significant digits: a discovered rule is read by people; the exact θ is in the CSV.
    let private readable (x: float) =
        if x = 0.0 || not (System.Double.IsFinite x) then x
        else System.Double.Parse (x.ToString ("G4", System.Globalization.CultureInfo.InvariantCulture), System.Globalization.CultureInfo.InvariantCulture)

    /// An expression of a rule (its update, a trace's rate) with θ replaced by learned values, the
    /// parameters named in `dropped` by 0 (their terms left out), simplified, and only then its numbers
    /// rounded to four significant digits: rounding θ first would print (θ − 1)·F with θ = 1.00001 as
    /// 0, and (θ − c)·1000 with θ, c equal to four digits at five times its coefficient.
    [<CompiledName "DiscoveredExpr">]
    let rec discoveredExpr (rule: Rule) (theta: float list) (dropped: string list) (e: Expr) : Expr =
        let values = List.zip (rule.Params |> List.map (fun p -> p.Symbol)) theta |> Map.ofList
        let dropped = Set.ofList dropped
        e
        |> Expr.substitute (fun s ->
            match values.TryFind s with
            | Some _ when dropped.Contains s.Name -> Some Expr.zero
            | Some v -> Some (Num v)
            | None -> None)
        |> Simplify.simplify
        |> tidy

    /// Every number of a simplified expression to four significant digits, for printing.
    and private tidy (e: Expr) : Expr =
        match e with
        | Num x -> Num (readable x)
        | Sym _ -> e
        | Add xs -> Add (List.map tidy xs)
        | Mul xs -> Mul (List.map tidy xs)
        | Pow (a, b) -> Pow (tidy a, tidy b)
        | Call (f, xs) -> Call (f, List.map tidy xs)

    /// The rule a run discovered: θ replaced by its learned values, the terms of the parameters in
    /// `dropped` left out, then simplified — the update in math form.
    [<CompiledName "Discovered">]
    let discovered (rule: Rule) (theta: float list) (dropped: string list) : Expr =
        discoveredExpr rule theta dropped rule.Update

    /// The terms of `e` that `x` multiplies — what leaves `e` when `x` is 0 — if `x` is a coefficient:
    /// a factor of a summand of `e`, once, where a summand may be a number times a sum of such terms
    /// (`0.01 * (theta3 * F3 + …)`). None if `x` sits anywhere else: inside a function or outer(…),
    /// in a sum multiplied by a variable (a threshold `y * (y - theta1)`), in an exponent, squared.
    let rec private coefficientPart (x: Expr) (e: Expr) : Expr option =
        let has (y: Expr) = Expr.subExprs y |> Seq.contains x
        match e with
        | _ when e = x -> Some e
        | _ when not (has e) -> Some Expr.zero
        | Add xs ->
            let parts = xs |> List.map (coefficientPart x)
            if parts |> List.forall Option.isSome then Some (Expr.sumOf (parts |> List.map Option.get)) else None
        | Mul xs ->
            match xs |> List.partition has with
            | [ a ], _ when a = x -> Some e
            | [ Add _ as a ], others when others |> List.forall (function Num _ -> true | _ -> false) ->
                coefficientPart x a |> Option.map (fun part -> if Expr.isZero part then part else Mul (others @ [ part ]))
            | _ -> None
        | _ -> None

    /// The parameters of `e` that are linear coefficients of its terms, each with the part of `e` it
    /// multiplies (what leaves `e` when it is 0). Only these may be dropped from a discovered rule; a θ
    /// anywhere else (a threshold, an exponent, inside tanh) changes the rule's form at 0 and is always printed.
    [<CompiledName "CoefficientTerms">]
    let coefficientTerms (rule: Rule) (e: Expr) : (Symbol * Expr) list =
        rule.Params
        |> List.choose (fun p ->
            match coefficientPart (Sym p.Symbol) e with
            | Some part when not (Expr.isZero part) -> Some (p.Symbol, part)
            | _ -> None)
