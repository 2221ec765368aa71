/// `.model` files: the shipped text models are the networks the engine ran before they were text
/// (the IR built in F#, kept here as the reference), equation by equation at random points.
module ModelFileTests

open System
open Xunit
open RuleDsl.Symbolic
open RuleDsl.Semantics
open TestSupport

let private dims = Map [ "post", 5; "pre", 4; "out", 3; "in", 2 ]

let private point (seed: int) (es: Expr list) =
    let rng = Random seed
    let value (s: Symbol) =
        match s.Shape with
        | Shape.Scalar -> Value.Scalar (rng.NextDouble () * 2.0 - 1.0)
        | Shape.Vector d -> Value.Vector (Array.init dims.[d] (fun _ -> if s.Name.StartsWith "ones_" then 1.0 else rng.NextDouble () * 2.0 - 1.0))
        | Shape.Matrix (r, c) -> Value.Matrix (Array2D.init dims.[r] dims.[c] (fun _ _ -> rng.NextDouble () * 2.0 - 1.0))
    es |> List.collect Expr.symbols |> List.distinct |> List.map (fun s -> s, value s) |> Map.ofList

let private same (what: string) (a: Expr) (b: Expr) =
    for seed in 1 .. 5 do
        let p = point seed [ a; b ]
        let va = Eval.eval (fun s -> p.[s]) a |> Value.toArray
        let vb = Eval.eval (fun s -> p.[s]) b |> Value.toArray
        let err = Array.map2 (fun x y -> abs (x - y) / max 1.0 (abs y)) (if va.Length = 1 && vb.Length > 1 then Array.create vb.Length va.[0] else va) vb |> Array.max
        Assert.True (err < 1e-12, sprintf "%s differs by %g at seed %d:\n  text: %s\n  IR:   %s" what err seed (Print.text a) (Print.text b))

/// The networks as they were built in F# before they were text: the reference the shipped models
/// are checked against (the library itself only reads models/*.model).
module private Reference =
    let vPre = Shape.Vector "pre"
    let vPost = Shape.Vector "post"
    let W = Expr.sym "W" (Shape.Matrix ("post", "pre"))
    let B = Expr.sym "B" (Shape.Matrix ("pre", "post"))
    let BOut = Expr.sym "B" (Shape.Matrix ("pre", "out"))
    let yPre = Expr.sym "y_pre" vPre
    let zPost = Expr.sym "z_post" vPost
    let ePost = Expr.sym "e_post" vPost
    let eOut = Expr.sym "e_out" (Shape.Vector "out")
    let target = Expr.sym "target" vPost

    /// The network of Shervani-Tabar & Rosenbaum (2023), section 4.1: softplus hidden units with
    /// sharpness β, softmax output, cross-entropy loss; feedback by FA, BP or DFA; e_0 as in 4.2.
    let feedforward (beta: float) : FeedforwardModel =
        let hidden = Call (Fn.Softplus, [ zPost; Num beta ])
        let dsigma = FeedforwardModel.activationDerivative hidden
        { Name = "mlp"
          PreActivation = Call (Fn.MatMul, [ W; yPre ])
          Hidden = hidden
          Output = Call (Fn.Softmax, [ zPost ])
          Loss = Simplify.simplify (-(Call (Fn.Dot, [ target; Call (Fn.LogSoftmax, [ zPost ]) ])))
          OutputError = Simplify.simplify (Call (Fn.Softmax, [ zPost ]) - target)
          Feedback =
            Map [ "fa", Simplify.simplify (Call (Fn.MatMul, [ B; ePost ]) * dsigma)
                  "bp", Simplify.simplify (Call (Fn.MatMul, [ Call (Fn.Transpose, [ W ]); ePost ]) * dsigma)
                  "dfa", Simplify.simplify (Call (Fn.MatMul, [ BOut; eOut ]) * dsigma) ]
          Synthetic =
            // e_0 = B_{1,0} e_1 ⊙ (1 − exp(−β y_0)): σ'(z) written through y for softplus.
            let factor = Num 1.0 - Call (Fn.Exp, [ Num -beta * yPre ])
            Map [ "fa", Simplify.simplify (Call (Fn.MatMul, [ B; ePost ]) * factor)
                  "bp", Simplify.simplify (Call (Fn.MatMul, [ Call (Fn.Transpose, [ W ]); ePost ]) * factor)
                  "dfa", Simplify.simplify (Call (Fn.MatMul, [ BOut; eOut ]) * factor) ] }

    let vIn = Shape.Vector "in"
    let scalar n = Expr.scalar n

    /// τ dx/dt = −x + W r + W_in u + noise, r = tanh(x), Euler step dt; x̄ ← αx̄ + (1−α)x;
    /// z = ⟨w_out, r⟩; R = −mean |z − target| over the scored steps; R̄ ← α_R R̄ + (1−α_R) R.
    let recurrent (dt: float) (tau: float) (alphaX: float) (alphaR: float) : RecurrentModel =
        let x = Expr.sym "x" vPost
        let r = Expr.sym "r" vPre
        let W = Expr.sym "W" (Shape.Matrix ("post", "pre"))
        let Win = Expr.sym "W_in" (Shape.Matrix ("post", "in"))
        let u = Expr.sym "u" vIn
        let noise = Expr.sym "noise" vPost
        let z = scalar "z"
        let s = Simplify.simplify
        { Name = "rnn"
          Rate = Call (Fn.Tanh, [ Expr.sym "x_pre" vPre ])
          // `free` is 1 for ordinary units and 0 for clamped ones, which sit at `clamp` (Miconi's bias units).
          Dynamics =
              s (Expr.sym "free" vPost * (x + Num (dt / tau) * (-x + Call (Fn.MatMul, [ W; r ]) + Call (Fn.MatMul, [ Win; u ]) + noise))
                 + Expr.sym "clamp" vPost)
          Average = s (Num alphaX * Expr.sym "xbar" vPost + Num (1.0 - alphaX) * x)
          Readout = Call (Fn.Dot, [ Expr.sym "w_out" vPost; Expr.sym "r_post" vPost ])
          RewardRate = s (-(scalar "mask" * Call (Fn.Abs, [ z - scalar "target" ])))
          Baseline = s (Num alphaR * scalar "Rbar" + Num (1.0 - alphaR) * scalar "R") }

[<Fact>]
let ``models/mlp.model is the feedforward network of the paper`` () =
    let text = ModelFile.feedforward 7.0
    let ir = Reference.feedforward 7.0
    same "preactivation" text.PreActivation ir.PreActivation
    same "hidden" text.Hidden ir.Hidden
    same "output" text.Output ir.Output
    same "loss" text.Loss ir.Loss
    same "error" text.OutputError ir.OutputError
    Assert.Equal<string list> (ir.Feedback |> Map.keys |> List.ofSeq, text.Feedback |> Map.keys |> List.ofSeq)
    for KeyValue (m, e) in ir.Feedback do same ("feedback " + m) text.Feedback.[m] e
    for KeyValue (m, e) in ir.Synthetic do same ("synthetic " + m) text.Synthetic.[m] e

[<Fact>]
let ``models/rnn.model is the rate RNN of the recurrent setting`` () =
    let text = ModelFile.recurrent 0.001 0.02 0.3 0.6
    let ir = Reference.recurrent 0.001 0.02 0.3 0.6
    same "rate" text.Rate ir.Rate
    same "dynamics" text.Dynamics ir.Dynamics
    same "average" text.Average ir.Average
    same "readout" text.Readout ir.Readout
    same "reward" text.RewardRate ir.RewardRate
    same "baseline" text.Baseline ir.Baseline

[<Fact>]
let ``a feedback scheme written as text needs no C#`` () =
    let text =
        ModelFile.shippedText "mlp"
        + "  feedback sign = (sign(W)' @ e_post) * dsigma\n  synthetic sign = (sign(W)' @ e_post) * (1 - exp(-beta * y_pre))\n"
    match ModelFile.parse "custom.model" text Map.empty with
    | Result.Ok (FeedforwardNet m), [] ->
        Assert.True (m.Feedback.ContainsKey "sign")
        // σ' was taken by the differentiator from `hidden`: softplus' = sigmoid(β z).
        Assert.Contains ("z_pre", Print.text m.Feedback.["sign"])
    | r, ws -> failwithf "did not load: %A %A" r ws

[<Fact>]
let ``an error that is not the loss's derivative is reported`` () =
    let text = ModelFile.shippedText("mlp").Replace ("error         = softmax(z_post) - target", "error         = z_post - target")
    match ModelFile.parse "custom.model" text Map.empty with
    | Result.Ok _, [ w ] -> Assert.Equal ("RD0804", w.Code.Id)
    | r, ws -> failwithf "expected one RD0804 warning: %A %A" r ws
