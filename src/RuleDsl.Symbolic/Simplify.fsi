namespace RuleDsl.Symbolic

/// Automatic simplification to a canonical form (after MathNet.Symbolics' design): sums and
/// products flat and sorted, numbers folded, neutral and absorbing elements removed, like terms
/// and like factors collected, powers of powers and of products normalised, scalar factors pulled
/// out of linear operators (outer, @, dot, sum), transposes pushed down to the leaves.
/// Two expressions with the same canonical form are structurally equal.
module Simplify =
    
    
    
    
    
    
    
    
    
    
    
    
    
    
    
    
    
    
    /// The canonical form of an expression. Idempotent; preserves value (where the input is
    /// defined) and shape (a vanished matrix becomes the scalar 0, which broadcasts).
    val simplify: e: Expr -> Expr
