namespace RuleDsl.Symbolic

open System
open System.Linq.Expressions

/// Scalar kernels shared by the reference interpreter and by compiled code (the compiler emits
/// calls to these static methods, so both backends compute the same floating-point function).
type Kernels =
    static member Tanh(x: float) = Math.Tanh x
    static member Tanh(x: float32) = MathF.Tanh x
    static member Exp(x: float) = Math.Exp x
    static member Exp(x: float32) = MathF.Exp x
    static member Log(x: float) = Math.Log x
    static member Log(x: float32) = MathF.Log x
    static member Abs(x: float) = Math.Abs x
    static member Abs(x: float32) = MathF.Abs x
    static member Sign(x: float) = float (Math.Sign x)
    static member Sign(x: float32) = float32 (MathF.Sign x)
    static member Step(x: float) = if x > 0.0 then 1.0 else 0.0
    static member Step(x: float32) = if x > 0.0f then 1.0f else 0.0f
    static member Sigmoid(x: float) =
        // Stable on both tails.
        if x >= 0.0 then 1.0 / (1.0 + Math.Exp -x) else let e = Math.Exp x in e / (1.0 + e)
    static member Sigmoid(x: float32) =
        if x >= 0.0f then 1.0f / (1.0f + MathF.Exp -x) else let e = MathF.Exp x in e / (1.0f + e)
    static member Softplus(z: float, beta: float) =
        let bz = beta * z
        (Math.Max (bz, 0.0) + Math.Log (1.0 + Math.Exp (-(Math.Abs bz)))) / beta
    static member Softplus(z: float32, beta: float32) =
        let bz = beta * z
        (MathF.Max (bz, 0.0f) + MathF.Log (1.0f + MathF.Exp (-(MathF.Abs bz)))) / beta
    static member Clip(x: float, lo: float, hi: float) = Math.Min (hi, Math.Max (lo, x))
    static member Clip(x: float32, lo: float32, hi: float32) = MathF.Min (hi, MathF.Max (lo, x))
    static member Between(x: float, lo: float, hi: float) = if lo < x && x < hi then 1.0 else 0.0
    static member Between(x: float32, lo: float32, hi: float32) = if lo < x && x < hi then 1.0f else 0.0f
    /// x^p with the common integer powers spelled out (exact and fast); real powers via Math.Pow.
    static member Pow(x: float, p: float) =
        match p with
        | 1.0 -> x
        | 2.0 -> x * x
        | 3.0 -> x * x * x
        | -1.0 -> 1.0 / x
        | 0.0 -> 1.0
        | 0.5 -> Math.Sqrt x
        | _ -> Math.Pow (x, p)
    static member Pow(x: float32, p: float32) =
        match p with
        | 1.0f -> x
        | 2.0f -> x * x
        | 3.0f -> x * x * x
        | -1.0f -> 1.0f / x
        | 0.0f -> 1.0f
        | 0.5f -> MathF.Sqrt x
        | _ -> MathF.Pow (x, p)

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
    { Fn: Fn
      /// The name a rule writes.
      Name: string
      /// Number of arguments; None for n-ary (two or more).
      Arity: int option
      /// Which arguments must be literal numbers (e.g. β of softplus, the bounds of clip).
      ConstantArgs: int list
      Notation: Notation
      LatexName: string
      ShapeRule: Shape list -> Result<Shape, string>
      /// Reference value, computed plainly.
      Eval: Value list -> Value
      /// Forward differential: arguments, their tangents (Num 0 where zero) → tangent of the result.
      Forward: Expr list -> Expr list -> Expr
      /// For elementwise built-ins: the scalar kernel as a LINQ expression over scalar arguments.
      Linq: (Expression list -> Expression) option
      Doc: string }

module Builtins =
    let private z = Expr.isZero

    let private kernelCall (name: string) (args: Expression list) : Expression =
        let types = args |> List.map (fun a -> a.Type) |> List.toArray
        match typeof<Kernels>.GetMethod (name, types) with
        | null -> invalidOp (sprintf "no scalar kernel %s(%s)" name (String.Join (", ", types |> Array.map (fun t -> t.Name))))
        | mi -> Expression.Call (mi, args) :> Expression

    let private same (name: string) (shapes: Shape list) =
        match shapes with
        | [ s ] -> Ok s
        | _ -> Error (sprintf "%s takes one argument" name)

    let private scalarArgs (name: string) (shapes: Shape list) =
        match shapes with
        | s :: rest when rest |> List.forall Shape.isScalar -> Ok s
        | _ -> Error (sprintf "the extra arguments of %s must be scalars" name)

    let private scalarFn (f: float[] -> float) (args: Value list) = Value.map f args

    let private elementwise fn name arity kernel (f: float[] -> float) forward doc latex =
        { Fn = fn
          Name = name
          Arity = Some arity
          ConstantArgs = [ 1 .. arity - 1 ]
          Notation = Notation.Prefix
          LatexName = latex
          ShapeRule = (if arity = 1 then same name else scalarArgs name)
          Eval = scalarFn f
          Forward = forward
          Linq = Some (kernelCall kernel)
          Doc = doc }

    let private matmul2 (a: Value) (b: Value) : Value =
        match a, b with
        | Value.Matrix m, Value.Matrix n ->
            let r, k, c = Array2D.length1 m, Array2D.length2 m, Array2D.length2 n
            Value.Matrix (Array2D.init r c (fun i j -> Seq.sum (seq { for t in 0 .. k - 1 -> m.[i, t] * n.[t, j] })))
        | Value.Matrix m, Value.Vector v ->
            Value.Vector (Array.init (Array2D.length1 m) (fun i -> Seq.sum (seq { for t in 0 .. v.Length - 1 -> m.[i, t] * v.[t] })))
        | Value.Scalar s, x
        | x, Value.Scalar s -> Value.map (fun a -> s * a.[0]) [ x ]
        | _ -> invalidArg "matmul" "matmul needs a matrix on the left"

    let private softmaxOf (v: float[]) =
        let m = Array.max v
        let e = v |> Array.map (fun x -> exp (x - m))
        let s = Array.sum e
        e |> Array.map (fun x -> x / s)

    let private vec1 name (f: float[] -> float[]) (args: Value list) =
        match args with
        | [ Value.Vector v ] -> Value.Vector (f v)
        | _ -> invalidArg name (sprintf "%s needs a vector" name)

    let private matmulShape (shapes: Shape list) : Result<Shape, string> =
        let step (acc: Result<Shape, string>) (s: Shape) =
            acc
            |> Result.bind (fun a ->
                match a, s with
                | Shape.Matrix (r, k), Shape.Matrix (k2, c) when k = k2 -> Ok (Shape.Matrix (r, c))
                | Shape.Matrix (r, k), Shape.Vector k2 when k = k2 -> Ok (Shape.Vector r)
                | Shape.Matrix (_, k), (Shape.Matrix (k2, _) | Shape.Vector k2) ->
                    Error (sprintf "@ needs the inner dimensions to agree: a %O times a %O (%s ≠ %s)" a s k k2)
                | _ ->
                    Error (sprintf "@ is a matrix product: cannot multiply a %O by a %O (use * for elementwise or scalar products)" a s))
        match shapes with
        | first :: rest when not rest.IsEmpty -> List.fold step (Ok first) rest
        | _ -> Error "@ needs two operands"

    let private s1 (e: Expr) = Call (Fn.Sigmoid, [ e ])

    /// The table. Add a built-in here and everything (checker, derivative, printer, compiler) knows it.
    let table : Builtin list =
        [ elementwise Fn.Tanh "tanh" 1 "Tanh" (fun a -> tanh a.[0])
              (fun args ds -> Mul [ Add [ Num 1.0; Mul [ Num -1.0; Pow (Call (Fn.Tanh, args), Num 2.0) ] ]; ds.[0] ])
              "hyperbolic tangent" @"\tanh"
          elementwise Fn.Exp "exp" 1 "Exp" (fun a -> exp a.[0])
              (fun args ds -> Mul [ Call (Fn.Exp, args); ds.[0] ]) "exponential" @"\exp"
          elementwise Fn.Log "log" 1 "Log" (fun a -> log a.[0])
              (fun args ds -> Mul [ ds.[0]; Pow (args.[0], Num -1.0) ]) "natural logarithm" @"\log"
          elementwise Fn.Sigmoid "sigmoid" 1 "Sigmoid" (fun a -> Kernels.Sigmoid a.[0])
              (fun args ds -> Mul [ s1 args.[0]; Add [ Num 1.0; Mul [ Num -1.0; s1 args.[0] ] ]; ds.[0] ])
              "logistic sigmoid 1/(1+exp(-x))" @"\sigma"
          elementwise Fn.Softplus "softplus" 2 "Softplus" (fun a -> Kernels.Softplus (a.[0], a.[1]))
              (fun args ds -> Mul [ s1 (Mul [ args.[1]; args.[0] ]); ds.[0] ])
              "softplus(z, β) = log(1 + exp(β z)) / β; β a number" @"\operatorname{softplus}"
          elementwise Fn.Abs "abs" 1 "Abs" (fun a -> abs a.[0])
              (fun args ds -> Mul [ Call (Fn.Sign, args); ds.[0] ]) "absolute value (derivative sign(x), 0 at 0)" @"\operatorname{abs}"
          elementwise Fn.Sign "sign" 1 "Sign" (fun a -> float (sign a.[0]))
              (fun _ _ -> Num 0.0) "sign, −1, 0 or 1 (derivative 0)" @"\operatorname{sign}"
          elementwise Fn.Step "step" 1 "Step" (fun a -> Kernels.Step a.[0])
              (fun _ _ -> Num 0.0) "Heaviside step, 1 where x > 0 (derivative 0)" @"\Theta"
          elementwise Fn.Clip "clip" 3 "Clip" (fun a -> Kernels.Clip (a.[0], a.[1], a.[2]))
              (fun args ds -> Mul [ Call (Fn.Between, args); ds.[0] ])
              "clip(x, lo, hi); lo, hi numbers" @"\operatorname{clip}"
          elementwise Fn.Between "between" 3 "Between" (fun a -> Kernels.Between (a.[0], a.[1], a.[2]))
              (fun _ _ -> Num 0.0) "between(x, lo, hi) = 1 where lo < x < hi (derivative 0)" @"\mathbb{1}"
          { Fn = Fn.Outer
            Name = "outer"
            Arity = Some 2
            ConstantArgs = []
            Notation = Notation.Prefix
            LatexName = @"\operatorname{outer}"
            ShapeRule =
              (function
              | [ Shape.Vector a; Shape.Vector b ] -> Ok (Shape.Matrix (a, b))
              | [ a; b ] -> Error (sprintf "outer(a, b) needs two vectors, got a %O and a %O" a b)
              | _ -> Error "outer takes two arguments")
            Eval =
              (function
              | [ Value.Vector a; Value.Vector b ] -> Value.Matrix (Array2D.init a.Length b.Length (fun i j -> a.[i] * b.[j]))
              | _ -> invalidArg "outer" "outer needs two vectors")
            Forward =
              (fun args ds ->
                  Expr.sumOf
                      [ (if z ds.[0] then Num 0.0 else Call (Fn.Outer, [ ds.[0]; args.[1] ]))
                        (if z ds.[1] then Num 0.0 else Call (Fn.Outer, [ args.[0]; ds.[1] ])) ])
            Linq = None
            Doc = "outer product a bᵀ: post × pre when a is a post vector and b a pre vector" }
          { Fn = Fn.MatMul
            Name = "@"
            Arity = None
            ConstantArgs = []
            Notation = Notation.Infix ("@", "")
            LatexName = ""
            ShapeRule = matmulShape
            Eval = (fun args -> List.reduce matmul2 args)
            Forward =
              (fun args ds ->
                  Expr.sumOf
                      [ for i in 0 .. args.Length - 1 do
                            if not (z ds.[i]) then
                                Call (Fn.MatMul, args |> List.mapi (fun j a -> if i = j then ds.[i] else a)) ])
            Linq = None
            Doc = "matrix product; a matrix times a vector gives a vector" }
          { Fn = Fn.Transpose
            Name = "transpose"
            Arity = Some 1
            ConstantArgs = []
            Notation = Notation.Postfix ("'", "^{\\top}")
            LatexName = ""
            ShapeRule =
              (function
              | [ Shape.Matrix (r, c) ] -> Ok (Shape.Matrix (c, r))
              | [ Shape.Scalar ] -> Ok Shape.Scalar
              | [ s ] -> Error (sprintf "transpose (') applies to matrices, not to a %O; use outer(a, b) to build a matrix" s)
              | _ -> Error "transpose takes one argument")
            Eval =
              (function
              | [ Value.Matrix m ] -> Value.Matrix (Array2D.init (Array2D.length2 m) (Array2D.length1 m) (fun i j -> m.[j, i]))
              | [ v ] -> v
              | _ -> invalidArg "transpose" "one argument")
            Forward = (fun _ ds -> if z ds.[0] then Num 0.0 else Call (Fn.Transpose, ds))
            Linq = None
            Doc = "transpose, written a'" }
          { Fn = Fn.SumAll
            Name = "sum"
            Arity = Some 1
            ConstantArgs = []
            Notation = Notation.Prefix
            LatexName = @"\sum"
            ShapeRule = (function [ _ ] -> Ok Shape.Scalar | _ -> Error "sum(x) takes one argument")
            Eval = (fun args -> Value.Scalar (Array.sum (Value.toArray args.[0])))
            Forward = (fun _ ds -> if z ds.[0] then Num 0.0 else Call (Fn.SumAll, ds))
            Linq = None
            Doc = "sum of all elements" }
          { Fn = Fn.Dot
            Name = "dot"
            Arity = Some 2
            ConstantArgs = []
            Notation = Notation.Prefix
            LatexName = ""
            ShapeRule =
              (function
              | [ a; b ] when a = b && not (Shape.isScalar a) -> Ok Shape.Scalar
              | [ a; b ] -> Error (sprintf "dot(a, b) needs two vectors (or matrices) of the same shape, got a %O and a %O" a b)
              | _ -> Error "dot takes two arguments")
            Eval = (fun args -> Value.Scalar (Array.fold2 (fun s x y -> s + x * y) 0.0 (Value.toArray args.[0]) (Value.toArray args.[1])))
            Forward =
              (fun args ds ->
                  Expr.sumOf
                      [ (if z ds.[0] then Num 0.0 else Call (Fn.Dot, [ ds.[0]; args.[1] ]))
                        (if z ds.[1] then Num 0.0 else Call (Fn.Dot, [ args.[0]; ds.[1] ])) ])
            Linq = None
            Doc = "inner product ⟨a, b⟩" }
          { Fn = Fn.Softmax
            Name = "softmax"
            Arity = Some 1
            ConstantArgs = []
            Notation = Notation.Prefix
            LatexName = @"\operatorname{softmax}"
            ShapeRule = (function [ Shape.Vector d ] -> Ok (Shape.Vector d) | [ s ] -> Error (sprintf "softmax needs a vector, got a %O" s) | _ -> Error "softmax takes one argument")
            Eval = vec1 "softmax" softmaxOf
            Forward =
              (fun args ds ->
                  let s = Call (Fn.Softmax, args)
                  Mul [ s; Add [ ds.[0]; Mul [ Num -1.0; Call (Fn.Dot, [ s; ds.[0] ]) ] ] ])
            Linq = None
            Doc = "softmax of a vector" }
          { Fn = Fn.LogSoftmax
            Name = "logsoftmax"
            Arity = Some 1
            ConstantArgs = []
            Notation = Notation.Prefix
            LatexName = @"\operatorname{logsoftmax}"
            ShapeRule = (function [ Shape.Vector d ] -> Ok (Shape.Vector d) | [ s ] -> Error (sprintf "logsoftmax needs a vector, got a %O" s) | _ -> Error "logsoftmax takes one argument")
            // (x − max) − log Σ exp(x − max): finite even where softmax underflows to 0.
            Eval =
              vec1 "logsoftmax" (fun v ->
                  let m = Array.max v
                  let lse = log (v |> Array.sumBy (fun x -> exp (x - m)))
                  v |> Array.map (fun x -> x - m - lse))
            Forward =
              (fun args ds -> Add [ ds.[0]; Mul [ Num -1.0; Call (Fn.Dot, [ Call (Fn.Softmax, args); ds.[0] ]) ] ])
            Linq = None
            Doc = "log of softmax, computed stably" } ]

    let private byFn = table |> List.map (fun b -> b.Fn, b) |> dict
    let private byName = table |> List.map (fun b -> b.Name, b) |> dict

    let info (fn: Fn) : Builtin = byFn.[fn]

    let tryFind (name: string) : Builtin option =
        match byName.TryGetValue name with
        | true, b -> Some b
        | _ -> None

    /// Names a rule may call as functions (the infix @ and postfix ' are operators).
    let functionNames = table |> List.filter (fun b -> b.Notation = Notation.Prefix) |> List.map (fun b -> b.Name)

    /// True when a built-in is computed element by element (it fuses into one loop).
    let isElementwise (fn: Fn) = (info fn).Linq.IsSome

/// Shape inference over well-formed IR.
module Typing =
    let rec check (e: Expr) : Result<Shape, string> =
        let all (xs: Expr list) =
            List.foldBack (fun x acc -> match check x, acc with
                                        | Ok s, Ok ss -> Ok (s :: ss)
                                        | Error m, _ | _, Error m -> Error m) xs (Ok [])
        match e with
        | Num _ -> Ok Shape.Scalar
        | Sym s -> Ok s.Shape
        | Add xs
        | Mul xs ->
            all xs |> Result.bind (fun ss -> List.fold (fun acc s -> acc |> Result.bind (fun a -> Shape.broadcast a s)) (Ok Shape.Scalar) ss)
        | Pow (a, b) ->
            all [ a; b ] |> Result.bind (fun ss -> Shape.broadcast ss.[0] ss.[1])
        | Call (fn, xs) -> all xs |> Result.bind (Builtins.info fn).ShapeRule

    /// The shape of a well-typed expression; throws on ill-typed IR (a bug, not a user error).
    let shapeOf (e: Expr) : Shape =
        match check e with
        | Ok s -> s
        | Error m -> invalidOp (sprintf "ill-typed IR: %s" m)
