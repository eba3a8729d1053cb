//! `features` blocks: each definition typed into the feature IR. Names resolve to
//! earlier features of the same block, then to fields of its schema.

use super::values::describe_expr;
use super::{Checker, Kind};
use crate::ast::{BinaryOp, Expr, ExprKind, FeaturesDecl, UnaryOp, Unit};
use crate::diagnostics::{did_you_mean, Code, Diagnostic};
use crate::program::BinOp;
use crate::program::{Feature, FeatureExpr as F, FeatureSet, FeatureType as T, FieldType, Func, Schema};
use std::collections::BTreeSet;

/// Functions a feature may call: name, function, argument count (min, max).
const FUNCS: &[(&str, Func, usize, usize)] = &[
    ("abs", Func::Abs, 1, 1),
    ("sqrt", Func::Sqrt, 1, 1),
    ("ln", Func::Ln, 1, 1),
    ("log", Func::Ln, 1, 1),
    ("log10", Func::Log10, 1, 1),
    ("log1p", Func::Log1p, 1, 1),
    ("exp", Func::Exp, 1, 1),
    ("floor", Func::Floor, 1, 1),
    ("ceil", Func::Ceil, 1, 1),
    ("round", Func::Round, 1, 1),
    ("pow", Func::Pow, 2, 2),
    ("min", Func::Min, 2, 8),
    ("max", Func::Max, 2, 8),
    ("clamp", Func::Clamp, 3, 3),
    ("if", Func::If, 3, 3),
    ("is_missing", Func::IsMissing, 1, 1),
    ("coalesce", Func::Coalesce, 2, 2),
    ("len", Func::Len, 1, 1),
    ("lower", Func::Lower, 1, 1),
    ("contains", Func::Contains, 2, 2),
    ("category", Func::Category, 1, 1),
];

/// What names mean inside one block while it is being checked.
struct Env<'s> {
    schema: &'s Schema,
    defined: Vec<(String, T, BTreeSet<String>)>,
}

impl Checker<'_> {
    pub(super) fn features(&mut self, f: &FeaturesDecl) {
        if !self.resolve(&f.schema, Kind::Schema) {
            return;
        }
        let Some(schema) = self.program.schema(&f.schema.node).cloned() else { return };
        let mut env = Env { schema: &schema, defined: Vec::new() };
        let mut features = Vec::new();
        for def in &f.defs {
            if env.defined.iter().any(|(n, ..)| *n == def.name.node) {
                let first = f.defs.iter().find(|d| d.name.node == def.name.node).map_or(def.name.span, |d| d.name.span);
                self.error(
                    Diagnostic::new(
                        Code::DuplicateName,
                        def.name.span,
                        format!("feature `{}` is defined twice", def.name.node),
                    )
                    .label("defined again")
                    .also(first, "first defined here"),
                );
                continue;
            }
            let mut reads = BTreeSet::new();
            let Some((expr, ty)) = self.feature_expr(&def.value, &env, &mut reads) else {
                // Keep the name known so later features do not report it again.
                env.defined.push((def.name.node.clone(), T::Numeric, reads));
                self.broken_features.insert(def.name.node.clone());
                continue;
            };
            if ty == T::Text {
                self.error(
                    Diagnostic::new(
                        Code::StringFeature,
                        def.value.span,
                        format!("feature `{}` is text, which a model cannot use", def.name.node),
                    )
                    .label("this yields text")
                    .hint("turn text into a category with `category(...)` or `extract(text, \"regex\")`"),
                );
            }
            env.defined.push((def.name.node.clone(), ty, reads.clone()));
            features.push(Feature { name: def.name.node.clone(), ty, expr, reads: reads.into_iter().collect() });
        }
        if f.defs.is_empty() {
            self.error(
                Diagnostic::new(Code::MissingDecl, f.name.span, format!("features `{}` defines nothing", f.name.node))
                    .label("no features"),
            );
        }
        self.program.features.push(FeatureSet { name: f.name.node.clone(), schema: schema.name.clone(), features });
    }

    fn feature_expr(&mut self, e: &Expr, env: &Env<'_>, reads: &mut BTreeSet<String>) -> Option<(F, T)> {
        match &e.node {
            ExprKind::Number { value, unit } => match unit {
                Unit::None => Some((F::Number(*value), T::Numeric)),
                Unit::Percent => Some((F::Number(value / 100.0), T::Numeric)),
                Unit::Unknown(_) => self.number(e).map(|_| (F::Number(*value), T::Numeric)),
                _ => {
                    self.error(
                        Diagnostic::new(
                            Code::UnitMismatch,
                            e.span,
                            format!("{} has no meaning in a feature", describe_expr(e)),
                        )
                        .label("a unit in a feature")
                        .hint("features are computed from one event's fields; write a plain number"),
                    );
                    None
                }
            },
            ExprKind::Str(s) => Some((F::Text(s.clone()), T::Text)),
            ExprKind::Bool(b) => Some((F::Bool(*b), T::Bool)),
            ExprKind::Name(n) => {
                if let Some(i) = env.defined.iter().position(|(d, ..)| d == n) {
                    reads.extend(env.defined[i].2.iter().cloned());
                    return Some((F::Feature { index: i, name: n.clone() }, env.defined[i].1));
                }
                if let Some(i) = env.schema.index_of(n) {
                    let field = &env.schema.fields[i];
                    reads.insert(n.clone());
                    let ty = match field.ty {
                        FieldType::F64 | FieldType::I64 => T::Numeric,
                        FieldType::Str => T::Text,
                        FieldType::Bool => T::Bool,
                        FieldType::Category(_) => T::Category,
                    };
                    return Some((F::Field { index: i, name: n.clone() }, ty));
                }
                let candidates = env
                    .schema
                    .fields
                    .iter()
                    .map(|f| f.name.as_str())
                    .chain(env.defined.iter().map(|(d, ..)| d.as_str()));
                self.error(
                    Diagnostic::new(
                        Code::UnknownField,
                        e.span,
                        format!("schema `{}` has no field `{n}`", env.schema.name),
                    )
                    .label("not a field or an earlier feature")
                    .maybe_hint(did_you_mean(n, candidates)),
                );
                None
            }
            ExprKind::Unary { op, operand } => {
                let (x, t) = self.feature_expr(operand, env, reads)?;
                match op {
                    UnaryOp::Neg | UnaryOp::Pos => {
                        self.expect_type(operand, t, T::Numeric)?;
                        Some((if *op == UnaryOp::Neg { F::Neg(Box::new(x)) } else { x }, T::Numeric))
                    }
                    UnaryOp::Not => {
                        self.expect_type(operand, t, T::Bool)?;
                        Some((F::Not(Box::new(x)), T::Bool))
                    }
                }
            }
            ExprKind::Binary { op, lhs, rhs } => {
                let l = self.feature_expr(lhs, env, reads);
                let r = self.feature_expr(rhs, env, reads);
                let ((lx, lt), (rx, rt)) = (l?, r?);
                let (bop, ty) = match op {
                    BinaryOp::Add | BinaryOp::Sub | BinaryOp::Mul | BinaryOp::Div => {
                        let a = self.expect_type(lhs, lt, T::Numeric);
                        let b = self.expect_type(rhs, rt, T::Numeric);
                        a?;
                        b?;
                        let bop = match op {
                            BinaryOp::Add => BinOp::Add,
                            BinaryOp::Sub => BinOp::Sub,
                            BinaryOp::Mul => BinOp::Mul,
                            _ => BinOp::Div,
                        };
                        (bop, T::Numeric)
                    }
                    BinaryOp::Lt | BinaryOp::Le | BinaryOp::Gt | BinaryOp::Ge => {
                        let a = self.expect_type(lhs, lt, T::Numeric);
                        let b = self.expect_type(rhs, rt, T::Numeric);
                        a?;
                        b?;
                        let bop = match op {
                            BinaryOp::Lt => BinOp::Lt,
                            BinaryOp::Le => BinOp::Le,
                            BinaryOp::Gt => BinOp::Gt,
                            _ => BinOp::Ge,
                        };
                        (bop, T::Bool)
                    }
                    BinaryOp::Eq | BinaryOp::Ne => {
                        let comparable = lt == rt || matches!((lt, rt), (T::Text | T::Category, T::Text | T::Category));
                        if !comparable {
                            self.error(
                                Diagnostic::new(
                                    Code::TypeMismatch,
                                    e.span,
                                    format!("cannot compare {} with {}", lt.describe(), rt.describe()),
                                )
                                .label("different types"),
                            );
                            return None;
                        }
                        (if *op == BinaryOp::Eq { BinOp::Eq } else { BinOp::Ne }, T::Bool)
                    }
                    BinaryOp::And | BinaryOp::Or => {
                        let a = self.expect_type(lhs, lt, T::Bool);
                        let b = self.expect_type(rhs, rt, T::Bool);
                        a?;
                        b?;
                        (if *op == BinaryOp::And { BinOp::And } else { BinOp::Or }, T::Bool)
                    }
                    BinaryOp::Arrow => {
                        self.error(
                            Diagnostic::new(Code::TypeMismatch, e.span, "`->` has no meaning in a feature")
                                .label("a transition, used in traffic patterns"),
                        );
                        return None;
                    }
                };
                Some((F::Binary { op: bop, lhs: Box::new(lx), rhs: Box::new(rx) }, ty))
            }
            ExprKind::Call { callee, args } => {
                let ExprKind::Name(name) = &callee.node else {
                    self.error(
                        Diagnostic::new(Code::UnknownFunction, callee.span, "only named functions can be called")
                            .label("not a function name"),
                    );
                    return None;
                };
                if let Some(a) = args.iter().find_map(|a| a.name.as_ref()) {
                    self.error(
                        Diagnostic::new(
                            Code::UnknownProperty,
                            a.span,
                            format!("feature functions take no named arguments; `{name}` got `{}`", a.node),
                        )
                        .label("named argument"),
                    );
                    return None;
                }
                if name == "extract" {
                    return self.extract(e, args, env, reads);
                }
                let Some(&(_, func, min, max)) = FUNCS.iter().find(|(n, ..)| n == name) else {
                    let names = FUNCS.iter().map(|(n, ..)| *n).chain(["extract"]);
                    self.error(
                        Diagnostic::new(Code::UnknownFunction, callee.span, format!("unknown function `{name}`"))
                            .label("not a feature function")
                            .hint(did_you_mean(name, names.clone()).unwrap_or_else(|| {
                                format!("feature functions: {}", names.collect::<Vec<_>>().join(", "))
                            })),
                    );
                    return None;
                };
                if args.len() < min || args.len() > max {
                    let want = match (min, max) {
                        (1, 1) => "1 argument".to_string(),
                        _ if min == max => format!("{min} arguments"),
                        _ => format!("{min} to {max} arguments"),
                    };
                    self.error(
                        Diagnostic::new(Code::WrongArity, e.span, format!("`{name}` takes {want}, got {}", args.len()))
                            .label("wrong number of arguments"),
                    );
                    return None;
                }
                let mut typed = Vec::new();
                for a in args {
                    typed.push(self.feature_expr(&a.value, env, reads));
                }
                let typed: Vec<(F, T)> = typed.into_iter().collect::<Option<_>>()?;
                let ty = self.call_type(e, func, args, &typed)?;
                Some((F::Call { func, args: typed.into_iter().map(|(x, _)| x).collect() }, ty))
            }
            ExprKind::List(_) | ExprKind::Map(_) | ExprKind::Member { .. } => {
                self.error(
                    Diagnostic::new(
                        Code::TypeMismatch,
                        e.span,
                        format!("{} has no meaning in a feature", describe_expr(e)),
                    )
                    .label("not a feature expression"),
                );
                None
            }
        }
    }

    /// The result type of a feature function, checking its argument types.
    fn call_type(&mut self, e: &Expr, func: Func, args: &[crate::ast::Arg], typed: &[(F, T)]) -> Option<T> {
        let want = |i: usize| typed[i].1;
        match func {
            Func::If => {
                self.expect_type(&args[0].value, want(0), T::Bool)?;
                if want(1) != want(2) {
                    self.error(
                        Diagnostic::new(
                            Code::TypeMismatch,
                            e.span,
                            format!("`if` branches differ: {} and {}", want(1).describe(), want(2).describe()),
                        )
                        .label("both branches must have one type"),
                    );
                    return None;
                }
                Some(want(1))
            }
            Func::IsMissing => Some(T::Bool),
            Func::Coalesce => {
                if want(0) != want(1) {
                    self.error(
                        Diagnostic::new(Code::TypeMismatch, e.span, "`coalesce` needs two values of one type")
                            .label("types differ"),
                    );
                    return None;
                }
                Some(want(0))
            }
            Func::Len | Func::Lower | Func::Contains | Func::Category => {
                for (i, a) in args.iter().enumerate() {
                    if !matches!(want(i), T::Text | T::Category) {
                        self.expect_type(&a.value, want(i), T::Text)?;
                    }
                }
                Some(match func {
                    Func::Len => T::Numeric,
                    Func::Lower => T::Text,
                    Func::Contains => T::Bool,
                    _ => T::Category,
                })
            }
            _ => {
                for (i, a) in args.iter().enumerate() {
                    self.expect_type(&a.value, want(i), T::Numeric)?;
                }
                Some(T::Numeric)
            }
        }
    }

    fn extract(
        &mut self,
        e: &Expr,
        args: &[crate::ast::Arg],
        env: &Env<'_>,
        reads: &mut BTreeSet<String>,
    ) -> Option<(F, T)> {
        if args.len() != 2 {
            self.error(
                Diagnostic::new(
                    Code::WrongArity,
                    e.span,
                    format!("`extract` takes 2 arguments (text, \"regex\"), got {}", args.len()),
                )
                .label("wrong number of arguments"),
            );
            return None;
        }
        let (input, it) = self.feature_expr(&args[0].value, env, reads)?;
        if !matches!(it, T::Text | T::Category) {
            self.expect_type(&args[0].value, it, T::Text)?;
        }
        let pattern = self.string(&args[1].value, "the pattern of `extract`")?;
        // Parsing validates the pattern; compiling it would cost far more, and happens in the engine.
        if let Err(err) = regex_syntax::Parser::new().parse(&pattern) {
            let msg = err.to_string();
            let last = msg.lines().last().unwrap_or("invalid pattern").trim();
            let last = last.strip_prefix("error: ").unwrap_or(last).to_string();
            self.error(
                Diagnostic::new(Code::BadRegex, args[1].value.span, format!("invalid regular expression: {last}"))
                    .label("this pattern")
                    .hint("`extract` uses Rust regex syntax; the first capture group becomes the category"),
            );
            return None;
        }
        Some((F::Extract { input: Box::new(input), pattern }, T::Category))
    }

    fn expect_type(&mut self, e: &Expr, found: T, want: T) -> Option<()> {
        if found == want {
            return Some(());
        }
        let hint = match (found, want) {
            (T::Bool, T::Numeric) => Some("turn a boolean into a number with `if(x, 1, 0)`"),
            (T::Text, T::Numeric) | (T::Category, T::Numeric) => {
                Some("text and categories cannot take part in arithmetic; compare them with `==` instead")
            }
            _ => None,
        };
        let mut d = Diagnostic::new(
            Code::TypeMismatch,
            e.span,
            format!("expected {}, found {}", want.describe(), found.describe()),
        )
        .label(format!("this is {}", found.describe()));
        if let Some(h) = hint {
            d = d.hint(h);
        }
        self.error(d);
        None
    }
}
