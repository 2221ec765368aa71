/// Whether a rule or model file still says what it said (a resumed run's check): comments and
/// layout may change, anything else is the first change, located in both versions.
module SourceChangeTests

open Xunit
open RuleDsl.Syntax

let private rule = "include \"terms.rule\"\n\nrule fa : feedforward\n  param theta0 = 1e-3\n  dW = theta0 * F[0]\n"

let private change path a b =
    SourceChange.first path a b |> Option.map (fun c -> c.OldLine, c.OldText, c.NewLine, c.NewText)

[<Fact>]
let ``comments, blank lines, spacing and a statement broken over lines are no change`` () =
    let relaid = "# why this rule\ninclude   \"terms.rule\"   # the terms\n\n\nrule fa: feedforward\n    param theta0=1e-3\n\n    dW = theta0 *\n          F[ 0 ]  # reflowed\n"
    Assert.Equal (None, change "fa.rule" rule relaid)

[<Fact>]
let ``a changed term index is the first change, at its line in each version`` () =
    let edited = "# a comment moves the line\n" + rule.Replace ("F[0]", "F[1]")
    Assert.Equal (Some (5, "dW = theta0 * F[0]", 6, "dW = theta0 * F[1]"), change "fa.rule" rule edited)

[<Fact>]
let ``a statement moved out of a rule body is a change though its tokens are the same`` () =
    let text = "rule a : feedforward\n  param t = 0\n  const c = 2\n  dW = t * c * outer(e_post, y_pre)\n"
    let moved = "const c = 2\nrule a : feedforward\n  param t = 0\n  dW = t * c * outer(e_post, y_pre)\n"
    Assert.True ((change "a.rule" text moved).IsSome)

[<Fact>]
let ``a model line is a statement: a reworded comment is no change, a changed equation is one, and so is a removed one`` () =
    let model = "model m : feedforward\n  const beta = 10   # sharpness\n  hidden = softplus(z_post, beta)\n"
    Assert.Equal (None, change "m.model" model (model.Replace ("# sharpness", "# softplus sharpness")))
    Assert.Equal (Some (3, "hidden = softplus(z_post, beta)", 3, "hidden = tanh(z_post)"),
                  change "m.model" model (model.Replace ("softplus(z_post, beta)", "tanh(z_post)")))
    Assert.Equal (Some (3, "hidden = softplus(z_post, beta)", 0, ""),
                  change "m.model" model "model m : feedforward\n  const beta = 10\n")
