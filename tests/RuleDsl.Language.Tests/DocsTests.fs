/// The documentation says what the code does: the README's table of experiment settings is the
/// parser's own schema, row for row (a key added to `Experiment.schema` and not documented fails here).
module DocsTests

open System.IO
open Xunit
open RuleDsl.Syntax
open TestSupport

/// The rows of the README table that starts with `| setting | default | meaning |`.
let private readmeSettings () =
    let lines = File.ReadAllLines (Path.Combine (repoRoot, "README.md"))
    let start = lines |> Array.findIndex (fun l -> l.StartsWith "| setting | default | meaning |")
    lines
    |> Array.skip (start + 2)
    |> Array.takeWhile (fun l -> l.StartsWith "|")
    |> Array.map (fun l ->
        match l.Trim('|').Split " | " |> Array.map (fun c -> c.Trim ()) with
        | [| key; def; meaning |] -> key.Trim '`', def, meaning
        | cells -> failwithf "README settings row with %d cells: %s" cells.Length l)
    |> List.ofArray

/// The table the README should hold, generated from the schema (RULEDSL_BLESS=1 prints it).
let private expectedRows () =
    Experiment.schema |> List.map (fun (k, d, m) -> k, d, m)

[<Fact>]
let ``README experiment settings table = Experiment.schema`` () =
    let expected = expectedRows ()
    if System.Environment.GetEnvironmentVariable "RULEDSL_BLESS" = "1" then
        for (k, d, m) in expected do printfn "| `%s` | %s | %s |" k d m
    Assert.Equal<(string * string * string) list> (expected, readmeSettings ())
