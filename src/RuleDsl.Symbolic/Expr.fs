namespace RuleDsl.Symbolic

/// A named quantity of known shape: a parameter (θ), an input (y_pre, e_post, W), a state
/// (a trace E), or a tangent (δW). What kind it is lives in the symbol tables of the later
/// stages; the IR only needs the name and the shape.
[<StructuralEquality; StructuralComparison>]
type Symbol =
    { Name: string
      Shape: Shape }

    override this.ToString() = this.Name

/// Every built-in function and operator. Its shape rule, value, derivative, printed forms and
/// compiled form live in one entry of `Builtins.table`.
[<RequireQualifiedAccess; StructuralEquality; StructuralComparison>]
type Fn =
    | Tanh
    | Exp
    | Log
    | Sigmoid
    /// softplus(z, β) = log(1 + exp(β z)) / β
    | Softplus
    | Abs
    | Sign
    /// step(x) = 1 if x > 0 else 0
    | Step
    /// clip(x, lo, hi)
    | Clip
    /// between(x, lo, hi) = 1 if lo < x < hi else 0; the derivative of clip
    | Between
    /// outer(a, b) = a bᵀ
    | Outer
    /// n-ary matrix product a @ b @ c; a matrix times a vector gives a vector
    | MatMul
    | Transpose
    /// sum of all elements
    | SumAll
    /// ⟨a, b⟩ of two vectors (or the Frobenius product of two matrices)
    | Dot
    | Softmax
    | LogSoftmax

/// The one expression type. Sums and products are n-ary and elementwise with scalar
/// broadcasting; the simplifier keeps them flat and in canonical order so that equality is
/// structural. Subtraction is a sum with a −1 factor; division is a power −1.
[<StructuralEquality; StructuralComparison>]
type Expr =
    | Num of float
    | Sym of Symbol
    | Add of Expr list
    | Mul of Expr list
    | Pow of Expr * Expr
    | Call of Fn * Expr list

    static member (+)(a: Expr, b: Expr) = Add [ a; b ]
    static member (*)(a: Expr, b: Expr) = Mul [ a; b ]
    static member (-)(a: Expr, b: Expr) = Add [ a; Mul [ Num -1.0; b ] ]
    static member (/)(a: Expr, b: Expr) = Mul [ a; Pow (b, Num -1.0) ]
    static member (~-)(a: Expr) = Mul [ Num -1.0; a ]

module Expr =
    let zero = Num 0.0
    let one = Num 1.0
    let isZero e = (e = Num 0.0)
    let sym name shape = Sym { Name = name; Shape = shape }
    let scalar name = sym name Shape.Scalar
    let ones (dim: string) : Symbol = { Name = "ones_" + dim; Shape = Shape.Vector dim }

    let onesDim (s: Symbol) =
        match s.Shape with
        | Shape.Vector d when s.Name = "ones_" + d -> Some d
        | _ -> None
    let call fn args = Call (fn, args)

    /// Sum that drops literal zeros (keeps shapes valid where a zero tangent meets a matrix op).
    let sumOf (terms: Expr list) =
        match terms |> List.filter (isZero >> not) with
        | [] -> zero
        | [ t ] -> t
        | ts -> Add ts

    /// Every sub-expression, the expression itself first.
    let rec subExprs (e: Expr) : Expr seq =
        seq {
            yield e
            match e with
            | Num _
            | Sym _ -> ()
            | Add xs
            | Mul xs
            | Call (_, xs) -> for x in xs do yield! subExprs x
            | Pow (a, b) ->
                yield! subExprs a
                yield! subExprs b
        }

    /// The symbols an expression reads, each once, in order of first appearance.
    let symbols (e: Expr) : Symbol list =
        subExprs e |> Seq.choose (function Sym s -> Some s | _ -> None) |> Seq.distinct |> List.ofSeq

    /// Replace symbols by expressions (used to bind indexed families and to inline definitions).
    let rec substitute (f: Symbol -> Expr option) (e: Expr) : Expr =
        match e with
        | Num _ -> e
        | Sym s -> defaultArg (f s) e
        | Add xs -> Add (List.map (substitute f) xs)
        | Mul xs -> Mul (List.map (substitute f) xs)
        | Pow (a, b) -> Pow (substitute f a, substitute f b)
        | Call (fn, xs) -> Call (fn, List.map (substitute f) xs)

    /// Bottom-up rewrite.
    let rec mapBottomUp (f: Expr -> Expr) (e: Expr) : Expr =
        let r = mapBottomUp f
        match e with
        | Num _
        | Sym _ -> f e
        | Add xs -> f (Add (List.map r xs))
        | Mul xs -> f (Mul (List.map r xs))
        | Pow (a, b) -> f (Pow (r a, r b))
        | Call (fn, xs) -> f (Call (fn, List.map r xs))

    let size (e: Expr) = subExprs e |> Seq.length
