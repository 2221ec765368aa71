namespace RuleDsl.Syntax

open System

/// Where two versions of a source file first differ in what they say: line numbers are 1-based, 0
/// when that version has nothing there (the file ended); the texts are the whole lines.
type SourceChangeAt =
    { OldLine: int
      OldText: string
      NewLine: int
      NewText: string }

/// Whether a file still says what it said, comments and layout aside: a resumed run may only
/// continue with files that do (its results would otherwise mix two rules).
module SourceChange =
    type private Token = { Text: string; Line: int }

    /// A statement of the file: whether it starts in column 1, and its tokens.
    type private Statement = { Top: bool; Tokens: Token list }

    /// The tokens of a line whose comments are blanked out: words (letters, digits, _ and .) and
    /// strings whole, any other character alone; whitespace only separates them.
    let private tokens (lineNo: int) (line: string) : Token list =
        let out = ResizeArray<Token> ()
        let word c = Char.IsLetterOrDigit c || c = '_' || c = '.'
        let mutable i = 0
        while i < line.Length do
            let c = line.[i]
            if Char.IsWhiteSpace c then i <- i + 1
            else
                let j =
                    if c = '"' then (match line.IndexOf ('"', i + 1) with -1 -> line.Length | k -> k + 1)
                    elif word c then (let mutable k = i in (while k < line.Length && word line.[k] do k <- k + 1); k)
                    else i + 1
                out.Add { Text = line.Substring (i, j - i); Line = lineNo }
                i <- j
        List.ofSeq out

    let private chunkTokens (lines: string[]) (c: Layout.Chunk) =
        [ for l in c.StartLine .. c.EndLine do yield! tokens l lines.[l - 1] ]

    /// Rule files: the statements Layout finds (a rule's body statements, top-level items with their
    /// continuation lines). Models and experiments: one statement per non-blank line.
    let private statements (path: string) (text: string) : Statement list =
        let lines = Layout.clean text
        if path.EndsWith (".model", StringComparison.Ordinal) || path.EndsWith (".experiment", StringComparison.Ordinal) then
            lines
            |> Array.mapi (fun i l -> { Top = l.Length > 0 && not (Char.IsWhiteSpace l.[0]); Tokens = tokens (i + 1) l })
            |> Array.filter (fun s -> not s.Tokens.IsEmpty)
            |> List.ofArray
        else
            let items, _ = Layout.split path lines
            items
            |> List.collect (fun it ->
                { Top = true; Tokens = chunkTokens lines it.Head }
                :: (it.Body |> List.map (fun b -> { Top = false; Tokens = chunkTokens lines b })))
            |> List.filter (fun s -> not s.Tokens.IsEmpty)

    let private lineText (text: string) =
        let lines = text.Replace("\r\n", "\n").Split '\n'
        fun n -> if n >= 1 && n <= lines.Length then lines.[n - 1].Trim () else ""

    /// The first place where `newText` says something other than `oldText` (both versions of the
    /// file `path`), or None when they differ at most in comments, whitespace, blank lines and how
    /// a statement is broken over lines.
    [<CompiledName "First">]
    let first (path: string) (oldText: string) (newText: string) : SourceChangeAt option =
        let oldLine, newLine = lineText oldText, lineText newText
        let at o n = Some { OldLine = o; OldText = oldLine o; NewLine = n; NewText = newLine n }
        let lastLine (s: Statement) = (List.last s.Tokens).Line
        let rec go (a: Statement list) (b: Statement list) =
            match a, b with
            | [], [] -> None
            | s :: _, [] -> at s.Tokens.Head.Line 0
            | [], s :: _ -> at 0 s.Tokens.Head.Line
            | s :: _, t :: _ when s.Top <> t.Top -> at s.Tokens.Head.Line t.Tokens.Head.Line
            | s :: restA, t :: restB ->
                let rec tok (x: Token list) (y: Token list) =
                    match x, y with
                    | [], [] -> go restA restB
                    | p :: _, [] -> at p.Line (lastLine t)
                    | [], q :: _ -> at (lastLine s) q.Line
                    | p :: xs, q :: ys when p.Text = q.Text -> tok xs ys
                    | p :: _, q :: _ -> at p.Line q.Line
                tok s.Tokens t.Tokens
        go (statements path oldText) (statements path newText)
