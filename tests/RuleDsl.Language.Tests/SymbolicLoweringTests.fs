/// Lower (the compiler's lowering) keeps compiled work at O(n·m): every matrix chain of the paper's pool becomes vector work.
module SymbolicLoweringTests

open Xunit
open RuleDsl.Symbolic
open SymbolicSupport

let private lowered = Lower.lower >> Print.text

[<Fact>]
let ``F6, F7, F8 become a scalar times an outer product`` () =
    Assert.Equal ("-dot(y_post, W @ e_pre) * outer(y_post, e_pre)", lowered (-(matmul [ outer yPost yPost; W; outer ePre ePre ])))
    Assert.Equal ("-dot(y_post, W @ e_pre) * outer(e_post, y_pre)", lowered (-(matmul [ outer ePost yPost; W; outer ePre yPre ])))
    Assert.Equal ("-dot(y_pre, W' @ e_post) * outer(y_post, e_pre)", lowered (-(matmul [ outer yPost yPre; transpose W; outer ePost ePre ])))

[<Fact>]
let ``Oja's term becomes two outer products`` () =
    Assert.Equal ("outer(y_post, y_pre) - outer(y_post, W' @ y_post)", lowered (outer yPost yPre - matmul [ outer yPost yPost; W ]))

[<Fact>]
let ``the tangent of F6 stays O(n m)`` () =
    let wrt = [ sym "y_post" post; sym "e_pre" pre; sym "W" (Shape.Matrix ("post", "pre")) ]
    let tangent = Differentiate.differential wrt (matmul [ outer yPost yPost; W; outer ePre ePre ])
    Assert.Empty (Lower.denseProducts (Lower.lower tangent))
    Assert.NotEmpty (Expr.subExprs tangent |> Seq.filter (function Call (Fn.MatMul, [ _; _; _ ]) -> true | _ -> false))

[<Fact>]
let ``a genuine product of two dense matrices is reported`` () =
    let p = Expr.sym "P" (Shape.Matrix ("post", "post"))
    Assert.Equal<Expr list> ([ matmul [ p; W ] ], Lower.denseProducts (Lower.lower (matmul [ p; W ])))
