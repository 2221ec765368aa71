namespace RuleDsl.Symbolic

/// Printers: `text` writes the language's own syntax (the parser reads it back), `latex` writes
/// LaTeX math. Both follow one precedence table:
///   1 sum (+ −) · 2 product (* /) · 3 matrix product (@) · 4 unary minus · 5 power (^, right) ·
///   6 postfix transpose (') · 7 atoms (numbers, names, calls, parentheses)
module Print =
    
    
    
    
    
    
    
    /// The expression in the language's own syntax.
    [<CompiledName ("Text")>]
    val text: e: Expr -> string
    
    
    /// theta0 → \theta_{0}, theta[1,2] → \theta_{1,2}, y_pre → y_{\mathrm{pre}}, xbar → \bar{x},
    /// ones_post → \mathbf{1}_{\mathrm{post}}, δW → \delta W.
    val latexName: name: string -> string
    
    
    
    /// The expression as LaTeX math (no surrounding $…$).
    [<CompiledName ("Latex")>]
    val latex: e: Expr -> string
