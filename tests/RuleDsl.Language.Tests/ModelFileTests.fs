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

[<Fact>]
let ``models/mlp.model is the feedforward network of the paper`` () =
    let text = ModelFile.feedforward 7.0
    let ir = FeedforwardModel.standard 7.0
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
    let ir = RecurrentModel.standard 0.001 0.02 0.3 0.6
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
