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
    
    
    
    
    
    /// The lowered form of a (simplified) expression; equal in value to the input.
    val lower: e: Expr -> Expr
    
    /// The products of two dense matrices that remain after lowering (each costs O(n³)).
    val denseProducts: lowered: Expr -> Expr list
