namespace RuleDsl.Symbolic

/// Automatic simplification to a canonical form (after MathNet.Symbolics' design): sums and
/// products flat and sorted, numbers folded, neutral and absorbing elements removed, like terms
/// and like factors collected, powers of powers and of products normalised, scalar factors pulled
/// out of linear operators (outer, @, dot, sum), transposes pushed down to the leaves.
/// Two expressions with the same canonical form are structurally equal.
module Simplify =
    let private isNum = function Num _ -> true | _ -> false
    let private numOf = function Num x -> x | _ -> 1.0

    let private isInteger (x: float) = x = System.Math.Round x && abs x < 1e15

    let private shapeOrScalar (e: Expr) =
        match Typing.check e with
        | Ok s -> s
        | Error _ -> Shape.Scalar

    let private isScalarShaped e = shapeOrScalar e = Shape.Scalar

    /// e = coefficient · rest
    let private splitCoeff (e: Expr) : float * Expr option =
        match e with
        | Num c -> c, None
        | Mul xs ->
            let nums, rest = xs |> List.partition isNum
            let c = nums |> List.fold (fun acc x -> acc * numOf x) 1.0
            c, (match rest with
                | [] -> None
                | [ r ] -> Some r
                | rs -> Some (Mul rs))
        | e -> 1.0, Some e

    let private withCoeff (c: float) (rest: Expr option) =
        match rest with
        | None -> Num c
        | Some r when c = 1.0 -> r
        | Some (Mul xs) -> Mul (Num c :: xs)
        | Some r -> Mul [ Num c; r ]

    /// e = Π scalars · rest, with rest non-scalar (None when e is all scalar).
    let private splitScalars (e: Expr) : Expr list * Expr option =
        match e with
        | Mul xs ->
            let s, m = xs |> List.partition isScalarShaped
            s, (match m with
                | [] -> None
                | [ x ] -> Some x
                | xs -> Some (Mul xs))
        | e when isScalarShaped e -> [ e ], None
        | e -> [], Some e

    /// Canonical order of terms in a sum: the constant first, then by the non-numeric part.
    let private termKey (c: float, rest: Expr option) =
        match rest with
        | None -> (0, Num 0.0, c)
        | Some r -> (1, r, c)

    let private finite (x: float) = not (System.Double.IsNaN x || System.Double.IsInfinity x)

    let rec private mkAdd (xs: Expr list) : Expr =
        let flat = xs |> List.collect (function Add ys -> ys | y -> [ y ])
        let terms =
            flat
            |> List.map splitCoeff
            |> List.groupBy snd
            |> List.map (fun (rest, cs) -> List.sumBy fst cs, rest)
            |> List.filter (fun (c, _) -> c <> 0.0)
            |> List.sortBy termKey
            |> List.map (fun (c, r) -> withCoeff c r)
        match terms with
        | [] -> Num 0.0
        | [ t ] -> t
        | ts -> Add ts

    and private mkMul (xs: Expr list) : Expr =
        let flat = xs |> List.collect (function Mul ys -> ys | y -> [ y ])
        let nums, others = flat |> List.partition isNum
        let c = nums |> List.fold (fun acc x -> acc * numOf x) 1.0
        if c = 0.0 then Num 0.0
        else
            // Collect like factors: x^a · x^b = x^(a+b).
            let baseExp =
                function
                | Pow (b, e) -> b, e
                | f -> f, Num 1.0
            let powered =
                others
                |> List.map baseExp
                |> List.groupBy fst
                |> List.map (fun (b, es) -> mkPow b (mkAdd (List.map snd es)))
            let flat2 = powered |> List.collect (function Mul ys -> ys | y -> [ y ])
            let nums2, factors = flat2 |> List.partition isNum
            let c = nums2 |> List.fold (fun acc x -> acc * numOf x) c
            let factors = List.sort factors
            match c, factors with
            | 0.0, _ -> Num 0.0
            | c, [] -> Num c
            | 1.0, [ f ] -> f
            // A number times a sum distributes, so like terms meet in the enclosing sum.
            | c, [ Add ts ] -> mkAdd (ts |> List.map (fun t -> mkMul [ Num c; t ]))
            | 1.0, fs -> Mul fs
            | c, fs -> Mul (Num c :: fs)

    and private mkPow (a: Expr) (b: Expr) : Expr =
        match a, b with
        | _, Num 0.0 -> Num 1.0
        | a, Num 1.0 -> a
        | Num 1.0, _ -> Num 1.0
        | Num x, Num y when finite (Kernels.Pow (x, y)) -> Num (Kernels.Pow (x, y))
        | Pow (x, Num p), Num q when isInteger q -> mkPow x (Num (p * q))
        | Mul xs, Num n when isInteger n -> mkMul (xs |> List.map (fun x -> mkPow x b))
        | _ -> Pow (a, b)

    and private transpose (a: Expr) : Expr =
        match a with
        | Num _ -> a
        | Call (Fn.Transpose, [ x ]) -> x
        | Call (Fn.Outer, [ u; v ]) -> Call (Fn.Outer, [ v; u ])
        | Mul xs -> mkMul (List.map transpose xs)
        | Add xs -> mkAdd (List.map transpose xs)
        | Call (Fn.MatMul, xs) when xs |> List.forall (fun x -> match shapeOrScalar x with Shape.Matrix _ -> true | _ -> false) ->
            mkCall Fn.MatMul (xs |> List.rev |> List.map transpose)
        | a when isScalarShaped a -> a
        | a -> Call (Fn.Transpose, [ a ])

    /// Pull scalar factors out of the arguments of a linear operator: f(c·a, b) = c·f(a, b).
    and private linear (fn: Fn) (xs: Expr list) : Expr =
        let parts = xs |> List.map splitScalars
        if parts |> List.exists (fun (_, rest) -> rest.IsNone) && fn <> Fn.SumAll then
            // An all-scalar argument to outer/@/dot only arises as a zero (a vanished tangent).
            if xs |> List.exists Expr.isZero then Num 0.0 else Call (fn, xs)
        else
            let scalars = parts |> List.collect fst
            let args = parts |> List.map (fun (_, r) -> defaultArg r (Num 1.0))
            let core =
                match fn, args with
                | Fn.Dot, [ a; b ] when compare b a < 0 -> Call (Fn.Dot, [ b; a ])
                | _ -> Call (fn, args)
            mkMul (scalars @ [ core ])

    and private mkCall (fn: Fn) (xs: Expr list) : Expr =
        let info = Builtins.info fn
        match fn, xs with
        | _, args when info.Linq.IsSome && args |> List.forall isNum ->
            match info.Eval (args |> List.map (fun a -> Value.Scalar (numOf a))) with
            | Value.Scalar v when finite v -> Num v
            | _ -> Call (fn, xs)
        | Fn.Transpose, [ a ] -> transpose a
        | Fn.MatMul, args ->
            let flat = args |> List.collect (function Call (Fn.MatMul, ys) -> ys | y -> [ y ])
            if flat |> List.exists Expr.isZero then Num 0.0 else linear Fn.MatMul flat
        | (Fn.Outer | Fn.Dot), args when args |> List.exists Expr.isZero -> Num 0.0
        | (Fn.Outer | Fn.Dot), args -> linear fn args
        | Fn.SumAll, [ a ] when Expr.isZero a -> Num 0.0
        // sum is linear, but a scalar term inside a vector sum is broadcast (sum(v - c) = sum(v) - n·c),
        // so it distributes only over non-scalar terms.
        | Fn.SumAll, [ Add ts ] when ts |> List.forall (isScalarShaped >> not) ->
            mkAdd (ts |> List.map (fun t -> mkCall Fn.SumAll [ t ]))
        | Fn.SumAll, [ a ] ->
            match splitScalars a with
            | scalars, None -> mkMul scalars // the sum of a scalar is the scalar
            | scalars, Some rest -> mkMul (scalars @ [ Call (Fn.SumAll, [ rest ]) ])
        | _ -> Call (fn, xs)

    let rec private pass (e: Expr) : Expr =
        match e with
        | Num _
        | Sym _ -> e
        | Add xs -> mkAdd (List.map pass xs)
        | Mul xs -> mkMul (List.map pass xs)
        | Pow (a, b) -> mkPow (pass a) (pass b)
        | Call (fn, xs) when Builtins.isElementwise fn -> mkCall fn (List.map pass xs)
        | Call (fn, xs) ->
            // A vector that simplifies to a constant (v − v) collapses to a scalar, which broadcasts
            // in elementwise operations; a shape-sensitive operator keeps such an argument as written.
            // A zero may stand in for a vector only where the operator is linear (outer, @, dot, sum, ').
            let linearOp = match fn with Fn.Softmax | Fn.LogSoftmax -> false | _ -> true
            // A constant that stands for a whole vector becomes c · ones_d (the runtime binds ones_<dim>).
            let keepShape x =
                let x' = pass x
                if isScalarShaped x' && not (linearOp && Expr.isZero x') && not (isScalarShaped x) then
                    match x', Typing.check x with
                    | Num 1.0, Ok (Shape.Vector d) -> Sym (Expr.ones d)
                    | Num c, Ok (Shape.Vector d) when c <> 0.0 -> Mul [ Num c; Sym (Expr.ones d) ]
                    | _ -> x
                else x'
            mkCall fn (List.map keepShape xs)

    /// The canonical form of an expression. Idempotent; preserves value (where the input is
    /// defined) and shape (a vanished matrix becomes the scalar 0, which broadcasts).
    let simplify (e: Expr) : Expr =
        let rec fix n e =
            let e' = pass e
            if e' = e || n = 0 then e' else fix (n - 1) e'
        fix 16 e
