namespace RuleDsl.Semantics

open RuleDsl.Symbolic
open RuleDsl.Syntax

/// Where a thing was written: file, 1-based line and column. Derived equations carry the
/// location of the rule line they came from.
type SourceLoc =
    { File: string
      Line: int
      Column: int }

    override this.ToString() = sprintf "%s:%d:%d" this.File this.Line this.Column

/// A meta-learned coefficient after index expansion: theta[1,2] is one Param.
type Param =
    { Symbol: Symbol
      /// The family it belongs to ("theta") and its indices ([1; 2]); [] for a plain scalar.
      Family: string
      Index: int list
      /// Initial value (the default, or the `init` line that names it).
      Init: float
      /// Scale of the meta-optimizer's steps in it (`step`, default 1): Adam moves every θ by about
      /// its learning rate whatever the gradient's size, so a term that acts at a smaller scale is
      /// given smaller steps here, and the rule keeps its real coefficient.
      Step: float
      /// Bounds (`min`, `max`; −∞ and +∞ when not given): the meta-optimizer projects every step
      /// back inside, as for a coefficient whose sign defines the rule (Oja's θ₉ ≥ 0).
      Min: float
      Max: float
      Loc: SourceLoc }

/// A constant: not meta-learned; its value is substituted into the IR, kept here for printing.
type Const =
    { Symbol: Symbol
      Value: float
      Loc: SourceLoc }

/// A state the rule carries (an eligibility trace E). `Next` is its value after one time step,
/// as an expression of the current state and the inputs: `E' = f` means Next = E + dt·f and
/// `E += f` means Next = E + f. Traces start at zero at the start of each trial.
type Trace =
    { Symbol: Symbol
      Next: Expr
      /// The right-hand side as written (f), for printing.
      Rate: Expr
      /// true for `E' = f` (continuous time, Euler step dt), false for `E += f`.
      Continuous: bool
      Loc: SourceLoc }

/// A named term (F[2]) kept for printing the rule as the user wrote it.
type Term =
    { Name: string
      Body: Expr
      Loc: SourceLoc }

/// A checked rule: every name resolved, every index expanded, every shape known.
/// `Update` is ΔW (post × pre) with terms inlined and constants substituted.
type Rule =
    { Name: string
      Setting: Setting
      File: string
      Loc: SourceLoc
      Params: Param list
      Consts: Const list
      /// The variables the update and traces read (inputs of the setting), in first-use order.
      Inputs: Symbol list
      Traces: Trace list
      Terms: Term list
      /// ΔW, the weight change applied by the rule.
      Update: Expr
      UpdateLoc: SourceLoc
      /// The symbol of the weight the rule updates (W).
      Weight: Symbol }
