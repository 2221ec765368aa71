/// Shared vocabulary for the symbolic tests: the variables of a feedforward rule, random values of
/// the right shapes, and norms for comparing values.
module SymbolicSupport

open System
open RuleDsl.Symbolic

let post = Shape.Vector "post"
let pre = Shape.Vector "pre"
let sym name shape : Symbol = { Name = name; Shape = shape }

let W = Expr.sym "W" (Shape.Matrix ("post", "pre"))
let yPre, yPost = Expr.sym "y_pre" pre, Expr.sym "y_post" post
let ePre, ePost = Expr.sym "e_pre" pre, Expr.sym "e_post" post
let theta i = Expr.scalar (sprintf "theta%d" i)
let thetaSym i = sym (sprintf "theta%d" i) Shape.Scalar
let outer a b = Call (Fn.Outer, [ a; b ])
let matmul xs = Call (Fn.MatMul, xs)
let transpose a = Call (Fn.Transpose, [ a ])

let dims = Map [ "post", 3; "pre", 2 ]

/// A random value of the given shape, entries uniform in [lo, hi).
let randomValue (rng: Random) (lo: float) (hi: float) (shape: Shape) : Value =
    let u () = lo + (hi - lo) * rng.NextDouble ()
    match shape with
    | Shape.Scalar -> Value.Scalar (u ())
    | Shape.Vector d -> Value.Vector (Array.init dims.[d] (fun _ -> u ()))
    | Shape.Matrix (r, c) -> Value.Matrix (Array2D.init dims.[r] dims.[c] (fun _ _ -> u ()))

let norm (v: Value) = Value.toArray v |> Array.sumBy (fun x -> x * x) |> sqrt

/// Difference of two values; a scalar broadcasts against the other's shape (a simplified zero).
let diff (a: Value) (b: Value) = Value.map (fun xs -> xs.[0] - xs.[1]) [ a; b ]

let relErr (a: Value) (b: Value) =
    let d = norm (diff a b)
    d / Math.Max (Math.Max (norm a, norm b), 1e-300)

/// Evaluate `e` at `point` moved by `t` along `direction`.
let evalAlong (e: Expr) (point: Map<Symbol, Value>) (direction: Map<Symbol, Value>) (t: float) =
    Eval.eval (fun s ->
        let x = point.[s]
        match direction.TryFind s with
        | Some d -> Value.map (fun v -> v.[0] + t * v.[1]) [ x; d ]
        | None -> x) e
