namespace RuleDsl.Syntax
