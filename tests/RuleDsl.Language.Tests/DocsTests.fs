/// The documentation says what the code does and holds together: the settings table of docs/experiments.md is
/// the parser's own schema, row for row (a key added to `Experiment.schema` and not documented fails here);
/// every relative link in README.md and docs/ reaches a file (and a heading, when it names one); the README
/// stays short enough to read.
module DocsTests

open System
open System.IO
open System.Text.RegularExpressions
open Xunit
open RuleDsl.Syntax
open TestSupport

/// Where the settings table lives.
let private settingsDoc = Path.Combine ("docs", "experiments.md")

/// The rows of the table that starts with `| setting | default | meaning |`.
let private documentedSettings () =
    let lines = File.ReadAllLines (Path.Combine (repoRoot, settingsDoc))
    let start = lines |> Array.findIndex (fun l -> l.StartsWith "| setting | default | meaning |")
    lines
    |> Array.skip (start + 2)
    |> Array.takeWhile (fun l -> l.StartsWith "|")
    |> Array.map (fun l ->
        match l.Trim('|').Split " | " |> Array.map (fun c -> c.Trim ()) with
        | [| key; def; meaning |] -> key.Trim '`', def, meaning
        | cells -> failwithf "%s: settings row with %d cells: %s" settingsDoc cells.Length l)
    |> List.ofArray

/// The table the document should hold, generated from the schema (RULEDSL_BLESS=1 prints it).
let private expectedRows () =
    Experiment.schema |> List.map (fun (k, d, m) -> k, d, m)

[<Fact>]
let ``docs/experiments.md settings table = Experiment.schema`` () =
    let expected = expectedRows ()
    if Environment.GetEnvironmentVariable "RULEDSL_BLESS" = "1" then
        for (k, d, m) in expected do printfn "| `%s` | %s | %s |" k d m
    Assert.Equal<(string * string * string) list> (expected, documentedSettings ())

/// GitHub's anchor for a heading: lower case, punctuation dropped (hyphens and underscores kept), spaces → '-'.
let private anchor (heading: string) =
    heading.Trim().ToLowerInvariant ()
    |> String.filter (fun c -> Char.IsLetterOrDigit c || c = ' ' || c = '-' || c = '_')
    |> fun s -> s.Replace (' ', '-')

/// The anchors of a Markdown file's headings (outside code blocks).
let private anchors (text: string) =
    let mutable inCode = false
    [ for line in text.Split '\n' do
        let l = line.TrimEnd '\r'
        if l.TrimStart().StartsWith "```" then inCode <- not inCode
        elif not inCode && l.StartsWith "#" then yield anchor (l.TrimStart '#') ]

let private linkPattern = Regex @"\]\(([^)\s]+)\)"

/// The broken relative links of one Markdown text at `path` (links in code blocks and code spans are not links):
/// each as "path:line: target (why)". Web links are left alone.
let brokenLinks (path: string) (text: string) =
    let dir = Path.GetDirectoryName path |> string
    let mutable inCode = false
    [ for (n, line) in text.Split '\n' |> Array.indexed do
        if line.TrimStart().StartsWith "```" then inCode <- not inCode
        elif not inCode then
            let prose = Regex.Replace (line, "`[^`]*`", "")
            for m in linkPattern.Matches prose do
                let target = m.Groups[1].Value
                if not (Regex.IsMatch (target, "^[a-z]+:")) then
                    let file, fragment =
                        match target.IndexOf '#' with
                        | -1 -> target, None
                        | i -> target.Substring (0, i), Some (target.Substring (i + 1))
                    let full = if file = "" then path else Path.GetFullPath (Path.Combine (dir, Uri.UnescapeDataString file))
                    let where = sprintf "%s:%d: %s" path (n + 1) target
                    if not (File.Exists full || Directory.Exists full) then yield where + " (no such file)"
                    else
                        match fragment with
                        | Some f when full.EndsWith ".md" && not (List.contains f (anchors (File.ReadAllText full))) ->
                            yield where + " (no such heading)"
                        | _ -> () ]

/// README.md and every Markdown file under docs/.
let private documents () =
    Path.Combine (repoRoot, "README.md")
    :: (Directory.GetFiles (Path.Combine (repoRoot, "docs"), "*.md", SearchOption.AllDirectories) |> List.ofArray)

[<Fact>]
let ``every relative link in README.md and docs reaches a file and heading`` () =
    let broken = documents () |> List.collect (fun p -> brokenLinks p (File.ReadAllText p))
    Assert.True (broken.IsEmpty, "broken links:\n" + String.Join ("\n", broken))

[<Fact>]
let ``the link check finds a missing file, a missing heading, and ignores code and web links`` () =
    let path = Path.Combine (repoRoot, "README.md")
    let text =
        String.Join ("\n",
            [ "[ok](docs/language.md) [ok](docs/language.md#errors-and-exit-codes) [web](https://example.org/x)"
              "[gone](docs/no-such-file.md) ![gone](docs/figures/nothing.png) [no heading](docs/engine.md#nowhere)"
              "`[code](span.md)`"; "```"; "[block](block.md)"; "```" ])
    let broken = brokenLinks path text |> List.map (fun b -> b.Substring (path.Length + 1))
    Assert.Equal<string list> (
        [ "2: docs/no-such-file.md (no such file)"; "2: docs/figures/nothing.png (no such file)"
          "2: docs/engine.md#nowhere (no such heading)" ], broken)

[<Fact>]
let ``README.md has at most 250 lines`` () =
    let lines = File.ReadAllLines (Path.Combine (repoRoot, "README.md"))
    Assert.True (lines.Length <= 250, sprintf "README.md has %d lines; the reference belongs in docs/" lines.Length)
