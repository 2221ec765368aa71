namespace RuleDsl.Symbolic

/// Rewrites that keep compiled work at the right order, applied to simplified IR before code
/// generation. After `Lowering.lower`, a matrix product is only ever a matrix times a vector
/// (`M @ v`, O(n·m)) or, where nothing better exists, a product of two dense matrices, which
/// `denseProducts` reports. In particular every chain that contains an outer product becomes a
/// scalar times an outer product of two vectors:
///   outer(a,b) @ M          = outer(a, M' @ b)
///   M @ outer(c,d)          = outer(M @ c, d)
///   outer(a,b) @ M @ outer(c,d) = dot(b, M @ c) · outer(a, d)
///   outer(a,b) @ outer(c,d) = dot(b, c) · outer(a, d)
/// so `outer(y,y) @ W @ outer(e,e)` costs O(n·m), never O(n²m).
module Lowering =
    let private isMatrix e = match Typing.check e with Ok (Shape.Matrix _) -> true | _ -> false

    /// Transpose with the transposes pushed to the leaves; a matrix that simplifies to a constant
    /// keeps its (unsimplified) shape, since it stands where a matrix is multiplied.
    let private transpose e =
        let t = Simplify.simplify (Call (Fn.Transpose, [ e ]))
        if isMatrix t then t else Call (Fn.Transpose, [ e ])

    /// M @ v for a matrix expression M, as vector work: distributed over sums and scalar factors so
    /// that each product reads one matrix; an outer product collapses to a scaled vector; a product
    /// of matrices applies right to left.
    let rec private matvec (m: Expr) (v: Expr) : Expr =
        match m with
        // A scalar inside a sum of matrices is a constant matrix: such a sum is multiplied as it stands.
        | Add ms when List.forall isMatrix ms -> Add (ms |> List.map (fun x -> matvec x v))
        | Mul fs when fs |> List.exists (fun f -> not (isMatrix f)) ->
            let scalars, mats = fs |> List.partition (fun f -> not (isMatrix f))
            let mat = match mats with [ x ] -> x | xs -> Mul xs
            Mul (scalars @ [ matvec mat v ])
        | Call (Fn.Outer, [ a; b ]) -> Mul [ Call (Fn.Dot, [ b; v ]); a ]
        | Call (Fn.MatMul, ms) -> List.foldBack matvec ms v
        | _ -> Call (Fn.MatMul, [ m; v ])

    /// A chain with at least one outer product, or ending in a vector, as vector work. Reading
    /// from the first outer(a, b): everything left of it multiplies a (right to left); everything
    /// right of it multiplies bᵀ from the right, collecting dot products at further outers.
    let private chain (args: Expr list) : Expr =
        match List.tryFindIndex (function Call (Fn.Outer, _) -> true | _ -> false) args with
        | Some k ->
            let a, b = match args.[k] with Call (Fn.Outer, [ a; b ]) -> a, b | _ -> failwith "unreachable"
            let left = List.foldBack matvec (List.take k args) a
            let rec right (coef: Expr list) (row: Expr) (rest: Expr list) =
                match rest with
                | [] -> Mul (coef @ [ Call (Fn.Outer, [ left; row ]) ])
                | Call (Fn.Outer, [ c; d ]) :: tail -> right (coef @ [ Call (Fn.Dot, [ row; c ]) ]) d tail
                | m :: tail when isMatrix m -> right coef (matvec (transpose m) row) tail
                | v :: _ -> Mul (coef @ [ Call (Fn.Dot, [ row; v ]); left ])
            right [] b (List.skip (k + 1) args)
        | None when not (isMatrix (List.last args)) -> List.foldBack matvec (List.take (args.Length - 1) args) (List.last args)
        | None -> Call (Fn.MatMul, args)

    /// The lowered form of a (simplified) expression; equal in value to the input.
    let lower (e: Expr) : Expr =
        let rec go e =
            match e with
            | Num _ | Sym _ -> e
            | Add xs -> Add (List.map go xs)
            | Mul xs -> Mul (List.map go xs)
            | Pow (a, b) -> Pow (go a, go b)
            | Call (Fn.MatMul, xs) -> chain (List.map go xs)
            | Call (fn, xs) -> Call (fn, List.map go xs)
        // Simplify first (scalars out of chains, transposes at the leaves), then again after, to
        // fold the new scalar factors; `simplify` never rebuilds a chain around an outer product.
        Simplify.simplify e |> go |> Simplify.simplify |> go

    /// The products of two dense matrices that remain after lowering (each costs O(n³)).
    let denseProducts (lowered: Expr) : Expr list =
        Expr.subExprs lowered
        |> Seq.filter (function
            | Call (Fn.MatMul, [ _; b ]) -> isMatrix b
            | _ -> false)
        |> Seq.distinct
        |> List.ofSeq
