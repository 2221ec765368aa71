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
    
    override ToString: unit -> string

/// A concrete value, as the reference interpreter computes it.
[<RequireQualifiedAccess>]
type Value =
    | Scalar of float
    | Vector of float array
    | Matrix of float array2d

module Shape =
    
    /// True for the scalar shape.
    val isScalar: s: Shape -> bool
    
    /// Broadcasting for elementwise operators: scalars fit anything, everything else must agree.
    val broadcast: a: Shape -> b: Shape -> Result<Shape,string>
    
    /// Rows and columns swapped; vectors and scalars unchanged.
    val transpose: s: Shape -> Shape

module Value =
    
    /// The sizes of a value: [] for a scalar, [n] for a vector, [rows; cols] for a matrix.
    val shapeDims: v: Value -> int list
    
    /// Apply a scalar function elementwise to one or more values with scalar broadcasting.
    val map: f: (float array -> float) -> args: Value list -> Value
    
    /// The elements of a value in row-major order.
    val toArray: v: Value -> float array
