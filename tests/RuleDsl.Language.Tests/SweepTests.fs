/// Sweep files: a grid over experiment settings, expanded to one experiment text per point, and
/// their mistakes located in the sweep file.
module SweepTests

open System.IO
open Xunit
open RuleDsl.Syntax

let private baseText =
    "# the base\nexperiment tiny\n  rule = ../rules/fa.rule fa\n  layers = 784 16 5\n  lambda = 0.5\n  output = results/tiny\n"

let private parse text =
    match Sweep.parse "grid.sweep" text with
    | Ok s -> s
    | Error ds -> failwithf "%A" ds

let private errors text =
    match Sweep.parse "grid.sweep" text with
    | Ok _ -> failwith "expected errors"
    | Error ds -> ds |> List.map (fun d -> let r = d.Range.Value in sprintf "%d:%d %s: %s" r.Start.Line r.Start.Col d.Code.Id d.Message)

[<Fact>]
let ``a grid expands last setting fastest into experiments with the point's values, its own output and absolute files`` () =
    let sweep = parse "sweep grid\n  experiment = exp/base.experiment\n  lambda = 0.01 0.1\n  rule = ../rules/fa.rule fa | /abs/bio.rule bio\n  output = out/grid\n"
    let points = Sweep.expand sweep baseText "/work/exp" "/work/sweeps"
    Assert.Equal<string list> ([ "p0-lambda_0.01-rule_fa_fa"; "p1-lambda_0.01-rule_bio_bio"; "p2-lambda_0.1-rule_fa_fa"; "p3-lambda_0.1-rule_bio_bio" ], points |> List.map (fun p -> p.Folder))
    let p1 = points.[1]
    Assert.Equal ("out/grid/p1-lambda_0.01-rule_bio_bio", p1.Output)
    // The base's own lambda, rule and output give way to the point's; its other lines stay, files made absolute.
    Assert.Equal (
        "# the base\nexperiment tiny_p1\n  layers = 784 16 5\n  # point 1 of sweep grid (grid.sweep)\n  lambda = 0.01\n  rule = /abs/bio.rule bio\n  output = out/grid/p1-lambda_0.01-rule_bio_bio\n",
        p1.Text)
    Assert.Contains ("  rule = " + Path.GetFullPath "/work/rules/fa.rule" + " fa\n", points.[0].Text)
    Assert.Empty (Sweep.check sweep points)

[<Fact>]
let ``the base experiment's rule is made absolute from the base's folder when the sweep does not vary it`` () =
    let sweep = parse "sweep g\n  experiment = base.experiment\n  lambda = 0 1\n"
    let points = Sweep.expand sweep baseText "/work/exp" "/work/sweeps"
    Assert.Contains ("  rule = /work/rules/fa.rule fa\n", points.[0].Text)
    Assert.Equal ("results/g/p0-lambda_0", points.[0].Output)

[<Fact>]
let ``mistakes are located in the sweep file: unknown setting with a hint, twice, repeated and empty values, a value the experiment refuses`` () =
    Assert.Equal<string list> (
        [ "3:3 RD0701: unknown setting `lamda`: a sweep gives `experiment`, `output` and experiment settings to vary"
          "4:12 RD0702: `lr` lists 0.1 twice"
          "5:3 RD0703: `experiment` is set twice"
          "6:17 RD0702: `layers` has an empty value (two `|` in a row?)" ],
        errors "sweep g\n  experiment = a.experiment\n  lamda = 0.1\n  lr = 0.1 0.1\n  experiment = b.experiment\n  layers = 1 2 || 3 4\n")
    let sweep = parse "sweep g\n  experiment = base.experiment\n  episodes = 10 ten\n"
    let problems = Sweep.check sweep (Sweep.expand sweep baseText "/work" "/work")
    Assert.Equal<string list> ([ "3:17 `episodes` must be a whole number, not `ten`" ],
        problems |> List.map (fun d -> sprintf "%d:%d %s" d.Range.Value.Start.Line d.Range.Value.Start.Col d.Message))

[<Fact>]
let ``a sweep names its base experiment and varies something`` () =
    let messages text = match Sweep.parse "g.sweep" text with Error ds -> ds |> List.map (fun d -> d.Message) | Ok _ -> []
    Assert.Equal<string list> ([ "a sweep names its base experiment: `experiment = FILE`" ], messages "sweep g\n  lambda = 1 2\n")
    Assert.Equal<string list> ([ "the sweep varies no setting" ], messages "sweep g\n  experiment = a.experiment\n")
    Assert.Equal<string list> ([ "a sweep file starts with `sweep NAME`" ], messages "  lambda = 1\n")
