/// Every bad input is a file in tests/bad with the exact output expected for it (stderr, then the
/// exit code). A first line "# golden: <command> <args>" says how to run it ($FILE is the file);
/// the default is "check $FILE". RULEDSL_BLESS=1 rewrites the .expected files (review the diff).
module GoldenTests

open System
open System.IO
open System.Text.RegularExpressions
open Xunit
open RuleDsl.Syntax
open TestSupport

let badDir = Path.Combine (repoRoot, "tests", "bad")

let cases () : obj[] seq =
    Array.concat [ Directory.GetFiles (badDir, "*.rule"); Directory.GetFiles (badDir, "*.experiment"); Directory.GetFiles (badDir, "*.model") ]
    |> Array.sort
    |> Seq.map (fun p -> [| (Path.GetFileName p |> string) :> obj |])

let private argsOf (name: string) =
    let rel = "tests/bad/" + name
    let first = File.ReadLines (Path.Combine (badDir, name)) |> Seq.head
    let directive = "# golden:"
    let line = if first.StartsWith directive then first.Substring(directive.Length).Trim () else "check $FILE"
    line.Split (' ', StringSplitOptions.RemoveEmptyEntries) |> Array.map (fun a -> if a = "$FILE" then rel else a) |> List.ofArray

let private outputOf (name: string) =
    let code, _, err = runArgs (argsOf name)
    err + sprintf "exit code: %d\n" code

[<Theory>]
[<MemberData(nameof cases)>]
let ``bad file gives exactly the expected output`` (name: string) =
    let expectedPath = Path.Combine (badDir, Path.ChangeExtension (name, ".expected") |> string)
    let actual = outputOf name
    if Environment.GetEnvironmentVariable "RULEDSL_BLESS" |> string = "1" then File.WriteAllText (expectedPath, actual)
    Assert.True (File.Exists expectedPath, sprintf "missing %s; run with RULEDSL_BLESS=1 to create it" expectedPath)
    Assert.Equal (File.ReadAllText(expectedPath).Replace ("\r\n", "\n"), actual)

[<Fact>]
let ``every catalog code has a bad file that produces it`` () =
    let produced =
        Directory.GetFiles (badDir, "*.expected")
        |> Seq.collect (fun p -> Regex.Matches (File.ReadAllText p, @"(error|warning) (RD\d{4}):") |> Seq.map (fun m -> m.Groups.[2].Value))
        |> set
    let missing = Codes.all |> List.filter (fun c -> not (produced.Contains c.Id)) |> List.map (fun c -> c.Id + " " + c.Title)
    Assert.True (missing.IsEmpty, "codes without a bad file: " + String.Join (", ", missing))

[<Fact>]
let ``the catalog's list holds every code the catalog defines`` () =
    // Codes.all was once a hand-kept list that missed RD0506 and RD0507, so the test above never saw them.
    let defined =
        match typeof<Code>.Assembly.GetType "RuleDsl.Syntax.Codes" with
        | null -> failwith "module RuleDsl.Syntax.Codes not found"
        | codes ->
            codes.GetProperties ()
            |> Array.filter (fun p -> p.PropertyType = typeof<Code>)
            |> Array.map (fun p -> match p.GetValue null with :? Code as c -> c.Id | _ -> failwith p.Name)
        |> set
    Assert.True (defined.Count >= 40, sprintf "%d codes found by reflection" defined.Count)
    Assert.Equal<Set<string>> (defined, Codes.all |> List.map (fun c -> c.Id) |> set)

[<Fact>]
let ``catalog codes are unique`` () =
    let ids = Codes.all |> List.map (fun c -> c.Id)
    Assert.Equal (ids.Length, (List.distinct ids).Length)

[<Fact>]
let ``no bad file produces a stack trace`` () =
    for p in Directory.GetFiles (badDir, "*.expected") do
        let text = File.ReadAllText p
        Assert.DoesNotContain ("   at ", text)
        Assert.DoesNotContain ("Exception", text)
