namespace RuleDsl.Semantics

open System
open RuleDsl.Symbolic

/// One numerical check of a derived expression.
type CheckRow =
    { Rule: string
      File: string
      /// What was differentiated, e.g. "∂ΔW/∂theta0", "δ(ΔW)", "∂E_next/∂theta[1,2]", "simplify(ΔW)".
      Target: string
      RelError: float
      Passed: bool
      /// Where the checked expression is written (the update's or the trace's line), so that a
      /// failure names the line to look at.
      At: SourceLoc }

/// Derived derivatives checked against finite differences at random points (double precision).
module Verify =
    /// Pass when ‖analytic − numeric‖ / max(‖analytic‖, ‖numeric‖, 1e-300) ≤ tolerance.
    let tolerance = 1e-6

    /// Values are drawn from [lo, hi): away from 0 so that log, powers and quotients are defined.
    let lo, hi = 0.2, 1.2

    let private norm (v: Value) = Value.toArray v |> Array.sumBy (fun x -> x * x) |> sqrt

    /// The relative error of the brief: ‖a−b‖ / max(‖a‖, ‖b‖, 1e-300). A scalar broadcasts (a
    /// derivative that simplified to 0 against a matrix of differences).
    let relError (a: Value) (b: Value) =
        let d = Value.map (fun xs -> xs.[0] - xs.[1]) [ a; b ]
        let r = norm d / Math.Max (Math.Max (norm a, norm b), 1e-300)
        if Double.IsNaN r then Double.PositiveInfinity else r

    /// A stable seed from a name (string hashes differ between runs in .NET).
    let seedOf (s: string) = s |> Seq.fold (fun (h: uint32) c -> (h ^^^ uint32 c) * 16777619u) 2166136261u |> int

    let randomValue (rng: Random) (dims: Map<string, int>) (shape: Shape) (a: float) (b: float) : Value =
        let u () = a + (b - a) * rng.NextDouble ()
        match shape with
        | Shape.Scalar -> Value.Scalar (u ())
        | Shape.Vector d -> Value.Vector (Array.init dims.[d] (fun _ -> u ()))
        | Shape.Matrix (r, c) -> Value.Matrix (Array2D.init dims.[r] dims.[c] (fun _ _ -> u ()))

    let private along (x: Value) (d: Value) (t: float) = Value.map (fun v -> v.[0] + t * v.[1]) [ x; d ]

    /// The expressions a rule defines, with their display names: ΔW and each trace's next value.
    let targets (rule: Rule) : (string * Expr) list =
        ("ΔW", rule.Update) :: (rule.Traces |> List.map (fun t -> t.Symbol.Name + "_next", t.Next))

    let private targetLocs (rule: Rule) : SourceLoc list = rule.UpdateLoc :: (rule.Traces |> List.map (fun t -> t.Loc))

    /// Check the derivatives that `partial` and `differential` produce for a rule, at one random
    /// point (dims and values from a seed). Tests pass a wrong differentiator to see it fail.
    let verifyWith (partial: Symbol -> Expr -> Expr) (differential: Symbol list -> Expr -> Expr) (rule: Rule) : CheckRow list =
        let rng = Random (seedOf (rule.File + "/" + rule.Name))
        let post = 2 + rng.Next 4
        let pre = [ 2..5 ] |> List.filter (fun d -> d <> post) |> fun ds -> ds.[rng.Next ds.Length]
        // "out" and "in" are the output layer and the input channels of models (fixed small sizes).
        let dims = Map [ "post", post; "pre", pre; "out", 3; "in", 2 ]
        let symbols =
            rule.Inputs @ (rule.Traces |> List.map (fun t -> t.Symbol)) @ (rule.Params |> List.map (fun p -> p.Symbol))
        let evalAt (values: Map<string, Value>) (e: Expr) = Eval.evalNamed values e
        // A clip that is saturated everywhere has derivative 0 on both sides of the comparison,
        // which tests nothing: shrink the values until some element is inside the bounds. Each
        // target is checked at its own point, so a clip in ΔW does not shrink the point at which a
        // trace without one is checked (tiny values make its differences cancel to round-off).
        let saturated (target: Expr) (values: Map<string, Value>) =
            Expr.subExprs target
            |> Seq.exists (function
                | Call (Fn.Clip, [ x; l; h ]) ->
                    match evalAt values l, evalAt values h with
                    | Value.Scalar l, Value.Scalar h -> Value.toArray (evalAt values x) |> Array.forall (fun v -> v <= l || v >= h)
                    | _ -> false
                | _ -> false)
        // ones_<dim> are ones (the simplifier may write a constant vector as c · ones_<dim>).
        let ones d = Value.Vector (Array.create dims.[d] 1.0)
        let pointAt (scale: float) =
            symbols
            |> List.map (fun s -> s.Name, randomValue rng dims s.Shape (lo * scale) (hi * scale))
            |> Map.ofList
            |> fun m -> dims |> Map.fold (fun (m: Map<string, Value>) d _ -> m.Add ((Expr.ones d).Name, ones d)) m
        let candidates = [ 1.0; 0.3; 0.1; 0.03; 0.01; 0.003; 0.001 ] |> List.map pointAt
        let pointFor (target: Expr) =
            match candidates |> List.tryFind (saturated target >> not) with
            | Some p -> p, ""
            | None -> candidates.Head, " [clip saturated]"
        [ for ((name, expr), at) in List.zip (targets rule) (targetLocs rule) do
              let point, clipNote = pointFor expr
              let row target err = { Rule = rule.Name; File = rule.File; Target = target + clipNote; RelError = err; Passed = err <= tolerance; At = at }
              let f0 = evalAt point expr
              // the printed (simplified) form computes the same values
              yield row (sprintf "simplify(%s)" name) (relError (evalAt point (Simplify.simplify expr)) f0)
              for p in rule.Params do
                  let analytic = evalAt point (partial p.Symbol expr)
                  let theta = match point.[p.Symbol.Name] with Value.Scalar x -> x | _ -> 0.0
                  let h = 1e-5 * Math.Max (1e-8, abs theta)
                  let at t = evalAt (point.Add (p.Symbol.Name, Value.Scalar (theta + t))) expr
                  let numeric = Value.map (fun v -> (v.[0] - v.[1]) / (2.0 * h)) [ at h; at -h ]
                  yield row (sprintf "∂%s/∂%s" name p.Symbol.Name) (relError analytic numeric)
              let wrt = Tangents.state rule
              if not wrt.IsEmpty then
                  let direction = wrt |> List.map (fun s -> s.Name, randomValue rng dims s.Shape -1.0 1.0) |> Map.ofList
                  let scale = wrt |> List.map (fun s -> Value.toArray point.[s.Name] |> Array.map abs |> Array.max) |> List.max
                  let h = 1e-5 * Math.Max (1e-8, scale)
                  let moved t = wrt |> List.fold (fun (m: Map<string, Value>) s -> m.Add (s.Name, along point.[s.Name] direction.[s.Name] t)) point
                  let numeric = Value.map (fun v -> (v.[0] - v.[1]) / (2.0 * h)) [ evalAt (moved h) expr; evalAt (moved -h) expr ]
                  let tangents = wrt |> List.fold (fun (m: Map<string, Value>) s -> m.Add ((Differentiate.tangentSymbol s).Name, direction.[s.Name])) point
                  let analytic = evalAt tangents (differential wrt expr)
                  yield row (sprintf "δ(%s)" name) (relError analytic numeric) ]

    /// Check every derivative of a rule (as derived by Differentiate) against finite differences.
    [<CompiledName "VerifyRule">]
    let verifyRule (rule: Rule) : CheckRow list = verifyWith Differentiate.partial Differentiate.differential rule
