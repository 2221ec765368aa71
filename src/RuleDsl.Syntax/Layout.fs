namespace RuleDsl.Syntax

open System

/// The line structure of a rule file, found before any parsing so that one bad statement cannot
/// take the rest of the file with it:
///   - a line starting in column 1 opens a top-level item (rule header, include, term, const);
///   - the indented lines after a rule header are its body; the first of them sets the body's
///     indentation, a line at that indentation starts a statement, a deeper one continues it;
///   - the indented lines after any other top-level item continue it.
/// Comments (# to end of line) are blanked out here; columns are kept.
module Layout =
    type Chunk =
        { /// 1-based, inclusive.
          StartLine: int
          EndLine: int
          /// Column (1-based) of the first character.
          StartCol: int }

    type Item =
        { Head: Chunk
          /// Statements of a rule body; empty for other items.
          Body: Chunk list
          IsRule: bool }

    /// Split into lines and blank out comments (outside strings).
    let clean (text: string) : string[] =
        let lines = text.Replace("\r\n", "\n").Replace('\r', '\n').Split '\n'
        lines
        |> Array.map (fun line ->
            let chars = line.ToCharArray ()
            let mutable inString = false
            let mutable comment = false
            for i in 0 .. chars.Length - 1 do
                if comment then chars.[i] <- ' '
                elif chars.[i] = '"' then inString <- not inString
                elif chars.[i] = '#' && not inString then
                    comment <- true
                    chars.[i] <- ' '
            String chars)

    let private indentOf (line: string) =
        let mutable i = 0
        while i < line.Length && (line.[i] = ' ' || line.[i] = '\t') do
            i <- i + 1
        i

    let private firstWord (line: string) =
        let t = line.TrimStart ()
        let n = t |> Seq.takeWhile (fun c -> Char.IsLetterOrDigit c || c = '_') |> Seq.length
        t.Substring (0, n)

    let private ruleOnlyWords = set [ "param"; "init"; "trace"; "dW" ]
    let private topWords = set [ "rule"; "include"; "term"; "const" ]

    /// The items of a file and the layout errors (tabs, bad indentation, misplaced statements).
    let split (file: string) (lines: string[]) : Item list * Diagnostic list =
        let diags = ResizeArray<Diagnostic> ()
        let err code line col msg = diags.Add (Diagnostic.at code (SourceRange.make file (line, col) (line, col + 1)) msg)
        let blank (l: string) = String.IsNullOrWhiteSpace l
        let n = lines.Length
        // Tabs in indentation make columns ambiguous.
        for i in 0 .. n - 1 do
            let l = lines.[i]
            if not (blank l) then
                let ind = indentOf l
                match l.Substring(0, ind).IndexOf '\t' with
                | -1 -> ()
                | t -> err Codes.Indentation (i + 1) (t + 1) "tab in indentation; indent with spaces"
        let items = ResizeArray<Item> ()
        let mutable i = 0
        while i < n do
            if blank lines.[i] then i <- i + 1
            else
                let start = i
                let ind = indentOf lines.[start]
                if ind > 0 then
                    err Codes.Indentation (start + 1) (ind + 1)
                        "unexpected indentation: top-level lines (rule, include, term, const) start in column 1"
                // The indented lines that follow belong to this item.
                let mutable j = start + 1
                let followers = ResizeArray<int> ()
                while j < n && (blank lines.[j] || indentOf lines.[j] > 0) do
                    if not (blank lines.[j]) then followers.Add j
                    j <- j + 1
                let isRule = firstWord lines.[start] = "rule"
                let chunk s e = { StartLine = s + 1; EndLine = e + 1; StartCol = indentOf lines.[s] + 1 }
                if isRule then
                    let body = ResizeArray<Chunk> ()
                    if followers.Count > 0 then
                        let bodyIndent = indentOf lines.[followers.[0]]
                        let starts =
                            followers
                            |> Seq.filter (fun k ->
                                let ki = indentOf lines.[k]
                                if ki < bodyIndent then
                                    err Codes.Indentation (k + 1) (ki + 1)
                                        (sprintf "this line is indented less than the rule body above it (column %d)" (bodyIndent + 1))
                                ki <= bodyIndent)
                            |> List.ofSeq
                        starts
                        |> List.iteri (fun idx s ->
                            let next = if idx + 1 < starts.Length then starts.[idx + 1] else j
                            // The statement runs to the last non-blank line before the next one.
                            let last = followers |> Seq.filter (fun k -> k >= s && k < next) |> Seq.max
                            body.Add (chunk s last))
                    items.Add { Head = chunk start start; Body = List.ofSeq body; IsRule = true }
                else
                    // A follower that starts with a statement keyword is a misplaced statement, not a continuation.
                    let isStmtStart (k: int) =
                        let w = firstWord lines.[k]
                        ruleOnlyWords.Contains w || topWords.Contains w
                    let breaks = followers |> Seq.filter isStmtStart |> List.ofSeq
                    let ends = breaks @ [ j ]
                    let firstEnd = ends.Head
                    let lastOf s e = (start :: List.ofSeq followers) |> List.filter (fun k -> k >= s && k < e) |> List.max
                    items.Add { Head = chunk start (lastOf start firstEnd); Body = []; IsRule = false }
                    breaks
                    |> List.iteri (fun idx b ->
                        let e = ends.[idx + 1]
                        let w = firstWord lines.[b]
                        let col = indentOf lines.[b] + 1
                        if ruleOnlyWords.Contains w then
                            err Codes.MisplacedStatement (b + 1) col
                                (sprintf "'%s' belongs inside a rule block; start the block with a line 'rule NAME' in column 1" w)
                        else
                            err Codes.Indentation (b + 1) col
                                (sprintf "'%s' is a top-level statement and starts in column 1" w)
                        items.Add { Head = chunk b (lastOf b e); Body = []; IsRule = false })
                i <- j
        List.ofSeq items, List.ofSeq diags

    /// The text of a chunk with the lines before it left empty, so that parser positions are
    /// file positions.
    let textOf (lines: string[]) (c: Chunk) : string =
        let sb = Text.StringBuilder ()
        sb.Append ('\n', c.StartLine - 1) |> ignore
        for l in c.StartLine .. c.EndLine do
            sb.Append(lines.[l - 1]).Append('\n') |> ignore
        sb.ToString ()

    let private hintFor (ch: char) =
        match ch with
        | 'θ' -> Some "write theta (parameters are named in ASCII: theta0, theta[1,2])"
        | 'Δ' -> Some "the update is written dW = ..."
        | '·' | '×' | '⊙' -> Some "use * for elementwise products and @ for matrix products"
        | '−' | '–' -> Some "use the ASCII minus sign -"
        | '²' | '³' -> Some "write powers with ^, e.g. x^2"
        | '⊤' | 'ᵀ' -> Some "write the transpose as W'"
        | ';' -> Some "a statement ends at the end of its line; continuation lines are indented"
        | '{' | '}' -> Some "group with parentheses ( )"
        | '`' | '’' -> Some "the transpose is the ASCII apostrophe '"
        | _ -> None

    let private allowed (ch: char) =
        (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9')
        || " \t_()[],+-*/@^'=.:\"δ".IndexOf ch >= 0

    /// Characters the language does not use, and brackets that do not pair up, within one chunk.
    /// Reported before parsing: the parser's own message for these would point somewhere less useful.
    let lexicalCheck (file: string) (lines: string[]) (c: Chunk) : Diagnostic option =
        let at line col msg code = Diagnostic.at code (SourceRange.make file (line, col) (line, col + 1)) msg
        let stack = Collections.Generic.Stack<char * int * int> ()
        let mutable result = None
        let mutable l = c.StartLine
        while result.IsNone && l <= c.EndLine do
            let text = lines.[l - 1]
            let mutable inString = false
            let mutable k = 0
            while result.IsNone && k < text.Length do
                let ch = text.[k]
                let col = k + 1
                if inString then
                    if ch = '"' then inString <- false
                elif ch = '"' then inString <- true
                elif not (allowed ch) then
                    let d = at l col (sprintf "character '%c' (U+%04X) is not part of the rule language" ch (int ch)) Codes.InvalidCharacter
                    result <- Some (match hintFor ch with Some h -> Diagnostic.withHint h d | None -> d)
                elif ch = '(' || ch = '[' then stack.Push (ch, l, col)
                elif ch = ')' || ch = ']' then
                    let want = if ch = ')' then '(' else '['
                    if stack.Count = 0 then
                        result <- Some (at l col (sprintf "'%c' has no matching '%c'" ch want) Codes.Bracket)
                    else
                        let (o, ol, oc) = stack.Pop ()
                        if o <> want then
                            result <- Some (at l col (sprintf "'%c' does not match the '%c' at %d:%d" ch o ol oc) Codes.Bracket)
                k <- k + 1
            if result.IsNone && inString then
                result <- Some (at l (text.LastIndexOf '"' + 1) "this string is not closed on its line" Codes.Syntax)
            l <- l + 1
        match result with
        | Some d -> Some d
        | None when stack.Count > 0 ->
            let (o, ol, oc) = Seq.last stack // the outermost unclosed bracket
            Some (
                at ol oc (sprintf "'%c' is never closed" o) Codes.Bracket
                |> Diagnostic.withHint "close it within the statement; continuation lines must be indented more than the statement's first line"
            )
        | None -> None
