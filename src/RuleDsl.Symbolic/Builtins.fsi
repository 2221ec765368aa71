namespace RuleDsl.Symbolic

/// Scalar kernels shared by the reference interpreter and by compiled code (the compiler emits
/// calls to these static methods, so both backends compute the same floating-point function).
[<Class>]
type Kernels =
    
    static member Abs: x: float32 -> float32
    
    static member Abs: x: float -> float
    
    static member Between: x: float32 * lo: float32 * hi: float32 -> float32
    
    static member Between: x: float * lo: float * hi: float -> float
    
    static member Clip: x: float32 * lo: float32 * hi: float32 -> float32
    
    static member Clip: x: float * lo: float * hi: float -> float
    
    static member Exp: x: float32 -> float32
    
    static member Exp: x: float -> float
    
    static member Log: x: float32 -> float32
    
    static member Log: x: float -> float
    
    static member Pow: x: float32 * p: float32 -> float32
    
    /// x^p with the common integer powers spelled out (exact and fast); real powers via Math.Pow.
    static member Pow: x: float * p: float -> float
    
    static member Sigmoid: x: float32 -> float32
    
    static member Sigmoid: x: float -> float
    
    static member Sign: x: float32 -> float32
    
    static member Sign: x: float -> float
    
    static member Softplus: z: float32 * beta: float32 -> float32
    
    static member Softplus: z: float * beta: float -> float
    
    static member Step: x: float32 -> float32
    
    static member Step: x: float -> float
    
    static member Tanh: x: float32 -> float32
    
    static member Tanh: x: float -> float

/// How a built-in is written.
[<RequireQualifiedAccess>]
type Notation =
    
    /// name(arg, …)
    | Prefix
    
    /// a @ b @ c
    | Infix of text: string * latex: string
    
    /// a'
    | Postfix of text: string * latex: string

/// One entry per built-in: everything the system knows about it, in one place.
type Builtin =
    {
      Fn: Fn
      
      /// The name a rule writes.
      Name: string
      
      /// Number of arguments; None for n-ary (two or more).
      Arity: int option
      
      /// Which arguments must be literal numbers (e.g. β of softplus, the bounds of clip).
      ConstantArgs: int list
      Notation: Notation
      LatexName: string
      ShapeRule: (Shape list -> Result<Shape,string>)
      
      /// Reference value, computed plainly.
      Eval: (Value list -> Value)
      
      /// Forward differential: arguments, their tangents (Num 0 where zero) → tangent of the result.
      Forward: (Expr list -> Expr list -> Expr)
      
      /// For elementwise built-ins: the scalar kernel as a LINQ expression over scalar arguments.
      Linq:
        (System.Linq.Expressions.Expression list ->
           System.Linq.Expressions.Expression) option
      Doc: string
    }

module Builtins =
    
    
    
    
    
    
    
    
    
    
    
    
    /// The table. Add a built-in here and everything (checker, derivative, printer, compiler) knows it.
    val table: Builtin list
    
    
    
    /// The table entry of a built-in.
    val info: fn: Fn -> Builtin
    
    /// The built-in a source name denotes (tanh, outer, …), if any.
    val tryFind: name: string -> Builtin option
    
    /// Names a rule may call as functions (the infix @ and postfix ' are operators).
    val functionNames: string list
    
    /// True when a built-in is computed element by element (it fuses into one loop).
    val isElementwise: fn: Fn -> bool

/// Shape inference over well-formed IR.
module Typing =
    
    /// The shape of a well-typed expression, or the first shape error in it.
    val check: e: Expr -> Result<Shape,string>
    
    /// The shape of a well-typed expression; throws on ill-typed IR (a bug, not a user error).
    val shapeOf: e: Expr -> Shape
