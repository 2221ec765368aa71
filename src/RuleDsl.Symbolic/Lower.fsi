namespace RuleDsl.Symbolic

/// How one additive term of a lowered expression is made, for a compiler that wants to skip a
/// term whose scalar coefficient is zero and to run rank-one terms as row operations.
/// The term's value at (i, j) is Π Scalars · Left[i] · Right[j] · Body[i, j], an absent part
/// counting as 1. For a matrix term: Left/Right come from its outer product, Body is any other
/// elementwise matrix factor. For a vector term: Left/Right are None and Body is the vector part.
/// For a scalar term: only Scalars.
type TermFactors =
    {
      Scalars: Expr list
      Left: Expr option
      Right: Expr option
      Body: Expr option
    }

/// Lowering for compute: value-preserving rewrites that keep the work at the right order before
/// compiling. Independent of Simplify (it does the little folding it needs itself).
///  - scalar factors are pulled out of MatMul, Outer, Dot, Transpose;
///  - nested MatMul is flattened, Transpose is pushed to the leaves;
///  - matrix chains containing an outer product become scalar · outer(vector, vector), with the
///    vectors computed by matrix–vector products (O(n·m)), never by matrix–matrix products:
///      outer(a,b) @ M = outer(a, M' @ b),  M @ outer(c,d) = outer(M @ c, d),
///      outer(a,b) @ M @ outer(c,d) = dot(b, M @ c) · outer(a, d),
///    so `outer(y,y) @ W @ outer(e,e)` costs O(n·m), never O(n²m);
///  - a product that ends in a vector becomes right-nested binary matrix–vector products;
///  - sums of matrix (or vector) terms are distributed so that each term has its scalar
///    coefficient in front (the compiler skips a term whose coefficient is zero at run time).
module Lower =
    /// Lower a well-typed expression. The result has the same shape and value (up to rounding).
    val lower: e: Expr -> Expr

    /// The dense matrix @ matrix products left in a lowered expression: each costs O(n³).
    val denseProducts: e: Expr -> Expr list

    /// The additive terms of a lowered expression.
    val terms: e: Expr -> Expr list

    /// How one term is made (see TermFactors).
    val factors: term: Expr -> TermFactors

    /// A scalar that costs nothing to compute: numbers and scalar symbols under scalar arithmetic
    /// and elementwise functions (no reductions, so nothing that reads a vector or a matrix).
    val isCheapScalar: e: Expr -> bool
