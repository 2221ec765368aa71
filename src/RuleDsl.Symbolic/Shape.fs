namespace RuleDsl.Symbolic

/// A dimension is named. A rule speaks of "pre" and "post"; a model may name others
/// ("in", "out", "h1", "N"). Two vectors may be added only when their dimensions have the
/// same name: that is what catches a pre vector where a post vector belongs.
type Dim = string

/// The shape of a value. Matrices are rows × cols; a weight matrix is post × pre.
[<RequireQualifiedAccess; StructuralEquality; StructuralComparison>]
type Shape =
    | Scalar
    | Vector of Dim
    | Matrix of rows: Dim * cols: Dim

    override this.ToString() =
        match this with
        | Scalar -> "scalar"
        | Vector d -> sprintf "%s vector" d
        | Matrix (r, c) -> sprintf "%s×%s matrix" r c

/// A concrete value, as the reference interpreter computes it.
[<RequireQualifiedAccess>]
type Value =
    | Scalar of float
    | Vector of float[]
    | Matrix of float[,]

module Shape =
    let isScalar s = (s = Shape.Scalar)

    /// Broadcasting for elementwise operators: scalars fit anything, everything else must agree.
    let broadcast (a: Shape) (b: Shape) : Result<Shape, string> =
        match a, b with
        | Shape.Scalar, s | s, Shape.Scalar -> Ok s
        | a, b when a = b -> Ok a
        | a, b -> Error (sprintf "cannot combine a %O with a %O elementwise" a b)

    let transpose s =
        match s with
        | Shape.Matrix (r, c) -> Shape.Matrix (c, r)
        | s -> s

module Value =
    let shapeDims (v: Value) =
        match v with
        | Value.Scalar _ -> []
        | Value.Vector a -> [ a.Length ]
        | Value.Matrix m -> [ Array2D.length1 m; Array2D.length2 m ]

    /// Apply a scalar function elementwise to one or more values with scalar broadcasting.
    let map (f: float[] -> float) (args: Value list) : Value =
        let lenOf =
            args
            |> List.tryPick (function
                | Value.Matrix m -> Some (Choice2Of2 (Array2D.length1 m, Array2D.length2 m))
                | Value.Vector v -> Some (Choice1Of2 v.Length)
                | _ -> None)
        let at (i: int) (j: int) (v: Value) =
            match v with
            | Value.Scalar s -> s
            | Value.Vector a -> a.[i]
            | Value.Matrix m -> m.[i, j]
        let argsA = List.toArray args
        match lenOf with
        | None -> Value.Scalar (f (argsA |> Array.map (at 0 0)))
        | Some (Choice1Of2 n) -> Value.Vector (Array.init n (fun i -> f (argsA |> Array.map (at i 0))))
        | Some (Choice2Of2 (r, c)) -> Value.Matrix (Array2D.init r c (fun i j -> f (argsA |> Array.map (at i j))))

    let toArray (v: Value) : float[] =
        match v with
        | Value.Scalar s -> [| s |]
        | Value.Vector a -> Array.copy a
        | Value.Matrix m -> [| for i in 0 .. Array2D.length1 m - 1 do for j in 0 .. Array2D.length2 m - 1 -> m.[i, j] |]
