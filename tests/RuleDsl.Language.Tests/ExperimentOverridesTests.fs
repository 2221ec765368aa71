/// `--set KEY=VALUE`: written into an experiment's text so that it parses like a file that says so,
/// and its value's errors moved back to the `--set` that gave it.
module ExperimentOverridesTests

open Xunit
open RuleDsl.Syntax

let private text = "# a comment\nexperiment e\n  rule = rules/fa.rule fa   # the rule\n  episodes = 30\n\n  trials = 2\n"

let private apply sets =
    match ExperimentOverrides.apply text sets with
    | Ok r -> r
    | Error ds -> failwithf "%A" ds

[<Fact>]
let ``an override replaces the file's own line in place and an unset one is added inside the block`` () =
    let changed, overrides = apply [ "episodes=5"; "seed=9" ]
    let lines = changed.Split '\n'
    Assert.Equal ("  episodes = 5  # --set episodes=5", lines.[3])
    Assert.Equal ("  seed = 9  # --set seed=9", lines.[6])
    // Every other line as it was: the file's line numbers still hold.
    Assert.Equal<string> ((text.Split '\n').[0..2], lines.[0..2])
    Assert.Equal<int list> ([ 4; 7 ], overrides |> List.map (fun o -> o.Line))
    match Experiment.parse "e.experiment" changed with
    | Ok spec -> Assert.Equal ((5, 9, 2), (spec.Episodes, spec.Seed, spec.Trials))
    | Error ds -> failwithf "%A" ds

[<Fact>]
let ``a bad value is reported at its --set with its column in KEY=VALUE`` () =
    let changed, overrides = apply [ "trials=3"; "episodes=abc" ]
    match Experiment.parse "e.experiment" changed with
    | Ok _ -> failwith "expected an error"
    | Error ds ->
        let d = ds |> List.exactlyOne |> ExperimentOverrides.relocate "e.experiment" overrides
        Assert.Equal (ExperimentOverrides.SetFile, d.File)
        Assert.Equal ((2, 10), (d.Range.Value.Start.Line, d.Range.Value.Start.Col))
        let lineOf = ExperimentOverrides.lineOf' [ "trials=3"; "episodes=abc" ] (fun _ _ -> None)
        Assert.Equal ("--set:2:10: error RD0702: `episodes` must be a whole number, not `abc`\n    2 | episodes=abc\n      |          ^", Diagnostic.render lineOf d)

[<Fact>]
let ``unknown keys, missing values, comments and repeats are refused before the text is touched`` () =
    match ExperimentOverrides.apply text [ "epsiodes=3"; "trials="; "lr"; "seed=1#x"; "trials=4"; "trials=5" ] with
    | Ok _ -> failwith "expected errors"
    | Error ds ->
        let shown = ds |> List.map (fun d -> d.Range.Value.Start.Line, d.Code.Id, d.Message)
        Assert.Equal<(int * string * string) list>(
            [ 1, "RD0701", "unknown setting `epsiodes`"
              2, "RD0702", "`trials` has no value"
              3, "RD0703", "expected --set KEY=VALUE, not `lr`"
              4, "RD0702", "`seed`: a value cannot hold `#` (it starts a comment)"
              6, "RD0703", "`trials` is set twice (first by --set 5)" ], shown)
        Assert.Equal (Some "did you mean `episodes`?", ds.Head.Hint)
