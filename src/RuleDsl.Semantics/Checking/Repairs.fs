/// Candidate repairs for "did you mean …?": single edits of an expression that often fix a shape or name error
/// (Expressions.elabWithRepairs tries them).
module internal RuleDsl.Semantics.Checking.Repairs

open RuleDsl.Semantics
open RuleDsl.Symbolic
open RuleDsl.Syntax
open RuleDsl.Syntax.Ast
open RuleDsl.Semantics.Checking.Scopes

/// Single edits of an expression that often fix a shape or name error: swapped arguments of
/// outer/dot, pre↔post, a transpose added or removed, a misspelt name. Each comes with the
/// innermost call around the edit (what the hint shows) and the edited range.
let edits (names: string list) (e: AExpr) : (AExpr * AExpr * SourceRange) list =
    let swapPrePost (n: string) =
        if n.EndsWith "_pre" then Some (n.Substring (0, n.Length - 4) + "_post")
        elif n.EndsWith "_post" then Some (n.Substring (0, n.Length - 5) + "_pre")
        else None
    let local (e: AExpr) : (int * AExpr) list =
        match e with
        | Call (id, [ Positional a; Positional b ], r) when id.Name = "outer" || id.Name = "dot" ->
            [ 1, Call (id, [ Positional b; Positional a ], r) ]
        | Name (id, None, r) ->
            [ match Variables.tryFind id.Name with
              | Some v ->
                  match swapPrePost id.Name with
                  | Some n when (Variables.tryFind n).IsSome -> yield 2, Name ({ id with Name = n }, None, r)
                  | _ -> ()
                  match v.Shape with
                  | Shape.Matrix _ -> yield 3, Transpose (e, r)
                  | _ -> ()
              | None when not (List.contains id.Name names) ->
                  for n in Suggest.nearest id.Name names |> List.truncate 3 do
                      yield 0, Name ({ id with Name = n }, None, r)
              | None -> () ]
        | Call (id, args, r) when (Builtins.tryFind id.Name).IsNone ->
            [ for n in Suggest.nearest id.Name Builtins.functionNames |> List.truncate 3 -> 0, Call ({ id with Name = n }, args, r) ]
        | Transpose (x, _) -> [ 3, x ]
        | _ -> []
    // (edited tree, anchor, anchor is a call, edited range, priority)
    let rec go (e: AExpr) : (AExpr * AExpr * bool * SourceRange * int) list =
        let here = local e |> List.map (fun (p, e') -> e', e', false, Ast.rangeOf e, p)
        let inChild (child: AExpr) (rebuild: AExpr -> AExpr) =
            go child
            |> List.map (fun (c', anchor, isCall, r, p) ->
                let e' = rebuild c'
                match e' with
                | Call _ when not isCall -> e', e', true, r, p
                | _ -> e', anchor, isCall, r, p)
        let children =
            match e with
            | Number _ -> []
            | Name (id, Some ix, r) ->
                ix |> List.mapi (fun i x -> inChild x (fun x' -> Name (id, Some (ix |> List.mapi (fun j y -> if i = j then x' else y)), r)))
                |> List.concat
            | Name _ -> []
            | Call (id, args, r) ->
                args
                |> List.mapi (fun i a ->
                    match a with
                    | Positional x ->
                        inChild x (fun x' -> Call (id, args |> List.mapi (fun j y -> if i = j then Positional x' else y), r))
                    | Binding _ -> [])
                |> List.concat
            | Neg (x, r) -> inChild x (fun x' -> Neg (x', r))
            | Binary (op, a, b, o, r) -> inChild a (fun a' -> Binary (op, a', b, o, r)) @ inChild b (fun b' -> Binary (op, a, b', o, r))
            | Transpose (x, r) -> inChild x (fun x' -> Transpose (x', r))
            | Paren (x, r) -> inChild x (fun x' -> Paren (x', r))
        here @ children
    go e
    |> List.sortBy (fun (_, _, _, _, p) -> p) // stable: names, swaps, pre/post, transposes
    |> List.map (fun (e', anchor, _, r, _) -> e', anchor, r)

let diagKey (d: Diagnostic) = d.Code.Id, d.Range
