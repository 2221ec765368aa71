namespace RuleDsl.Syntax

open System
open FParsec
open RuleDsl.Syntax.Ast

/// Text to syntax tree: layout, then one FParsec parse per statement, FParsec's messages
/// rewritten into ones that say what was expected where and what was found instead.
module Parser =

    // ------------------------------------------------------------------ error messages

    let private rank (label: string) =
        match label with
        | "an expression" -> 0
        | "a name" -> 1
        | "a number" -> 2
        | "an operator" -> 5
        | "the end of the statement"
        | "the end of the expression" -> 9
        | _ -> 4

    let private joinOr (xs: string list) =
        match xs with
        | [] -> ""
        | [ x ] -> x
        | xs -> String.Join (", ", xs |> List.take (xs.Length - 1)) + " or " + List.last xs

    /// What stands at a position: a name, a number, a character, or the end.
    let private found (lines: string[]) (lastLine: int) (line: int) (col: int) =
        let rest =
            [ for l in line .. lastLine do
                  let t = if l - 1 < lines.Length then lines.[l - 1] else ""
                  if l = line then (if col - 1 < t.Length then t.Substring (col - 1) else "") else "\n" + t ]
            |> String.Concat
        let t = rest.TrimStart ()
        if t = "" then "the end of the statement"
        else
            let firstLine = t.Split('\n').[0]
            let c = firstLine.[0]
            if Char.IsLetter c || c = '_' then
                "'" + String (firstLine |> Seq.takeWhile (fun ch -> Char.IsLetterOrDigit ch || ch = '_') |> Array.ofSeq) + "'"
            elif Char.IsDigit c then
                "'" + String (firstLine |> Seq.takeWhile (fun ch -> Char.IsDigit ch || ch = '.') |> Array.ofSeq) + "'"
            else sprintf "'%c'" c

    /// The last non-blank character before a position (within the statement).
    let private previous (lines: string[]) (firstLine: int) (line: int) (col: int) =
        let mutable result = None
        let mutable l = line
        let mutable c = col - 1
        while result.IsNone && l >= firstLine do
            let t = lines.[l - 1]
            let mutable k = min c t.Length
            while result.IsNone && k >= 1 do
                if not (Char.IsWhiteSpace t.[k - 1]) then result <- Some t.[k - 1]
                k <- k - 1
            l <- l - 1
            if l >= 1 then c <- lines.[l - 1].Length
        result

    let rec private messagesAt (msgs: ErrorMessageList) : (string list * string list) =
        let arr = ErrorMessageList.ToSortedArray msgs
        let expected =
            arr
            |> Array.choose (function
                | Expected l -> Some l
                | ExpectedString s -> Some ("'" + s + "'")
                | _ -> None)
            |> List.ofArray
        let custom = arr |> Array.choose (function Message m -> Some m | _ -> None) |> List.ofArray
        expected, custom

    let private toDiagnostic (lines: string[]) (firstLine: int) (lastLine: int) (err: ParserError) : Diagnostic =
        let pos = err.Position
        let file = pos.StreamName
        // FParsec reports an error at the end after skipping the trailing blanks (often the next
        // line); put it just after the statement's last character instead.
        let line, col =
            let mutable l = lastLine
            while l > firstLine && String.IsNullOrWhiteSpace lines.[l - 1] do
                l <- l - 1
            let endCol = lines.[l - 1].TrimEnd().Length + 1
            if (int pos.Line, int pos.Column) > (l, endCol) then l, endCol else int pos.Line, int pos.Column
        let expected, custom = messagesAt err.Messages
        let expected =
            let ex = expected |> List.distinct
            // '(' and '[' after a name are calls and indices; next to "an operator" they only confuse.
            let ex = if List.contains "an operator" ex then ex |> List.filter (fun l -> l <> "'('" && l <> "'['") else ex
            ex |> List.sortBy (fun l -> rank l, l)
        let what = found lines lastLine line col
        let after =
            match previous lines firstLine line col with
            | Some c when "+-*/@^=,(".IndexOf c >= 0 && List.contains "an expression" expected -> sprintf " after '%c'" c
            | _ -> ""
        let message =
            match custom, expected with
            | m :: _, _ -> m
            | [], [] -> sprintf "syntax error: unexpected %s" what
            | _, ex -> sprintf "syntax error: expected %s%s, found %s" (joinOr ex) after what
        let d = Diagnostic.at Codes.Syntax (SourceRange.make file (line, col) (line, col + 1)) message
        // A few mistakes have a known fix.
        let hint =
            if what = "'*'" && previous lines firstLine line col = Some '*' then Some "powers are written x^2"
            elif what = "'='" && List.contains "'='" expected |> not && previous lines firstLine line col = Some '=' then
                Some "a definition has a single '='"
            elif what = "'.'" && List.contains "'..'" expected |> not then Some "numbers are written 0.5 (a digit on both sides of the point); ranges are 0..9"
            else None
        match hint with
        | Some h -> Diagnostic.withHint h d
        | None -> d

    // ------------------------------------------------------------------ statements and files

    let private isIdStart c = Char.IsLetter c || c = '_'

    /// A statement must start with a keyword or be `name = …`; catch the rest before FParsec,
    /// whose message for it would be about a missing '='.
    let private precheck (file: string) (lines: string[]) (c: Layout.Chunk) : Diagnostic option =
        let text = lines.[c.StartLine - 1]
        let start = c.StartCol - 1
        let ch = text.[start]
        let at len msg = Diagnostic.at Codes.UnknownStatement (SourceRange.make file (c.StartLine, c.StartCol) (c.StartLine, c.StartCol + max 1 len)) msg
        if not (isIdStart ch) then
            Some (
                at 1 (sprintf "a statement cannot start with '%c'" ch)
                |> Diagnostic.withHint "a continuation line must be indented more than the first line of its statement"
            )
        else
            let word = String (text.Substring start |> Seq.takeWhile (fun x -> Char.IsLetterOrDigit x || x = '_') |> Array.ofSeq)
            let restOfLine = text.Substring(start + word.Length).TrimStart ()
            if Grammar.keywords.Contains word || restOfLine.StartsWith "=" && not (restOfLine.StartsWith "==") then None
            else
                let d = at word.Length (sprintf "unknown statement '%s'" word)
                let hint =
                    match Suggest.nearest word Grammar.keywords with
                    | k :: _ -> sprintf "did you mean %s?" k
                    | [] -> "a statement starts with rule, include, param, init, const, term or trace, or is the update dW = ..."
                Some (Diagnostic.withHint hint d)

    let private parseChunk (file: string) (lines: string[]) (c: Layout.Chunk) : Result<Located, Diagnostic> =
        match Layout.lexicalCheck file lines c with
        | Some d -> Result.Error d
        | None ->
            match precheck file lines c with
            | Some d -> Result.Error d
            | None ->
                match runParserOnString Grammar.statement () file (Layout.textOf lines c) with
                | Success (s, _, _) -> Result.Ok s
                | Failure (_, err, _) -> Result.Error (toDiagnostic lines c.StartLine c.EndLine err)

    let private ruleOnly (s: Statement) =
        match s with
        | Param _ | Init _ | Trace _ | Assign _ -> true
        | _ -> false

    let private stmtName (s: Statement) =
        match s with
        | RuleHeader _ -> "rule"
        | Include _ -> "include"
        | Param _ -> "param"
        | Init _ -> "init"
        | Const _ -> "const"
        | Term _ -> "term"
        | Trace _ -> "trace"
        | Assign (n, _) -> n.Name

    /// Parse a whole file. Every statement is parsed on its own, so one file reports all its
    /// syntax errors (one per statement at most).
    [<CompiledName "ParseFile">]
    let parseFile (path: string) (text: string) : SourceFile * Diagnostic list =
        let lines = Layout.clean text
        let items, layoutDiags = Layout.split path lines
        let diags = ResizeArray<Diagnostic> layoutDiags
        let parse c =
            match parseChunk path lines c with
            | Result.Ok s -> Some s
            | Result.Error d ->
                diags.Add d
                None
        let misplaced (s: Located) msg = diags.Add (Diagnostic.at Codes.MisplacedStatement s.Keyword msg)
        // `x = …` in a rule is the update only when x is dW.
        let checkAssign (s: Located) =
            match s.Stmt with
            | Assign (n, _) when n.Name <> "dW" ->
                let d = Diagnostic.at Codes.UnknownStatement n.Range (sprintf "unknown statement '%s = ...'" n.Name)
                let hint =
                    if Suggest.distance (n.Name.ToLowerInvariant ()) "dw" <= 1 then "the update is written dW = ..."
                    else sprintf "a term is defined with: term %s = ...; the update is dW = ..." n.Name
                diags.Add (Diagnostic.withHint hint d)
                false
            | _ -> true
        let topItems =
            items
            |> List.choose (fun item ->
                let head = parse item.Head
                if item.IsRule then
                    let parsed = item.Body |> List.map parse
                    let body =
                        parsed
                        |> List.choose id
                        |> List.filter (fun s ->
                            match s.Stmt with
                            | RuleHeader _ ->
                                misplaced s "a rule cannot contain another rule; start 'rule' in column 1"
                                false
                            | Include _ ->
                                misplaced s "include belongs at the top level of the file, in column 1"
                                false
                            | _ -> checkAssign s)
                    match head with
                    | Some { Stmt = RuleHeader (name, setting); Range = r } ->
                        let incomplete = body.Length < parsed.Length
                        Some (TopRule { Name = name; Setting = setting; Header = r; Body = body; Incomplete = incomplete })
                    | _ -> None
                else
                    match head with
                    | Some s when ruleOnly s.Stmt ->
                        if item.Head.StartCol = 1 then
                            misplaced s (sprintf "'%s' belongs inside a rule block; start the block with a line 'rule NAME' in column 1" (stmtName s.Stmt))
                        None
                    | Some s when item.Head.StartCol > 1 -> None // reported by the layout pass
                    | Some s -> Some (TopStatement s)
                    | None -> None)
        let file = { Path = path; Text = text; Lines = text.Replace("\r\n", "\n").Split '\n'; Items = topItems }
        file, List.ofSeq diags

    // ------------------------------------------------------------------ lone expressions

    let private exprFile = "<expression>"

    /// Parse an expression in the printer's syntax to its syntax tree.
    [<CompiledName "ParseExpressionSyntax">]
    let parseExpressionSyntax (text: string) : Result<Ast.Expr, Diagnostic list> =
        let lines = Layout.clean text
        let chunk = { Layout.StartLine = 1; Layout.EndLine = lines.Length; Layout.StartCol = 1 }
        match Layout.lexicalCheck exprFile lines chunk with
        | Some d -> Result.Error [ d ]
        | None ->
            match runParserOnString Grammar.expression () exprFile text with
            | Success (e, _, _) -> Result.Ok e
            | Failure (_, err, _) -> Result.Error [ toDiagnostic lines 1 lines.Length err ]
