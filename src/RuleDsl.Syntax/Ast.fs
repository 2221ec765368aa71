namespace RuleDsl.Syntax

open System
open System.Globalization

/// The syntax tree of rule files, as written, every node with its source range.
module Ast =
    type Ident = { Name: string; Range: SourceRange }

    type BinOp =
        | Add
        | Sub
        | Mul
        | Div
        | MatMul
        | Pow

    type Expr =
        | Number of value: float * text: string * SourceRange
        /// `name` or `name[i, j]`; indices is None when there are no brackets.
        | Name of Ident * indices: Expr list option * SourceRange
        | Call of Ident * args: Arg list * SourceRange
        | Neg of Expr * SourceRange
        /// The operator's own range (for carets under `@`) and the whole range.
        | Binary of BinOp * Expr * Expr * op: SourceRange * SourceRange
        | Transpose of Expr * SourceRange
        | Paren of Expr * SourceRange

    /// A call argument: an expression, or an index range `k in 0..2` (only `sum` takes these).
    and Arg =
        | Positional of Expr
        | Binding of Binding

    and Binding =
        { Var: Ident
          Lo: Expr
          Hi: Expr
          Range: SourceRange }

    let rangeOf (e: Expr) =
        match e with
        | Number (_, _, r)
        | Name (_, _, r)
        | Call (_, _, r)
        | Neg (_, r)
        | Binary (_, _, _, _, r)
        | Transpose (_, r)
        | Paren (_, r) -> r

    type TraceKind =
        /// `E' = f`: Next = E + dt·f
        | Continuous
        /// `E += f`: Next = E + f
        | Accumulate

    /// `F[2]` or `F[k in 0..2]` on the left of a term definition.
    type IndexSpec =
        | At of Expr
        | Bind of Binding

    /// The optional clauses after a parameter's initial value.
    type ParamOptions =
        { Step: Expr option
          Min: Expr option
          Max: Expr option
          /// Clauses given a second time (the first one counts): the checker reports them, so the
          /// parameter is still declared and its uses raise no follow-on errors.
          Repeated: (string * SourceRange) list }

    type Statement =
        | RuleHeader of Ident * setting: Ident option
        | Include of path: string * pathRange: SourceRange
        /// param NAME[bindings] = INIT [step SCALE] [min LO] [max HI]: SCALE multiplies the
        /// meta-optimizer's steps in it; LO and HI bound it (every step is projected back inside).
        | Param of Ident * Binding list * Expr * ParamOptions
        | Init of Ident * Expr list * Expr
        | Const of Ident * Expr
        | Term of Ident * IndexSpec list * Expr
        | Trace of Ident * TraceKind * Expr
        /// `name = expr`: the update when name is dW.
        | Assign of Ident * Expr

    type Located =
        { Stmt: Statement
          /// The whole statement.
          Range: SourceRange
          /// The leading keyword (or the assigned name).
          Keyword: SourceRange }

    type RuleBlock =
        { Name: Ident
          Setting: Ident option
          Header: SourceRange
          Body: Located list
          /// Some statement of the body did not parse (so "no update" would be noise).
          Incomplete: bool }

    type TopItem =
        | TopStatement of Located
        | TopRule of RuleBlock

    type SourceFile =
        { Path: string
          Text: string
          Lines: string[]
          Items: TopItem list }

    // ------------------------------------------------------------------ printing (for hints)

    let private opText =
        function
        | Add -> "+"
        | Sub -> "-"
        | Mul -> "*"
        | Div -> "/"
        | MatMul -> "@"
        | Pow -> "^"

    /// Precedence levels as in the grammar: + - (1) < * / (2) < @ (3) < unary - (4) < ^ (5) < ' (6) < atoms (7).
    let private level =
        function
        | Binary ((Add | Sub), _, _, _, _) -> 1
        | Binary ((Mul | Div), _, _, _, _) -> 2
        | Binary (MatMul, _, _, _, _) -> 3
        | Neg _ -> 4
        | Binary (Pow, _, _, _, _) -> 5
        | Transpose _ -> 6
        | _ -> 7

    /// Print an expression back in source syntax (user parentheses kept, none added beyond need).
    let rec print (e: Expr) : string =
        let at lvl x = if level x < lvl then "(" + print x + ")" else print x
        match e with
        | Number (_, text, _) -> text
        | Name (id, None, _) -> id.Name
        | Name (id, Some ix, _) -> id.Name + "[" + String.Join (", ", ix |> List.map print) + "]"
        | Call (id, args, _) -> id.Name + "(" + String.Join (", ", args |> List.map printArg) + ")"
        | Neg (x, _) -> "-" + at 4 x
        | Binary (Pow, a, b, _, _) -> at 6 a + "^" + at 4 b
        | Binary (op, a, b, _, _) ->
            let l = level e
            // Left-associative: the right operand needs parentheses at equal level.
            at l a + " " + opText op + " " + at (l + 1) b
        | Transpose (x, _) -> at 7 x + "'"
        | Paren (x, _) -> "(" + print x + ")"

    and printArg (a: Arg) =
        match a with
        | Positional e -> print e
        | Binding b -> b.Var.Name + " in " + print b.Lo + ".." + print b.Hi

    let numberText (x: float) = x.ToString ("R", CultureInfo.InvariantCulture)
