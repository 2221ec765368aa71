namespace RuleDsl.Semantics

open System
open RuleDsl.Symbolic
open RuleDsl.Syntax
open RuleDsl.Syntax.Ast

type private SExpr = RuleDsl.Symbolic.Expr

/// Expressions as `Print.text` writes them, read back to the IR: the equations of `.model` files
/// and printed derivatives. Unlike a rule's expressions they name symbols directly (no params,
/// terms or index expansion), so the names come from a table rather than from a rule's scope.
module ExprText =
    /// Parse an expression as `Print.text` writes it. Names (including indexed ones such as
    /// `theta[1,2]` and tangents such as `δW`) are looked up in `symbols`; the result is type-checked.
    [<CompiledName "Parse">]
    let parse (symbols: Map<string, Symbol>) (text: string) : Result<SExpr, Diagnostic list> =
        let errors = ResizeArray<Diagnostic> ()
        let fail code range msg = errors.Add (Diagnostic.at code range msg); SExpr.Num 0.0
        let rec lower (e: Ast.Expr) : SExpr =
            match e with
            | Number (v, _, _) -> SExpr.Num v
            | Name (id, ix, r) ->
                let key =
                    match ix with
                    | None -> Some id.Name
                    | Some ix ->
                        let ints =
                            ix |> List.map (function
                                | Number (v, _, _) when v = Math.Round v -> Some (int v)
                                | Neg (Number (v, _, _), _) when v = Math.Round v -> Some (-(int v))
                                | _ -> None)
                        if ints |> List.forall Option.isSome then
                            Some (id.Name + "[" + String.Join (",", ints |> List.map Option.get) + "]")
                        else None
                match key with
                | None -> fail Codes.IndexUse r "indices must be integers"
                | Some k ->
                    match symbols.TryFind k with
                    | Some s -> SExpr.Sym s
                    | None ->
                        let d = Diagnostic.at Codes.UnknownName r (sprintf "unknown name %s" k)
                        errors.Add (
                            match Suggest.nearest k symbols.Keys with
                            | n :: _ -> Diagnostic.withHint (sprintf "did you mean %s?" n) d
                            | [] -> d)
                        SExpr.Num 0.0
            | Call (id, args, r) ->
                match Builtins.tryFind id.Name with
                | Some b when b.Notation = Notation.Prefix ->
                    let xs =
                        args |> List.map (function
                            | Positional a -> lower a
                            | Binding bd -> fail Codes.MisplacedRange bd.Range "ranges are not part of printed expressions")
                    match b.Arity with
                    | Some n when n <> xs.Length -> fail Codes.Arity r (sprintf "%s takes %d argument%s, got %d" b.Name n (if n = 1 then "" else "s") xs.Length)
                    | _ -> SExpr.Call (b.Fn, xs)
                | _ ->
                    let d = Diagnostic.at Codes.UnknownFunction id.Range (sprintf "unknown function %s" id.Name)
                    errors.Add (
                        match Suggest.nearest id.Name Builtins.functionNames with
                        | n :: _ -> Diagnostic.withHint (sprintf "did you mean %s?" n) d
                        | [] -> d)
                    SExpr.Num 0.0
            | Neg (Number (v, _, _), _) -> SExpr.Num -v
            | Neg (x, _) -> SExpr.Mul [ SExpr.Num -1.0; lower x ]
            | Binary ((BinOp.Add | BinOp.Sub), _, _, _, _) -> SExpr.Add (sumTerms e)
            | Binary ((BinOp.Mul | BinOp.Div), _, _, _, _) -> SExpr.Mul (factors e)
            | Binary (BinOp.MatMul, _, _, _, _) -> SExpr.Call (Fn.MatMul, chainOf e)
            | Binary (BinOp.Pow, a, b, _, _) -> SExpr.Pow (lower a, lower b)
            | Transpose (x, _) -> SExpr.Call (Fn.Transpose, [ lower x ])
            | Paren (x, _) -> lower x
        // n-ary sums, products and matrix chains, as the printer writes them
        and sumTerms e =
            match e with
            | Binary (BinOp.Add, a, b, _, _) -> sumTerms a @ [ lower b ]
            | Binary (BinOp.Sub, a, b, _, _) -> sumTerms a @ [ SExpr.Mul [ SExpr.Num -1.0; lower b ] ]
            | e -> [ lower e ]
        and factors e =
            match e with
            | Binary (BinOp.Mul, a, b, _, _) -> factors a @ [ lower b ]
            | Binary (BinOp.Div, a, b, _, _) -> factors a @ [ SExpr.Pow (lower b, SExpr.Num -1.0) ]
            | e -> [ lower e ]
        and chainOf e =
            match e with
            | Binary (BinOp.MatMul, a, b, _, _) -> chainOf a @ [ lower b ]
            | e -> [ lower e ]
        match Parser.parseExpressionSyntax text with
        | Result.Error ds -> Result.Error ds
        | Result.Ok ast ->
            let e = lower ast
            if errors.Count > 0 then Result.Error (List.ofSeq errors)
            else
                match Typing.check e with
                | Result.Ok _ -> Result.Ok e
                | Result.Error m -> Result.Error [ Diagnostic.at Codes.ShapeMismatch (Ast.rangeOf ast) ("shape mismatch: " + m) ]
