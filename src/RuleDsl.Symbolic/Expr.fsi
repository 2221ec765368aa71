namespace RuleDsl.Symbolic

/// A named quantity of known shape: a parameter (θ), an input (y_pre, e_post, W), a state
/// (a trace E), or a tangent (δW). What kind it is lives in the symbol tables of the later
/// stages; the IR only needs the name and the shape.
[<StructuralEquality; StructuralComparison>]
type Symbol =
    {
      Name: string
      Shape: Shape
    }
    
    override ToString: unit -> string

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
    
    static member ( * ) : a: Expr * b: Expr -> Expr
    
    static member (+) : a: Expr * b: Expr -> Expr
    
    static member (-) : a: Expr * b: Expr -> Expr
    
    static member (/) : a: Expr * b: Expr -> Expr
    
    static member (~-) : a: Expr -> Expr

module Expr =
    
    /// The number 0.
    val zero: Expr
    
    /// The number 1.
    val one: Expr
    
    /// True for the number 0 (structurally, not after simplification).
    val isZero: e: Expr -> bool
    
    /// A symbol of the given name and shape.
    val sym: name: string -> shape: Shape -> Expr
    
    /// A scalar symbol.
    val scalar: name: string -> Expr
    
    /// ones_<dim>, the vector of ones over a dimension: the simplifier writes a constant vector
    /// as c · ones_<dim>, so whoever binds a rule's inputs binds these from the known sizes.
    val ones: dim: string -> Symbol
    
    /// The dimension of a vector of ones (ones_<dim>), None for any other symbol.
    val onesDim: s: Symbol -> string option
    
    /// A call of a built-in on its arguments (not checked: Typing.check does that).
    val call: fn: Fn -> args: Expr list -> Expr
    
    /// Sum that drops literal zeros (keeps shapes valid where a zero tangent meets a matrix op).
    val sumOf: terms: Expr list -> Expr
    
    /// Every sub-expression, the expression itself first.
    val subExprs: e: Expr -> Expr seq
    
    /// The symbols an expression reads, each once, in order of first appearance.
    val symbols: e: Expr -> Symbol list
    
    /// Replace symbols by expressions (used to bind indexed families and to inline definitions).
    val substitute: f: (Symbol -> Expr option) -> e: Expr -> Expr
    
    /// Bottom-up rewrite.
    val mapBottomUp: f: (Expr -> Expr) -> e: Expr -> Expr
    
    /// The number of nodes, a measure of an expression's cost.
    val size: e: Expr -> int
