/// The TextMate grammars of editors/vscode: valid JSON, regexes that compile, word lists equal to the
/// language's own tables (built-ins, keywords, settings, model roles), and the shipped files tokenised
/// as an editor would: keywords as keywords, calls of built-ins as built-ins, comments as comments.
/// The regexes are compiled with .NET Regex, not Oniguruma (the engine of TextMate and VS Code): the
/// patterns use only what both read alike (classes, alternation, lazy and possessive-free quantifiers,
/// lookahead, fixed-width lookbehind).
module EditorGrammarTests

open System
open System.IO
open System.Text.Json
open System.Text.RegularExpressions
open Xunit
open RuleDsl.Syntax
open RuleDsl.Symbolic
open RuleDsl.Semantics
open TestSupport

let private dir = Path.Combine (repoRoot, "editors", "vscode")
let private syntaxes = Path.Combine (dir, "syntaxes")

/// The grammars by scope name.
let private grammars : Map<string, JsonElement> =
    Directory.GetFiles (syntaxes, "*.tmLanguage.json")
    |> Array.map (fun p ->
        let doc = JsonDocument.Parse (File.ReadAllText p)
        doc.RootElement.GetProperty("scopeName").GetString () |> string, doc.RootElement)
    |> Map.ofArray

/// One rule of a grammar as the tokeniser uses it: a regex and the scope of the match or of each group.
type private Rule = { Regex: Regex; Name: string option; Captures: Map<int, string> }

/// A grammar's patterns in order, includes resolved (`#name`, `scope#name`, `scope`).
let rec private flatten (scope: string) (patterns: JsonElement) : Rule list =
    [ for p in patterns.EnumerateArray () do
        match p.TryGetProperty "include" with
        | true, inc ->
            let text = inc.GetString () |> string
            let target, key =
                match text.Split ('#', 2) with
                | [| ""; k |] -> scope, Some k
                | [| s; k |] -> s, Some k
                | _ -> text, None
            let g = grammars.[target]
            match key with
            | Some k ->
                let entry = g.GetProperty("repository").GetProperty k
                match entry.TryGetProperty "patterns" with
                | true, ps -> yield! flatten target ps
                | _ -> yield! flatten target (JsonDocument.Parse(sprintf "[%s]" (entry.GetRawText ())).RootElement)
            | None -> yield! flatten target (g.GetProperty "patterns")
        | _ ->
            let name = match p.TryGetProperty "name" with | true, n -> Some (n.GetString () |> string) | _ -> None
            let captures =
                match p.TryGetProperty "captures" with
                | true, c -> c.EnumerateObject () |> Seq.map (fun kv -> int kv.Name, kv.Value.GetProperty("name").GetString () |> string) |> Map.ofSeq
                | _ -> Map.empty
            yield { Regex = Regex (p.GetProperty("match").GetString () |> string); Name = name; Captures = captures } ]

/// The tokens of one line as TextMate finds them with match rules: from the current position, the
/// leftmost match of any rule (the first rule listed on a tie) scopes its text, then the search goes on
/// after it. Returns (column, text, scope) for every scoped piece.
let private tokenise (rules: Rule list) (line: string) : (int * string * string) list =
    let rec go pos acc =
        if pos >= line.Length then List.rev acc
        else
            let best =
                rules
                |> List.choose (fun r -> let m = r.Regex.Match (line, pos) in if m.Success then Some (r, m) else None)
                |> List.filter (fun (_, m) -> m.Length > 0 || m.Index > pos)
                |> List.sortBy (fun (_, m) -> m.Index) // stable: the first rule wins a tie
                |> List.tryHead
            match best with
            | None -> List.rev acc
            | Some (r, m) ->
                let pieces =
                    [ match r.Name with Some n -> yield m.Index, m.Value, n | None -> ()
                      for KeyValue (g, n) in r.Captures do
                          let grp = m.Groups.[g]
                          if grp.Success then yield grp.Index, grp.Value, n ]
                go (max (m.Index + m.Length) (pos + 1)) (List.rev pieces @ acc)
    go 0 []

let private rulesOf scope = flatten scope (grammars.[scope].GetProperty "patterns")

/// The words of the alternation in a repository entry's `match` (`\b(a|b|c)\b` → a, b, c).
let private wordsOf (scope: string) (key: string) =
    let m = grammars.[scope].GetProperty("repository").GetProperty(key).GetProperty("match").GetString () |> string
    let alt = Regex.Match (m, @"\(((?:[A-Za-z_]+\|)+[A-Za-z_]+)\)")
    Assert.True (alt.Success, sprintf "%s#%s has no word list: %s" scope key m)
    alt.Groups.[1].Value.Split '|' |> Set.ofArray

[<Fact>]
let ``every grammar file is valid JSON with regexes that compile`` () =
    Assert.Equal<Set<string>> (set [ "source.ruledsl"; "source.ruledsl.model"; "source.ruledsl.experiment" ], grammars |> Map.keys |> set)
    for scope in grammars.Keys do
        let rules = rulesOf scope
        Assert.NotEmpty rules
        // Every repository entry, used or not, compiles too.
        for kv in grammars.[scope].GetProperty("repository").EnumerateObject () do
            match kv.Value.TryGetProperty "match" with
            | true, m -> Regex (m.GetString () |> string) |> ignore
            | _ -> ()
    for f in [ "package.json"; "language-configuration.json" ] do
        JsonDocument.Parse (File.ReadAllText (Path.Combine (dir, f))) |> ignore

[<Fact>]
let ``the grammar lists exactly the table's built-ins`` () =
    Assert.Equal<Set<string>> (set Builtins.functionNames, wordsOf "source.ruledsl" "builtin")

[<Fact>]
let ``the grammar lists exactly the language's keywords`` () =
    Assert.Equal<Set<string>> (Grammar.keywords, wordsOf "source.ruledsl" "keyword")

[<Fact>]
let ``the experiment grammar lists exactly the schema's settings`` () =
    Assert.Equal<Set<string>> (Experiment.schema |> List.map (fun (k, _, _) -> k) |> set, wordsOf "source.ruledsl.experiment" "setting")

[<Fact>]
let ``the model grammar lists exactly the model roles`` () =
    Assert.Equal<Set<string>> (set ModelFile.roleNames, wordsOf "source.ruledsl.model" "role")

[<Fact>]
let ``package.json names each grammar file and scope`` () =
    let pkg = JsonDocument.Parse(File.ReadAllText (Path.Combine (dir, "package.json"))).RootElement.GetProperty "contributes"
    for g in pkg.GetProperty("grammars").EnumerateArray () do
        let path = Path.Combine (dir, g.GetProperty("path").GetString () |> string)
        Assert.True (File.Exists path, path)
        let scope = JsonDocument.Parse(File.ReadAllText path).RootElement.GetProperty("scopeName").GetString ()
        Assert.Equal (g.GetProperty("scopeName").GetString (), scope)
    let exts = pkg.GetProperty("languages").EnumerateArray () |> Seq.collect (fun l -> l.GetProperty("extensions").EnumerateArray ()) |> Seq.map (fun e -> e.GetString ()) |> set
    Assert.Equal<Set<string | null>> (set [ ".rule"; ".model"; ".experiment" ], exts)

let private scopeAt (tokens: (int * string * string) list) (col: int) =
    tokens |> List.filter (fun (c, t, _) -> c <= col && col < c + t.Length) |> List.map (fun (_, _, s) -> s)

/// Each shipped file of a kind, tokenised line by line; `check line tokens` for every line.
let private eachLine (pattern: string) (scope: string) (check: string -> string -> (int * string * string) list -> unit) =
    let rules = rulesOf scope
    let files =
        Directory.GetFiles (repoRoot, pattern, SearchOption.AllDirectories)
        |> Array.filter (fun p -> not (p.Contains "/bin/" || p.Contains "/obj/" || p.Contains "/tests/bad/" || p.Contains "/results/"))
    Assert.NotEmpty files
    for f in files do
        for line in File.ReadAllLines f do
            check (Path.GetRelativePath (repoRoot, f) + ": " + line) line (tokenise rules line)

/// Where a line's comment starts (a `#` outside a string), or the line's length.
let private commentAt (line: string) =
    let mutable inString, at = false, line.Length
    let mutable i = 0
    while i < line.Length && at = line.Length do
        if line.[i] = '"' then inString <- not inString
        elif line.[i] = '#' && not inString then at <- i
        i <- i + 1
    at

let private assertScope (where: string) (tokens: (int * string * string) list) (col: int) (prefix: string) =
    let scopes = scopeAt tokens col
    Assert.True (scopes |> List.exists (fun s -> s.StartsWith prefix), sprintf "%s\n  column %d: expected %s, got [%s]" where (col + 1) prefix (String.Join (", ", scopes)))

/// Comments are comments, and nothing inside a comment is scoped as anything else.
let private checkComment where (line: string) tokens =
    let c = commentAt line
    if c < line.Length then
        assertScope where tokens c "comment."
        for (col, _, s) in tokens do
            if col > c then Assert.True (s.StartsWith "comment.", sprintf "%s\n  column %d inside the comment scoped %s" where (col + 1) s)

/// Every call of a built-in outside comments is a built-in.
let private checkBuiltins where (line: string) tokens =
    let code = line.Substring (0, commentAt line)
    for m in Regex.Matches (code, @"(?<![A-Za-z0-9_.])([A-Za-z_][A-Za-z0-9_]*)\s*\(") do
        if List.contains m.Groups.[1].Value Builtins.functionNames then assertScope where tokens m.Index "support.function.builtin"

[<Fact>]
let ``shipped rule files tokenise keywords, built-ins and comments`` () =
    let mutable keywords = 0
    eachLine "*.rule" "source.ruledsl" (fun where line tokens ->
        checkComment where line tokens
        checkBuiltins where line tokens
        let code = line.Substring(0, commentAt line).TrimStart ()
        let first = code.Split([| ' '; '\t'; '[' |], 2).[0]
        if Grammar.keywords.Contains first then
            assertScope where tokens (line.Length - line.TrimStart().Length) "keyword."
            keywords <- keywords + 1
        for m in Regex.Matches (code, @"\bsum\s*\(\s*[A-Za-z_]\w*\s+(in)\b") do
            assertScope where tokens (line.Length - line.TrimStart().Length + m.Groups.[1].Index) "keyword.other.clause")
    Assert.True (keywords > 100, sprintf "only %d keyword lines in the shipped rules" keywords)

[<Fact>]
let ``shipped model files tokenise headers, roles, built-ins and comments`` () =
    let roles = set ModelFile.roleNames
    eachLine "*.model" "source.ruledsl.model" (fun where line tokens ->
        checkComment where line tokens
        checkBuiltins where line tokens
        let code = line.Substring(0, commentAt line).Trim ()
        let indent = line.Length - line.TrimStart().Length
        let first = code.Split([| ' '; '\t'; '=' |], 2).[0]
        if first = "model" || first = "const" then assertScope where tokens indent "keyword."
        elif roles.Contains first then assertScope where tokens indent "entity.name.function.role")

[<Fact>]
let ``shipped experiment files tokenise headers, settings and comments`` () =
    eachLine "*.experiment" "source.ruledsl.experiment" (fun where line tokens ->
        checkComment where line tokens
        let code = line.Substring(0, commentAt line).Trim ()
        let indent = line.Length - line.TrimStart().Length
        if code.StartsWith "experiment " then assertScope where tokens indent "keyword.other.experiment"
        elif code.Contains '=' then
            assertScope where tokens indent "variable.other.setting"
            Assert.DoesNotContain (tokens, fun (_, _, s) -> s.StartsWith "invalid."))

/// A misspelt setting is marked, so an editor shows it before `ruledsl check` does.
[<Fact>]
let ``an unknown setting is marked invalid`` () =
    let tokens = tokenise (rulesOf "source.ruledsl.experiment") "  episdoes = 30"
    assertScope "episdoes" tokens 2 "invalid.illegal"

[<Fact>]
let ``tangents and numbers are scoped`` () =
    let tokens = tokenise (rulesOf "source.ruledsl") "  dW = 1.5e-3 * outer(δe_post, y_pre) + theta0 * W'"
    assertScope "1.5e-3" tokens 7 "constant.numeric"
    assertScope "δe_post" tokens 22 "variable.other.tangent"
    // theta0's 0 is part of a name, not a number.
    Assert.Empty (scopeAt tokens 45)
