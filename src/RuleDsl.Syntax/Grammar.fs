namespace RuleDsl.Syntax

open System
open System.Globalization
open FParsec
open RuleDsl.Syntax.Ast

/// The FParsec grammar of one statement (the layout pass has already cut the file into
/// statements). Precedence, low to high: + - < * / < @ < unary - < ^ (right) < postfix ' < atoms.
module Grammar =
    type P<'a> = Parser<'a, unit>

    let keywords = set [ "rule"; "include"; "param"; "init"; "const"; "term"; "trace" ]

    let private rangeOf (s: Position) (e: Position) =
        { File = s.StreamName
          Start = { Line = int s.Line; Col = int s.Column }
          End = { Line = int e.Line; Col = int e.Column } }

    let private isIdStart c = isAsciiLetter c || c = '_' || c = 'δ'
    let private isIdChar c = isAsciiLetter c || isDigit c || c = '_'

    let ws : P<unit> = spaces

    /// A token: the parser's value and its range, trailing blanks skipped.
    let private tok (p: P<'a>) : P<'a * SourceRange> =
        pipe3 getPosition p getPosition (fun s x e -> x, rangeOf s e) .>> ws

    let private symL (s: string) (label: string) : P<SourceRange> = tok (skipString s) |>> snd <?> label
    let private sym (s: string) = symL s ("'" + s + "'")

    let private operator (s: string) : P<SourceRange> = symL s "an operator"

    let private identRaw : P<string> =
        many1Satisfy2L isIdStart isIdChar "a name"
        >>= fun s -> if s = "δ" then fail "δ must be followed by a name" else preturn s

    let ident : P<Ident> =
        tok identRaw |>> fun (n, r) -> { Name = n; Range = r }

    let private keyword (k: string) : P<SourceRange> =
        tok (skipString k >>? notFollowedBy (satisfy isIdChar)) |>> snd <?> ("'" + k + "'")

    let private number : P<Expr> =
        let digits = many1Satisfy isDigit
        let frac = pchar '.' >>? digits |>> fun d -> "." + d
        let expo =
            pipe3 (anyOf "eE") (opt (anyOf "+-")) digits (fun e s d -> string e + (match s with Some c -> string c | None -> "") + d)
        let text = pipe3 digits (opt frac) (opt (attempt expo)) (fun a b c -> a + defaultArg b "" + defaultArg c "")
        let noNameAfter =
            (nextCharSatisfies isIdStart >>. fail "syntax error: a number cannot run into a name; write 2 * x for a product")
            <|> preturn ()
        tok (text .>> noNameAfter)
        |>> fun (t, r) -> Number (Double.Parse (t, NumberStyles.Float, CultureInfo.InvariantCulture), t, r)
        <?> "a number"

    let private expr, exprRef = createParserForwardedToRef<Expr, unit> ()
    let private unary, unaryRef = createParserForwardedToRef<Expr, unit> ()

    let binding : P<Binding> =
        pipe4 (ident .>>? keyword "in") expr (sym "..") expr (fun v lo _ hi ->
            { Var = v; Lo = lo; Hi = hi; Range = SourceRange.union v.Range (Ast.rangeOf hi) })

    let private arg : P<Arg> = (binding |>> Binding) <|> (expr |>> Positional)

    let private nameOrCall : P<Expr> =
        ident
        >>= fun id ->
            let call =
                pipe2 (sym "(" >>. sepBy arg (sym ",")) (sym ")") (fun args close -> Call (id, args, SourceRange.union id.Range close))
            let indexed =
                pipe2 (sym "[" >>. sepBy1 expr (sym ",")) (sym "]") (fun ix close -> Name (id, Some ix, SourceRange.union id.Range close))
            call <|> indexed <|> preturn (Name (id, None, id.Range))

    let private parens : P<Expr> =
        pipe3 (sym "(") expr (sym ")") (fun o e c -> Paren (e, SourceRange.union o c))

    let private atom : P<Expr> = number <|> parens <|> nameOrCall <?> "an expression"

    let private postfix : P<Expr> =
        pipe2 atom (many (operator "'")) (fun a ts -> ts |> List.fold (fun acc r -> Transpose (acc, SourceRange.union (Ast.rangeOf acc) r)) a)

    // x^y^z = x^(y^z); the exponent may carry a sign: x^-1.
    let private power : P<Expr> =
        pipe2 postfix (opt (operator "^" .>>. unary)) (fun a rest ->
            match rest with
            | None -> a
            | Some (op, b) -> Binary (Pow, a, b, op, SourceRange.union (Ast.rangeOf a) (Ast.rangeOf b)))

    do unaryRef.Value <- (pipe2 (symL "-" "an expression") unary (fun r e -> Neg (e, SourceRange.union r (Ast.rangeOf e)))) <|> power

    let private chain (ops: (string * BinOp) list) (next: P<Expr>) : P<Expr> =
        let opP = ops |> List.map (fun (s, op) -> operator s |>> fun r -> op, r) |> choice
        pipe2 next (many (opP .>>. next)) (fun first rest ->
            rest |> List.fold (fun acc ((op, r), b) -> Binary (op, acc, b, r, SourceRange.union (Ast.rangeOf acc) (Ast.rangeOf b))) first)

    let private matmul = chain [ "@", MatMul ] unary
    let private product = chain [ "*", Mul; "/", Div ] matmul
    // "+=" is not a sum: keep the '+' for the trace statement.
    let private sum =
        let opP =
            (tok (pchar '+' >>? notFollowedBy (pchar '=')) |>> fun (_, r) -> Add, r) <|> (operator "-" |>> fun r -> Sub, r)
            <?> "an operator"
        pipe2 product (many (opP .>>. product)) (fun first rest ->
            rest |> List.fold (fun acc ((op, r), b) -> Binary (op, acc, b, r, SourceRange.union (Ast.rangeOf acc) (Ast.rangeOf b))) first)

    do exprRef.Value <- sum

    let private stringLit : P<string * SourceRange> =
        tok (between (pchar '"') (pchar '"') (manySatisfy (fun c -> c <> '"' && c <> '\n'))) <?> "a quoted file name"

    let private indexSpec : P<IndexSpec> = (binding |>> Bind) <|> (expr |>> At)

    let private brackets (p: P<'a>) : P<'a list> = sym "[" >>. sepBy1 p (sym ",") .>> sym "]"

    let private eq = sym "="

    /// One statement, with its range and keyword range.
    let statement : P<Located> =
        let located (kw: SourceRange) (stmt: Statement) (last: SourceRange) = { Stmt = stmt; Range = SourceRange.union kw last; Keyword = kw }
        let exprEnd (e: Expr) = Ast.rangeOf e
        let ruleHeader =
            keyword "rule" .>>. ident .>>. opt (sym ":" >>. ident)
            |>> fun ((kw, name), setting) ->
                located kw (RuleHeader (name, setting)) (match setting with Some s -> s.Range | None -> name.Range)
        let includeStmt =
            keyword "include" .>>. stringLit |>> fun (kw, (path, r)) -> located kw (Include (path, r)) r
        // `step`, `min` and `max` may follow the initial value, each once, in any order.
        let paramClause =
            let clause k = keyword k .>>. expr |>> fun (kw, e) -> k, e, SourceRange.union kw (exprEnd e)
            choice [ clause "step"; clause "min"; clause "max" ]
        let paramClauses =
            many paramClause
            |>> fun cs ->
                let get k = cs |> List.tryFind (fun (c, _, _) -> c = k) |> Option.map (fun (_, e, _) -> e)
                let repeated =
                    cs |> List.indexed
                    |> List.filter (fun (i, (k, _, _)) -> cs |> List.take i |> List.exists (fun (c, _, _) -> c = k))
                    |> List.map (fun (_, (k, _, r)) -> k, r)
                { Step = get "step"; Min = get "min"; Max = get "max"; Repeated = repeated }, cs |> List.tryLast |> Option.map (fun (_, e, _) -> e)
        let paramStmt =
            pipe5 (keyword "param") ident (opt (brackets binding)) (eq >>. expr) paramClauses (fun kw name bs value (opts, last) ->
                located kw (Param (name, defaultArg bs [], value, opts)) (exprEnd (defaultArg last value)))
        let initStmt =
            pipe4 (keyword "init") ident (opt (brackets expr)) (eq >>. expr) (fun kw name ix value ->
                located kw (Init (name, defaultArg ix [], value)) (exprEnd value))
        let constStmt =
            pipe3 (keyword "const") ident (eq >>. expr) (fun kw name value -> located kw (Const (name, value)) (exprEnd value))
        let termStmt =
            pipe4 (keyword "term") ident (opt (brackets indexSpec)) (eq >>. expr) (fun kw name ix body ->
                located kw (Term (name, defaultArg ix [], body)) (exprEnd body))
        let traceKind =
            (sym "'" >>. eq >>% Continuous) <|> (sym "+=" >>% Accumulate) <?> "' = (continuous trace) or += (accumulated trace)"
        let traceStmt =
            pipe4 (keyword "trace") ident traceKind expr (fun kw name kind body -> located kw (Trace (name, kind, body)) (exprEnd body))
        let assign =
            pipe2 ident (eq >>. expr) (fun name value -> located name.Range (Assign (name, value)) (exprEnd value))
        ws
        >>. choice [ ruleHeader; includeStmt; paramStmt; initStmt; constStmt; termStmt; traceStmt; assign ]
        .>> (eof <?> "the end of the statement")

    /// A lone expression (the printer's syntax), for `Parser.parseExpressionSyntax`.
    let expression : P<Expr> = ws >>. expr .>> (eof <?> "the end of the expression")
