namespace RuleDsl.Symbolic

/// The reference interpreter: plain, obviously correct evaluation of the IR on concrete values.
/// Everything faster (the compiled kernels) is tested against it.
module Eval =
    
    /// The value of `e` with every symbol's value given by `env`.
    val eval: env: (Symbol -> Value) -> e: Expr -> Value
    
    /// Evaluate with values looked up by symbol name; a missing name is a clear error.
    val evalNamed: values: Map<string,Value> -> e: Expr -> Value
