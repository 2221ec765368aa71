namespace RuleDsl.Symbolic

/// Symbolic differentiation. One function does the work: the forward differential (directional
/// derivative) of an expression given the tangents of the symbols it reads. A partial derivative
/// with respect to a scalar is the forward differential with that scalar's tangent set to 1.
module Differentiate =
    
    /// The symbol that carries the tangent of `s` (δW for W). Same shape as `s`.
    val tangentSymbol: s: Symbol -> Symbol

    /// The tangent of `s` along direction d of several (δW#0 for W): the engine's buffers.
    val tangentAlong: s: Symbol -> d: int -> Symbol
    
    /// Forward differential of `e`: `tangentOf s` is the tangent of symbol `s`, None where it is zero.
    /// The result is unsimplified; callers simplify.
    val forwardRaw: tangentOf: (Symbol -> Expr option) -> e: Expr -> Expr
    
    /// Forward differential of `e`, simplified.
    val forward: tangentOf: (Symbol -> Expr option) -> e: Expr -> Expr
    
    /// ∂e/∂x for a scalar symbol x (a parameter, a reward): the result has the shape of e.
    val partial: x: Symbol -> e: Expr -> Expr
    
    /// The forward differential with respect to the given symbols, whose tangents are the
    /// symbols δs: the tangent-update equation a human would derive by hand.
    val differential: wrt: Symbol list -> e: Expr -> Expr
