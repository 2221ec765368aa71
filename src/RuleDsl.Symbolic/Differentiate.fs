namespace RuleDsl.Symbolic

/// Symbolic differentiation. One function does the work: the forward differential (directional
/// derivative) of an expression given the tangents of the symbols it reads. A partial derivative
/// with respect to a scalar is the forward differential with that scalar's tangent set to 1.
module Differentiate =
    /// The symbol that carries the tangent of `s` (δW for W). Same shape as `s`.
    let tangentSymbol (s: Symbol) : Symbol = { Name = "δ" + s.Name; Shape = s.Shape }

    /// The tangent of `s` along direction d of several (δW#0 for W): the engine's buffers.
    let tangentAlong (s: Symbol) (d: int) : Symbol =
        let t = tangentSymbol s
        { t with Name = t.Name + "#" + string d }

    /// Forward differential of `e`: `tangentOf s` is the tangent of symbol `s`, None where it is zero.
    /// The result is unsimplified; callers simplify.
    let rec forwardRaw (tangentOf: Symbol -> Expr option) (e: Expr) : Expr =
        let d = forwardRaw tangentOf
        match e with
        | Num _ -> Expr.zero
        | Sym s -> defaultArg (tangentOf s) Expr.zero
        | Add xs -> Expr.sumOf (List.map d xs)
        | Mul xs ->
            Expr.sumOf
                [ for i in 0 .. xs.Length - 1 do
                      let di = d xs.[i]
                      if not (Expr.isZero di) then
                          Mul (xs |> List.mapi (fun j x -> if i = j then di else x)) ]
        | Pow (a, b) ->
            let da, db = d a, d b
            let viaBase =
                if Expr.isZero da then Expr.zero
                else Mul [ b; Pow (a, Add [ b; Num -1.0 ]); da ]
            let viaExponent =
                if Expr.isZero db then Expr.zero
                else Mul [ Pow (a, b); Call (Fn.Log, [ a ]); db ]
            Expr.sumOf [ viaBase; viaExponent ]
        | Call (fn, xs) ->
            let ds = List.map d xs
            if List.forall Expr.isZero ds then Expr.zero
            else (Builtins.info fn).Forward xs ds

    let forward (tangentOf: Symbol -> Expr option) (e: Expr) : Expr =
        forwardRaw tangentOf e |> Simplify.simplify

    /// ∂e/∂x for a scalar symbol x (a parameter, a reward): the result has the shape of e.
    let partial (x: Symbol) (e: Expr) : Expr =
        forward (fun s -> if s = x then Some Expr.one else None) e

    /// The forward differential with respect to the given symbols, whose tangents are the
    /// symbols δs: the tangent-update equation a human would derive by hand.
    let differential (wrt: Symbol list) (e: Expr) : Expr =
        let set = Set.ofList wrt
        forward (fun s -> if set.Contains s then Some (Sym (tangentSymbol s)) else None) e
