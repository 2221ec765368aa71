namespace RuleDsl.Symbolic

/// How one additive term of a lowered expression is made, for a compiler that wants to skip a
/// term whose scalar coefficient is zero and to run rank-one terms as row operations.
/// The term's value at (i, j) is Π Scalars · Left[i] · Right[j] · Body[i, j], an absent part
/// counting as 1. For a matrix term: Left/Right come from its outer product, Body is any other
/// elementwise matrix factor. For a vector term: Left/Right are None and Body is the vector part.
/// For a scalar term: only Scalars.
type TermFactors =
    { Scalars: Expr list
      Left: Expr option
      Right: Expr option
      Body: Expr option }

/// Lowering for compute: value-preserving rewrites that keep the work at the right order before
/// compiling. Independent of Simplify (it does the little folding it needs itself).
///  - scalar factors are pulled out of MatMul, Outer, Dot, Transpose;
///  - nested MatMul is flattened, Transpose is pushed to the leaves;
///  - matrix chains containing an outer product become scalar · outer(vector, vector), with the
///    vectors computed by matrix–vector products (O(n·m)), never by matrix–matrix products;
///  - a product that ends in a vector becomes right-nested binary matrix–vector products;
///  - sums of matrix (or vector) terms are distributed so that each term has its scalar
///    coefficient in front (the compiler skips a term whose coefficient is zero at run time).
module Lower =
    /// Distribution stops when it would make more terms than this (the expression is then kept).
    let private maxTerms = 64

    let private isNum e = match e with Num _ -> true | _ -> false

    let private isZeroValued e =
        match e with
        | Num 0.0 -> true
        | Mul xs -> xs |> List.exists (fun x -> x = Num 0.0)
        | _ -> false

    // Shapes are asked for often while rewriting; well-typed IR is assumed (lower checks it first).
    let private shapeOf (e: Expr) = Typing.shapeOf e
    let private isScalarE e = Shape.isScalar (shapeOf e)
    let private isMatrixE e = match shapeOf e with Shape.Matrix _ -> true | _ -> false
    let private isVectorE e = match shapeOf e with Shape.Vector _ -> true | _ -> false

    let private broadcastAll (shapes: Shape list) =
        shapes |> List.fold (fun acc s -> match Shape.broadcast acc s with Ok r -> r | Error m -> invalidOp m) Shape.Scalar

    let rec private mkAdd (xs: Expr list) : Expr =
        let flat = xs |> List.collect (function Add ys -> ys | y -> [ y ])
        let full = broadcastAll (List.map shapeOf flat)
        let nums, others = flat |> List.partition isNum
        let c = nums |> List.sumBy (function Num v -> v | _ -> 0.0)
        let nonZero = others |> List.filter (isZeroValued >> not)
        let zeros = others |> List.filter isZeroValued
        let keep = if c = 0.0 then nonZero else nonZero @ [ Num c ]
        // A zero term may only go when the others still have the full shape.
        let keep =
            if broadcastAll (List.map shapeOf keep) = full then keep
            else keep @ [ List.head zeros ]
        match keep with
        | [] -> Num 0.0
        | [ t ] -> t
        | ts -> Add ts

    /// Zero with the shape of `e`.
    and private zeroLike (e: Expr) = if isScalarE e then Num 0.0 else Mul [ Num 0.0; e ]

    and private mkMul (xs: Expr list) : Expr =
        let flat = xs |> List.collect (function Mul ys -> ys | y -> [ y ])
        let nums, others = flat |> List.partition isNum
        let c = nums |> List.fold (fun acc -> function Num v -> acc * v | _ -> acc) 1.0
        if c = 0.0 then
            match others |> List.tryFind (isScalarE >> not) with
            | Some x -> zeroLike x
            | None -> Num 0.0
        else
            let scalars, rest = others |> List.partition isScalarE
            // x^0 is a vector/matrix of ones: a no-op factor next to another factor of that shape.
            let isOnes f = match f with Pow (_, Num 0.0) -> true | _ -> false
            let rest =
                if rest |> List.exists (isOnes >> not) then rest |> List.filter (isOnes >> not) else rest
            let outers, rest = rest |> List.partition (function Call (Fn.Outer, _) -> true | _ -> false)
            // outer(a, b) ∘ outer(c, d) = outer(a ∘ c, b ∘ d): still rank one.
            let outers =
                match outers with
                | [] | [ _ ] -> outers
                | os ->
                    let a = os |> List.map (function Call (_, [ a; _ ]) -> a | o -> o)
                    let b = os |> List.map (function Call (_, [ _; b ]) -> b | o -> o)
                    [ Call (Fn.Outer, [ mkMul a; mkMul b ]) ]
            let factors = (if c = 1.0 then [] else [ Num c ]) @ scalars @ outers @ rest
            match factors with
            | [] -> Num 1.0
            | [ f ] -> f
            | fs -> distribute fs

    /// Mul over one Add factor: a (s · (A + B)) becomes s·A + s·B when the other factors are cheap
    /// to repeat (scalars and outer products), so every term carries its own scalar coefficient.
    and private distribute (fs: Expr list) : Expr =
        let cheap f = isScalarE f || (match f with Call (Fn.Outer, _) -> true | _ -> false)
        let isSumFactor f = (match f with Add _ -> true | _ -> false) && not (isScalarE f)
        match fs |> List.tryFindIndex isSumFactor with
        | Some k when fs |> List.indexed |> List.forall (fun (i, f) -> i = k || cheap f) ->
            let terms = match fs.[k] with Add ts -> ts | t -> [ t ]
            if terms.Length > maxTerms then Mul fs
            else mkAdd [ for t in terms -> mkMul (fs |> List.mapi (fun i f -> if i = k then t else f)) ]
        | _ -> Mul fs

    /// Split `e` into (scalar factors, the rest). The rest is None when e is all scalar.
    and private splitScalars (e: Expr) : Expr list * Expr option =
        if isScalarE e then [ e ], None
        else
            match e with
            | Mul xs ->
                let s, r = xs |> List.partition isScalarE
                s, Some (match r with [ x ] -> x | xs -> Mul xs)
            | _ -> [], Some e

    and private withScalars (scalars: Expr list) (e: Expr) =
        match scalars with
        | [] -> e
        | s -> mkMul (s @ [ e ])

    and private mkPow (a: Expr) (b: Expr) : Expr =
        match a, b with
        | _, Num 1.0 -> a
        | Num x, Num y -> Num (Kernels.Pow (x, y))
        | _, Num 0.0 when isScalarE a -> Num 1.0
        // (a bᵀ)^k = a^k (b^k)ᵀ for integer k.
        | Call (Fn.Outer, [ u; v ]), Num k when k = System.Math.Round k ->
            mkOuter (mkPow u b) (mkPow v b)
        | _ -> Pow (a, b)

    and private mkOuter (a: Expr) (b: Expr) : Expr =
        let sa, ra = splitScalars a
        let sb, rb = splitScalars b
        withScalars (sa @ sb) (Call (Fn.Outer, [ Option.get ra; Option.get rb ]))

    and private mkDot (a: Expr) (b: Expr) : Expr =
        let sa, ra = splitScalars a
        let sb, rb = splitScalars b
        let ra, rb = Option.get ra, Option.get rb
        let core =
            match ra, rb with
            // ⟨a bᵀ, c dᵀ⟩ = ⟨a, c⟩⟨b, d⟩
            | Call (Fn.Outer, [ a; b ]), Call (Fn.Outer, [ c; d ]) -> mkMul [ mkDot a c; mkDot b d ]
            // ⟨a bᵀ, M⟩ = aᵀ M b
            | Call (Fn.Outer, [ a; b ]), m
            | m, Call (Fn.Outer, [ a; b ]) -> mkDot a (mkMatMul [ m; b ])
            | _ -> Call (Fn.Dot, [ ra; rb ])
        withScalars (sa @ sb) core

    and private mkSum (a: Expr) : Expr =
        let s, r = splitScalars a
        match r with
        | None -> a
        | Some (Call (Fn.Outer, [ u; v ])) -> withScalars s (mkMul [ Call (Fn.SumAll, [ u ]); Call (Fn.SumAll, [ v ]) ])
        | Some r -> withScalars s (Call (Fn.SumAll, [ r ]))

    /// Transpose pushed to the leaves: only Transpose(Sym matrix) remains.
    and private mkTranspose (e: Expr) : Expr =
        if not (isMatrixE e) then e
        else
            match e with
            | Sym _ -> Call (Fn.Transpose, [ e ])
            | Call (Fn.Transpose, [ x ]) -> x
            | Add xs -> mkAdd (List.map mkTranspose xs)
            | Mul xs -> mkMul (List.map mkTranspose xs)
            | Pow (a, b) -> mkPow (mkTranspose a) (mkTranspose b)
            | Call (Fn.Outer, [ a; b ]) -> Call (Fn.Outer, [ b; a ])
            | Call (Fn.MatMul, xs) -> mkMatMul (xs |> List.rev |> List.map mkTranspose)
            | Call (fn, xs) when Builtins.isElementwise fn -> Call (fn, List.map mkTranspose xs)
            | _ -> Call (Fn.Transpose, [ e ])

    /// m @ v for a matrix m without outer products or scalar factors and a vector v.
    and private mkMatVec (m: Expr) (v: Expr) : Expr =
        let s, rv = splitScalars v
        withScalars s (Call (Fn.MatMul, [ m; Option.get rv ]))

    /// m1 @ (m2 @ (… @ v)): matrix–vector products only.
    and private matVecChain (ms: Expr list) (v: Expr) : Expr = List.foldBack mkMatVec ms v

    and private mkMatMul (xs: Expr list) : Expr =
        // 1. flatten nested products; 2. scalar factors out front
        let xs = xs |> List.collect (function Call (Fn.MatMul, ys) -> ys | y -> [ y ])
        let split = List.map splitScalars xs
        let scalars = split |> List.collect fst
        let xs = split |> List.choose snd
        match xs with
        | [ single ] -> withScalars scalars single
        | _ -> withScalars scalars (distributeMatMul xs)

    /// 3. distribute over sums of matrices: (A + B) @ C = A @ C + B @ C.
    and private distributeMatMul (xs: Expr list) : Expr =
        // Only sums of matrices: a scalar term of a matrix sum is broadcast (c·ones), and
        // (A + c) @ B is not A @ B + c·B.
        let isMatrixSum x =
            match x with
            | Add ts -> ts.Length <= maxTerms && ts |> List.forall isMatrixE
            | _ -> false
        // The number of terms distribution would make: a product of sums; past maxTerms the chain is
        // kept with its sums (computed as general matrices: correct, just not rank one).
        let total = xs |> List.fold (fun n x -> match x with Add ts when isMatrixSum x -> n * ts.Length | _ -> n) 1
        match xs |> List.tryFindIndex isMatrixSum with
        | Some k when total <= maxTerms ->
            let terms = match xs.[k] with Add ts -> ts | t -> [ t ]
            mkAdd [ for t in terms -> mkMatMul (xs |> List.mapi (fun i x -> if i = k then t else x)) ]
        | _ -> chain xs

    /// 4. a product without sums or scalar factors.
    and private chain (xs: Expr list) : Expr =
        let isOuter x = match x with Call (Fn.Outer, [ _; _ ]) -> true | _ -> false
        let lastIsVector = isVectorE (List.last xs)
        let mats, vec = if lastIsVector then List.take (xs.Length - 1) xs, Some (List.last xs) else xs, None
        let outerAt = mats |> List.indexed |> List.filter (snd >> isOuter) |> List.map fst
        match outerAt, vec with
        | [], Some v -> matVecChain mats v
        | [], None -> Call (Fn.MatMul, mats) // dense matrix @ matrix: kept, reported by denseProducts
        | _ ->
            // Rank one: L @ a1 b1ᵀ @ M1 @ a2 b2ᵀ … @ ak bkᵀ @ R
            //   = Π_t ⟨b_t, M_t a_{t+1}⟩ · outer(L a1, Rᵀ bk)    (· ⟨bk, R v⟩ L a1 when it ends in v)
            let ab i = match mats.[i] with Call (Fn.Outer, [ a; b ]) -> a, b | _ -> invalidOp "outer expected"
            let slice lo hi = if hi < lo then [] else mats.[lo..hi]
            let first, last = List.head outerAt, List.last outerAt
            let a1, _ = ab first
            let _, bk = ab last
            let left = matVecChain (slice 0 (first - 1)) a1
            let middles =
                outerAt
                |> List.pairwise
                |> List.map (fun (p, q) -> mkDot (snd (ab p)) (matVecChain (slice (p + 1) (q - 1)) (fst (ab q))))
            let rest = slice (last + 1) (mats.Length - 1)
            match vec with
            | Some v -> mkMul (middles @ [ mkDot bk (matVecChain rest v); left ])
            | None -> mkMul (middles @ [ mkOuter left (matVecChain (rest |> List.rev |> List.map mkTranspose) bk) ])

    let rec private go (e: Expr) : Expr =
        match e with
        | Num _
        | Sym _ -> e
        | Add xs -> mkAdd (List.map go xs)
        | Mul xs -> mkMul (List.map go xs)
        | Pow (a, b) -> mkPow (go a) (go b)
        | Call (fn, xs) ->
            let xs = List.map go xs
            match fn, xs with
            | Fn.Transpose, [ x ] -> mkTranspose x
            | Fn.MatMul, _ -> mkMatMul xs
            | Fn.Outer, [ a; b ] -> mkOuter a b
            | Fn.Dot, [ a; b ] -> mkDot a b
            | Fn.SumAll, [ a ] -> mkSum a
            | f, _ when Builtins.isElementwise f && xs |> List.forall isNum ->
                // Constant folding with the same kernels the interpreter uses.
                match (Builtins.info f).Eval (xs |> List.map (function Num v -> Value.Scalar v | _ -> Value.Scalar nan)) with
                | Value.Scalar v -> Num v
                | _ -> Call (fn, xs)
            | _ -> Call (fn, xs)

    /// Lower a well-typed expression. The result has the same shape and value (up to rounding).
    let lower (e: Expr) : Expr =
        match Typing.check e with
        | Error m -> invalidArg "e" (sprintf "lower: ill-typed expression: %s" m)
        | Ok _ -> go e

    /// The dense matrix @ matrix products left in a lowered expression: each costs O(n³).
    let denseProducts (e: Expr) : Expr list =
        Expr.subExprs e
        |> Seq.filter (function
            | Call (Fn.MatMul, _) as m -> isMatrixE m
            | _ -> false)
        |> Seq.distinct
        |> List.ofSeq

    /// The additive terms of a lowered expression.
    let terms (e: Expr) : Expr list =
        match e with
        | Add ts -> ts
        | t -> [ t ]

    /// How one term is made (see TermFactors).
    let factors (term: Expr) : TermFactors =
        let fs = match term with Mul xs -> xs | t -> [ t ]
        let scalars, rest = fs |> List.partition isScalarE
        match shapeOf term with
        | Shape.Scalar -> { Scalars = scalars; Left = None; Right = None; Body = None }
        | Shape.Vector _ ->
            { Scalars = scalars; Left = None; Right = None
              Body = Some (match rest with [ x ] -> x | xs -> Mul xs) }
        | Shape.Matrix _ ->
            let outer, others =
                match rest |> List.tryFindIndex (function Call (Fn.Outer, [ _; _ ]) -> true | _ -> false) with
                | Some k -> Some rest.[k], rest |> List.indexed |> List.filter (fun (i, _) -> i <> k) |> List.map snd
                | None -> None, rest
            let left, right = match outer with Some (Call (_, [ a; b ])) -> Some a, Some b | _ -> None, None
            { Scalars = scalars
              Left = left
              Right = right
              Body = (match others with [] -> None | [ x ] -> Some x | xs -> Some (Mul xs)) }

    /// A scalar that costs nothing to compute: numbers and scalar symbols under scalar arithmetic
    /// and elementwise functions (no reductions, so nothing that reads a vector or a matrix).
    let rec isCheapScalar (e: Expr) : bool =
        match e with
        | Num _ -> true
        | Sym s -> Shape.isScalar s.Shape
        | Add xs | Mul xs -> xs |> List.forall isCheapScalar
        | Pow (a, b) -> isCheapScalar a && isCheapScalar b
        | Call (fn, xs) -> Builtins.isElementwise fn && xs |> List.forall isCheapScalar
