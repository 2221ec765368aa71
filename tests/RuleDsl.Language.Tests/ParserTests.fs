/// The grammar: precedence and associativity, numbers, ranges, statements, layout.
module ParserTests

open Xunit
open RuleDsl.Symbolic
open RuleDsl.Syntax
open RuleDsl.Syntax.Ast
open RuleDsl.Semantics

type private SE = RuleDsl.Symbolic.Expr

/// Fully parenthesised form of an expression's syntax tree.
let rec private sx (e: Ast.Expr) : string =
    match e with
    | Number (_, t, _) -> t
    | Name (id, None, _) -> id.Name
    | Name (id, Some ix, _) -> id.Name + "[" + String.concat "," (ix |> List.map sx) + "]"
    | Call (id, args, _) ->
        let arg = function Positional a -> sx a | Binding b -> b.Var.Name + " in " + sx b.Lo + ".." + sx b.Hi
        id.Name + "(" + String.concat ", " (args |> List.map arg) + ")"
    | Neg (x, _) -> "(-" + sx x + ")"
    | Binary (op, a, b, _, _) ->
        let o = match op with BinOp.Add -> "+" | BinOp.Sub -> "-" | BinOp.Mul -> "*" | BinOp.Div -> "/" | BinOp.MatMul -> "@" | BinOp.Pow -> "^"
        "(" + sx a + " " + o + " " + sx b + ")"
    | Transpose (x, _) -> "(" + sx x + "')"
    | Paren (x, _) -> sx x

let private parse (text: string) =
    match Parser.parseExpressionSyntax text with
    | Ok e -> sx e
    | Error ds -> failwithf "parse failed: %A" (ds |> List.map (fun d -> d.Message))

[<Theory>]
[<InlineData("a + b * c", "(a + (b * c))")>]
[<InlineData("a * b @ c", "(a * (b @ c))")>]
[<InlineData("a @ b * c", "((a @ b) * c)")>]
[<InlineData("-a @ b", "((-a) @ b)")>]
[<InlineData("-a ^ 2", "(-(a ^ 2))")>]
[<InlineData("a ^ b ^ c", "(a ^ (b ^ c))")>]
[<InlineData("a ^ b'", "(a ^ (b'))")>]
[<InlineData("a'^2", "((a') ^ 2)")>]
[<InlineData("x''", "((x')')")>]
[<InlineData("a - b - c", "((a - b) - c)")>]
[<InlineData("a / b / c", "((a / b) / c)")>]
[<InlineData("a - b * c / d", "(a - ((b * c) / d))")>]
[<InlineData("2 ^ -1", "(2 ^ (-1))")>]
[<InlineData("-x * y", "((-x) * y)")>]
[<InlineData("outer(a, b) @ W' @ outer(c, d)", "((outer(a, b) @ (W')) @ outer(c, d))")>]
[<InlineData("(a + b)' @ c", "(((a + b)') @ c)")>]
[<InlineData("theta[k, l + 1] * F[r]", "(theta[k,(l + 1)] * F[r])")>]
[<InlineData("sum(k in 0..2, l in 0..k, theta[k,l] * x^l)", "sum(k in 0..2, l in 0..k, (theta[k,l] * (x ^ l)))")>]
[<InlineData("sum(W)", "sum(W)")>]
[<InlineData("δW + δy_pre", "(δW + δy_pre)")>]
let ``precedence and associativity`` (text: string, expected: string) = Assert.Equal (expected, parse text)

[<Theory>]
[<InlineData("1e-3", 0.001)>]
[<InlineData("1E-05", 1e-05)>]
[<InlineData("2", 2.0)>]
[<InlineData("0.25", 0.25)>]
[<InlineData("3.5e+2", 350.0)>]
let ``numbers in invariant round-trip format`` (text: string, value: float) =
    match Parser.parseExpressionSyntax text with
    | Ok (Number (v, _, _)) -> Assert.Equal (value, v)
    | other -> failwithf "not a number: %A" other

let private symbols =
    [ "W", Shape.Matrix ("post", "pre"); "y_pre", Shape.Vector "pre"; "y_post", Shape.Vector "post"
      "e_post", Shape.Vector "post"; "theta[1,2]", Shape.Scalar; "theta0", Shape.Scalar; "δW", Shape.Matrix ("post", "pre")
      "δy_pre", Shape.Vector "pre" ]
    |> List.map (fun (n, s) -> n, ({ Name = n; Shape = s }: Symbol))
    |> Map.ofList

[<Fact>]
let ``a param may give its meta step after its initial value`` () =
    let f, ds = Parser.parseFile "t.rule" "rule r : feedforward\n  param theta9 = 0 step 0.01\n  dW = theta9 * outer(y_post, y_pre)\n"
    Assert.Empty ds
    match f.Items with
    | [ TopRule r ] ->
        match (List.head r.Body).Stmt with
        | Param (t, [], Number (0.0, _, _), { Step = Some (Number (0.01, _, _)); Min = None; Max = None }) -> Assert.Equal ("theta9", t.Name)
        | other -> failwithf "unexpected %A" other
    | other -> failwithf "unexpected %A" other

[<Fact>]
let ``a param may bound itself with min and max, in any order after its initial value`` () =
    let f, ds = Parser.parseFile "t.rule" "rule r : feedforward\n  param theta9 = 0 max 0.5 step 0.1 min 0\n  dW = theta9 * outer(y_post, y_pre)\n"
    Assert.Empty ds
    match f.Items with
    | [ TopRule r ] ->
        match (List.head r.Body).Stmt with
        | Param (_, [], _, { Step = Some (Number (0.1, _, _)); Min = Some (Number (0.0, _, _)); Max = Some (Number (0.5, _, _)) }) -> ()
        | other -> failwithf "unexpected %A" other
    | other -> failwithf "unexpected %A" other

[<Fact>]
let ``ExprText.parse builds the IR the printer writes`` () =
    let sym n = SE.Sym symbols.[n]
    match ExprText.parse symbols "-theta[1,2] * outer(e_post, δy_pre) - theta0 * δW @ W' @ W / 2" with
    | Ok e ->
        let expected =
            SE.Add [ SE.Mul [ SE.Mul [ SE.Num -1.0; sym "theta[1,2]" ]; SE.Call (Fn.Outer, [ sym "e_post"; sym "δy_pre" ]) ]
                     SE.Mul [ SE.Num -1.0; SE.Mul [ sym "theta0"; SE.Call (Fn.MatMul, [ sym "δW"; SE.Call (Fn.Transpose, [ sym "W" ]); sym "W" ]); SE.Pow (SE.Num 2.0, SE.Num -1.0) ] ] ]
        Assert.Equal (expected, e)
    | Error ds -> failwithf "%A" ds

[<Fact>]
let ``ExprText.parse reads negative literals as numbers`` () =
    Assert.Equal (Ok (SE.Num -0.001), ExprText.parse symbols "-0.001" |> Result.mapError (fun _ -> ()))

[<Fact>]
let ``ExprText.parse reports unknown names and bad shapes`` () =
    match ExprText.parse symbols "outer(e_psot, y_pre)" with
    | Error [ d ] ->
        Assert.Equal ("RD0201", d.Code.Id)
        Assert.Equal (Some "did you mean e_post?", d.Hint)
    | other -> failwithf "%A" other
    match ExprText.parse symbols "W + y_pre" with
    | Error [ d ] -> Assert.Equal ("RD0301", d.Code.Id)
    | other -> failwithf "%A" other

let private file (text: string) =
    let f, ds = Parser.parseFile "t.rule" text
    Assert.Empty ds
    f

[<Fact>]
let ``a rule file: includes, top-level terms, rule blocks and their statements`` () =
    let f =
        file """# a comment, with "quotes" and # inside
include "lib/terms.rule"   # trailing comment
term G[k in 0..1] = y_post^k

rule r : recurrent
  param theta[k in 0..2, l in 0..2] = 0
  init theta[1,1] = 1
  const eta = 1e-3
  trace E' = sum(k in 0..2, l in 0..2,
                 theta[k,l] * outer((xbar - x)^l, r^k))
  trace F += E
  dW = eta * E
       * (R - Rbar)
"""
    match f.Items with
    | [ TopStatement { Stmt = Include ("lib/terms.rule", _) }; TopStatement { Stmt = Term (g, [ Bind _ ], _) }; TopRule r ] ->
        Assert.Equal ("G", g.Name)
        Assert.Equal ("r", r.Name.Name)
        Assert.Equal (Some "recurrent", r.Setting |> Option.map (fun s -> s.Name))
        match r.Body |> List.map (fun s -> s.Stmt) with
        | [ Param (t, [ _; _ ], _, { Step = None }); Init (_, [ _; _ ], _); Const (c, _); Trace (e, Continuous, body); Trace (_, Accumulate, _); Assign (dw, upd) ] ->
            Assert.Equal ("theta", t.Name)
            Assert.Equal ("eta", c.Name)
            Assert.Equal ("E", e.Name)
            Assert.Equal ("dW", dw.Name)
            // the continuation lines belong to their statements
            Assert.Equal (10, (rangeOf body).End.Line)
            Assert.Equal ("eta * E * (R - Rbar)", Ast.print upd)
        | other -> failwithf "unexpected statements %A" other
    | other -> failwithf "unexpected items %A" other

[<Fact>]
let ``statement positions are file positions`` () =
    let f = file "rule r\n  param theta0 = 1\n  dW = theta0 * outer(e_post, y_pre)\n"
    match f.Items with
    | [ TopRule r ] ->
        let s = r.Body.[1]
        Assert.Equal ({ Line = 3; Col = 3 }, s.Keyword.Start)
        match s.Stmt with
        | Assign (_, Binary (_, _, Call (id, _, _), _, _)) -> Assert.Equal ({ Line = 3; Col = 17 }, id.Range.Start)
        | other -> failwithf "%A" other
    | other -> failwithf "%A" other

[<Fact>]
let ``one file reports the syntax errors of every statement`` () =
    let _, ds = Parser.parseFile "t.rule" "rule r\n  param theta0 = \n  term G = a b\n  dW = (x\n"
    Assert.Equal<string list> ([ "RD0001"; "RD0001"; "RD0002" ], ds |> List.map (fun d -> d.Code.Id) |> List.sort)
    Assert.Equal<int list> ([ 2; 3; 4 ], ds |> List.map (fun d -> d.Range.Value.Start.Line) |> List.sort)

[<Fact>]
let ``diagnostics render with the source line and a caret`` () =
    let text = "rule r\n  dW = a *\n"
    let f, ds = Parser.parseFile "x.rule" text
    let lineOf _ n = if n <= f.Lines.Length then Some f.Lines.[n - 1] else None
    let rendered = Diagnostic.render lineOf ds.Head
    Assert.Equal (
        "x.rule:2:11: error RD0001: syntax error: expected an expression after '*', found the end of the statement\n"
        + "    2 |   dW = a *\n"
        + "      |           ^",
        rendered
    )
