namespace RuleDsl.Symbolic

module Print =
    let text (e: Expr) : string = sprintf "%A" e
    let latex (e: Expr) : string = sprintf "%A" e
