namespace RuleDsl.Symbolic

/// Lowering for compute (owned by the compiler work): rewrites that keep work at the right order.
module Lower =
    let private placeholder = ()
