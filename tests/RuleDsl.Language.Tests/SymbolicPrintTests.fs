/// What the symbolic engine prints, read like a textbook: simplified updates and their derivatives.
module SymbolicPrintTests

open Xunit
open RuleDsl.Symbolic
open SymbolicSupport

let private txt = Simplify.simplify >> Print.text

/// Eq. 7 of Shervani-Tabar & Rosenbaum (2023).
let bio =
    -(theta 0) * outer ePost yPre - theta 2 * outer ePost ePre
    + theta 9 * (outer yPost yPre - matmul [ outer yPost yPost; W ])

[<Fact>]
let ``bio prints as written`` () =
    Assert.Equal ("-theta0 * outer(e_post, y_pre) - theta2 * outer(e_post, e_pre) + theta9 * (outer(y_post, y_pre) - outer(y_post, y_post) @ W)", txt bio)

[<Fact>]
let ``partial derivatives of bio are its terms`` () =
    Assert.Equal ("-outer(e_post, y_pre)", Print.text (Differentiate.partial (thetaSym 0) bio))
    Assert.Equal ("-outer(e_post, e_pre)", Print.text (Differentiate.partial (thetaSym 2) bio))
    Assert.Equal ("outer(y_post, y_pre) - outer(y_post, y_post) @ W", Print.text (Differentiate.partial (thetaSym 9) bio))
    Assert.Equal ("0", Print.text (Differentiate.partial (thetaSym 5) bio))

[<Fact>]
let ``forward differential of F0 is the product rule`` () =
    let f0 = -(theta 0) * outer ePost yPre
    let wrt = [ sym "e_post" post; sym "y_pre" pre; thetaSym 0 ]
    Assert.Equal ("-theta0 * (outer(e_post, δy_pre) + outer(δe_post, y_pre)) - δtheta0 * outer(e_post, y_pre)",
                  Print.text (Differentiate.differential wrt f0))

[<Fact>]
let ``tangent of the rank-one chain F6 keeps its three pieces`` () =
    let f6 = -(matmul [ outer yPost yPost; W; outer ePre ePre ])
    let wrt = [ sym "y_post" post; sym "W" (Shape.Matrix ("post", "pre")) ]
    Assert.Equal ("-(outer(y_post, δy_post) + outer(δy_post, y_post)) @ W @ outer(e_pre, e_pre) - outer(y_post, y_post) @ δW @ outer(e_pre, e_pre)",
                  Print.text (Differentiate.differential wrt f6))

[<Fact>]
let ``like terms, like factors and powers collect`` () =
    let x = Expr.scalar "x"
    Assert.Equal ("6 * x^2", txt (x * x * x + Num 2.0 * x * x - x * Pow (x, Num 2.0) + Pow (Num 2.0 * x, Num 2.0)))
    Assert.Equal ("x^6", txt (Pow (Pow (x, Num 2.0), Num 3.0)))
    Assert.Equal ("1", txt (x / x))
    Assert.Equal ("0", txt (x - x + Num 0.0 * Call (Fn.Tanh, [ x ])))
    Assert.Equal ("x", txt (Num 1.0 * x + Num 0.0))

[<Fact>]
let ``derivative of tanh and of a quotient`` () =
    let x = Expr.scalar "x"
    Assert.Equal ("1 - tanh(x)^2", Print.text (Differentiate.partial (sym "x" Shape.Scalar) (Call (Fn.Tanh, [ x ]))))
    Assert.Equal ("-1 / x^2", Print.text (Differentiate.partial (sym "x" Shape.Scalar) (Num 1.0 / x)))

[<Fact>]
let ``transposes go to the leaves`` () =
    Assert.Equal ("W @ W'", txt (transpose (matmul [ W; transpose W ])))
    Assert.Equal ("outer(y_pre, e_post)", txt (transpose (outer ePost yPre)))
    Assert.Equal ("2 * W'", txt (transpose (Num 2.0 * W)))

[<Fact>]
let ``scalars leave linear operators`` () =
    Assert.Equal ("-theta0 * outer(e_post, y_pre)", txt (outer (-(theta 0) * ePost) yPre))
    Assert.Equal ("3 * dot(e_post, y_post)", txt (Call (Fn.Dot, [ yPost; Num 3.0 * ePost ])))
    Assert.Equal ("theta1 * outer(y_post, y_post) @ W", txt (matmul [ outer yPost yPost; theta 1 * W ]))

[<Fact>]
let ``LaTeX of bio`` () =
    Assert.Equal (@"-\theta_{0} \, e_{\mathrm{post}} \, y_{\mathrm{pre}}^{\top} - \theta_{2} \, e_{\mathrm{post}} \, e_{\mathrm{pre}}^{\top} + \theta_{9} \, \left(y_{\mathrm{post}} \, y_{\mathrm{pre}}^{\top} - y_{\mathrm{post}} \, y_{\mathrm{post}}^{\top} \, W\right)",
                  Print.latex (Simplify.simplify bio))

[<Fact>]
let ``LaTeX names`` () =
    Assert.Equal (@"\theta_{1,2}", Print.latexName "theta[1,2]")
    Assert.Equal (@"\bar{x}", Print.latexName "xbar")
    Assert.Equal (@"\bar{R}", Print.latexName "Rbar")
    Assert.Equal (@"\delta W", Print.latexName "δW")
    Assert.Equal (@"\mathbf{1}_{\mathrm{post}}", Print.latexName "ones_post")
    Assert.Equal (@"\eta", Print.latexName "eta")

[<Fact>]
let ``shape errors say what met what`` () =
    match Typing.check (ePost + yPre) with
    | Error m -> Assert.Equal ("cannot combine a post vector with a pre vector elementwise", m)
    | Ok s -> failwithf "expected an error, got %O" s
    match Typing.check (outer W yPre) with
    | Error m -> Assert.Equal ("outer(a, b) needs two vectors, got a post×pre matrix and a pre vector", m)
    | Ok s -> failwithf "expected an error, got %O" s
    match Typing.check (matmul [ W; yPost ]) with
    | Error m -> Assert.Contains ("inner dimensions", m)
    | Ok s -> failwithf "expected an error, got %O" s
