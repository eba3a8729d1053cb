//! Constant values with units, and call arguments by name: the helpers every
//! declaration checker uses to read its settings.

use super::Checker;
use crate::ast::{Arg, BinaryOp, Expr, ExprKind, Ident, Span, UnaryOp, Unit};
use crate::diagnostics::{did_you_mean, Code, Diagnostic};
use std::collections::HashMap;

/// The dimension of a constant number, after unit conversion.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dim {
    Plain,
    /// Milliseconds.
    Duration,
    /// Per second.
    Rate,
    /// A percentage, stored as a fraction.
    Percent,
    Events,
    /// A size in bytes.
    Bytes,
}

impl Dim {
    pub fn describe(self) -> &'static str {
        match self {
            Dim::Plain => "a plain number",
            Dim::Duration => "a duration",
            Dim::Rate => "a rate",
            Dim::Percent => "a percentage",
            Dim::Events => "a number of events",
            Dim::Bytes => "a size in bytes",
        }
    }

    fn example(self) -> &'static str {
        match self {
            Dim::Plain => "`10`",
            Dim::Duration => "`250ms`, `10s`, `5m` or `1h`",
            Dim::Rate => "`500/s` or `20k/s`",
            Dim::Percent => "`5%`",
            Dim::Events => "`10_000 events`",
            Dim::Bytes => "`100MB`, `500kB` or `1GB`",
        }
    }
}

/// The callee name and arguments of a call to a plain name.
pub fn as_call(e: &Expr) -> Option<(Ident, &[Arg])> {
    match &e.node {
        ExprKind::Call { callee, args } => match &callee.node {
            ExprKind::Name(n) => Some((Ident::new(n.clone(), callee.span), args.as_slice())),
            _ => None,
        },
        _ => None,
    }
}

/// A bare name.
pub fn as_name(e: &Expr) -> Option<Ident> {
    match &e.node {
        ExprKind::Name(n) => Some(Ident::new(n.clone(), e.span)),
        _ => None,
    }
}

impl Checker<'_> {
    /// Folds a constant number: literals, unary signs, and products/quotients with plain numbers.
    pub fn number(&mut self, e: &Expr) -> Option<(f64, Dim)> {
        match &e.node {
            ExprKind::Number { value, unit } => {
                let (v, d) = match unit {
                    Unit::None => (*value, Dim::Plain),
                    Unit::Millis => (*value, Dim::Duration),
                    Unit::Seconds => (value * 1e3, Dim::Duration),
                    Unit::Minutes => (value * 60e3, Dim::Duration),
                    Unit::Hours => (value * 3600e3, Dim::Duration),
                    Unit::PerSecond => (*value, Dim::Rate),
                    Unit::PerMinute => (value / 60.0, Dim::Rate),
                    Unit::PerHour => (value / 3600.0, Dim::Rate),
                    Unit::Percent => (value / 100.0, Dim::Percent),
                    Unit::Events => (*value, Dim::Events),
                    Unit::Bytes => (*value, Dim::Bytes),
                    Unit::Unknown(s) => {
                        let hint = unit_alias(s)
                            .or_else(|| {
                                did_you_mean(s, ["ms", "s", "m", "h", "k", "M", "/s", "/m", "/h", "%", "B", "kB", "MB", "GB"])
                            })
                            .unwrap_or_else(|| {
                                "units are ms, s, m, h (durations), /s, /m, /h (rates), %, B, kB, MB, GB (sizes) and the magnitudes k and M"
                                    .into()
                            });
                        self.error(
                            Diagnostic::new(Code::UnknownUnit, e.span, format!("unknown unit `{s}`"))
                                .label("not a unit")
                                .hint(hint),
                        );
                        return None;
                    }
                };
                self.finite(e, v).map(|v| (v, d))
            }
            ExprKind::Unary { op: UnaryOp::Neg, operand } => self.number(operand).map(|(v, d)| (-v, d)),
            ExprKind::Unary { op: UnaryOp::Pos, operand } => self.number(operand),
            ExprKind::Binary { op: op @ (BinaryOp::Mul | BinaryOp::Div), lhs, rhs } => {
                let (a, da) = self.number(lhs)?;
                let (b, db) = self.number(rhs)?;
                let v = if *op == BinaryOp::Mul { a * b } else { a / b };
                match (da, db, op) {
                    (d, Dim::Plain, _) => self.finite(e, v).map(|v| (v, d)),
                    (Dim::Plain, d, BinaryOp::Mul) => self.finite(e, v).map(|v| (v, d)),
                    _ => {
                        self.error(
                            Diagnostic::new(
                                Code::UnitMismatch,
                                e.span,
                                format!("cannot combine {} with {} here", da.describe(), db.describe()),
                            )
                            .label("units do not combine"),
                        );
                        None
                    }
                }
            }
            _ => {
                self.error(
                    Diagnostic::new(Code::TypeMismatch, e.span, "expected a number")
                        .label(format!("found {}", describe_expr(e))),
                );
                None
            }
        }
    }

    /// `v` unless it overflowed to infinity or is not a number (`0 / 0`).
    fn finite(&mut self, e: &Expr, v: f64) -> Option<f64> {
        if v.is_finite() {
            return Some(v);
        }
        let what = if v.is_nan() { "is not a number" } else { "is too large to represent" };
        self.error(Diagnostic::new(Code::OutOfRange, e.span, format!("this value {what}")).label(format!("{v}")));
        None
    }

    /// A number of the given dimension; `Plain` numbers are accepted for `Events`
    /// (a bare count) and `Percent` (a fraction).
    pub fn quantity(&mut self, e: &Expr, want: Dim, what: &str) -> Option<f64> {
        let (v, d) = self.number(e)?;
        let ok = d == want || (d == Dim::Plain && matches!(want, Dim::Events | Dim::Percent));
        if !ok {
            self.error(
                Diagnostic::new(
                    Code::UnitMismatch,
                    e.span,
                    format!("{what} must be {}, found {}", want.describe(), d.describe()),
                )
                .label(format!("expected {}", want.describe()))
                .hint(format!("write {}", want.example())),
            );
            return None;
        }
        Some(v)
    }

    pub fn duration_ms(&mut self, e: &Expr, what: &str) -> Option<u64> {
        let v = self.quantity(e, Dim::Duration, what)?;
        self.non_negative(e, v, what).map(|v| v.round() as u64)
    }

    pub fn rate(&mut self, e: &Expr, what: &str) -> Option<f64> {
        let v = self.quantity(e, Dim::Rate, what)?;
        self.positive(e, v, what)
    }

    /// A fraction in [0, 1]: `5%` or `0.05`.
    pub fn fraction(&mut self, e: &Expr, what: &str) -> Option<f64> {
        let v = self.quantity(e, Dim::Percent, what)?;
        if !(0.0..=1.0).contains(&v) {
            self.error(
                Diagnostic::new(Code::OutOfRange, e.span, format!("{what} must lie between 0% and 100%"))
                    .label(format!("{}%", v * 100.0)),
            );
            return None;
        }
        Some(v)
    }

    /// A plain number (no unit).
    pub fn plain(&mut self, e: &Expr, what: &str) -> Option<f64> {
        self.quantity(e, Dim::Plain, what)
    }

    /// A whole number ≥ `min`; `events` accepts `N events` too.
    pub fn count(&mut self, e: &Expr, what: &str, min: u64) -> Option<u64> {
        let (v, d) = self.number(e)?;
        if !matches!(d, Dim::Plain | Dim::Events) {
            self.error(
                Diagnostic::new(Code::UnitMismatch, e.span, format!("{what} must be a count, found {}", d.describe()))
                    .label("expected a whole number"),
            );
            return None;
        }
        if v.fract() != 0.0 || v < min as f64 || v > 9.0e15 {
            self.error(
                Diagnostic::new(Code::OutOfRange, e.span, format!("{what} must be a whole number ≥ {min}"))
                    .label(format!("{v}")),
            );
            return None;
        }
        Some(v as u64)
    }

    fn non_negative(&mut self, e: &Expr, v: f64, what: &str) -> Option<f64> {
        if v < 0.0 || !v.is_finite() {
            self.error(
                Diagnostic::new(Code::OutOfRange, e.span, format!("{what} cannot be negative")).label("negative"),
            );
            return None;
        }
        Some(v)
    }

    pub(crate) fn positive(&mut self, e: &Expr, v: f64, what: &str) -> Option<f64> {
        if v <= 0.0 || !v.is_finite() {
            self.error(
                Diagnostic::new(Code::OutOfRange, e.span, format!("{what} must be greater than zero"))
                    .label("not positive"),
            );
            return None;
        }
        Some(v)
    }

    pub fn string(&mut self, e: &Expr, what: &str) -> Option<String> {
        match &e.node {
            ExprKind::Str(s) => Some(s.clone()),
            _ => {
                self.error(
                    Diagnostic::new(Code::TypeMismatch, e.span, format!("{what} must be a string"))
                        .label(format!("found {}", describe_expr(e)))
                        .hint("strings are written in double quotes"),
                );
                None
            }
        }
    }

    /// One of a fixed set of bare words (`stage: model`).
    pub fn choice<'w>(&mut self, e: &Expr, what: &str, words: &[&'w str]) -> Option<&'w str> {
        let found = match &e.node {
            ExprKind::Name(n) | ExprKind::Str(n) => n.clone(),
            _ => {
                self.error(
                    Diagnostic::new(Code::TypeMismatch, e.span, format!("{what} must be one of {}", words.join(", ")))
                        .label(format!("found {}", describe_expr(e))),
                );
                return None;
            }
        };
        if let Some(w) = words.iter().find(|w| **w == found) {
            return Some(w);
        }
        self.error(
            Diagnostic::new(Code::UnknownName, e.span, format!("unknown {what} `{found}`"))
                .label(format!("expected one of {}", words.join(", ")))
                .maybe_hint(did_you_mean(&found, words.iter().copied())),
        );
        None
    }

    /// Sorts a call's arguments by parameter name. `positional` names the parameters
    /// that may be given by position, in order; `named` the others.
    pub fn args<'e>(&mut self, callee: &Ident, args: &'e [Arg], positional: &[&str], named: &[&str]) -> Args<'e> {
        let mut out = Args { by_name: HashMap::new(), callee: callee.clone() };
        let mut next_pos = 0;
        for a in args {
            let key: String = match &a.name {
                Some(n) => {
                    if !positional.contains(&n.node.as_str()) && !named.contains(&n.node.as_str()) {
                        let all = positional.iter().chain(named).copied();
                        self.error(
                            Diagnostic::new(
                                Code::UnknownProperty,
                                n.span,
                                format!("`{}` takes no argument `{}`", callee.node, n.node),
                            )
                            .label("unknown argument")
                            .hint(did_you_mean(&n.node, all.clone()).unwrap_or_else(
                                || format!("`{}` takes: {}", callee.node, all.collect::<Vec<_>>().join(", ")),
                            )),
                        );
                        continue;
                    }
                    n.node.clone()
                }
                None => {
                    let Some(p) = positional.get(next_pos) else {
                        self.error(
                            Diagnostic::new(
                                Code::WrongArity,
                                a.value.span,
                                format!("`{}` takes at most {} positional argument(s)", callee.node, positional.len()),
                            )
                            .label("extra argument")
                            .hint(format!("name it: `{}: ...`", named.first().copied().unwrap_or("name"))),
                        );
                        continue;
                    };
                    next_pos += 1;
                    p.to_string()
                }
            };
            if let Some(prev) = out.by_name.get(&key) {
                let prev_span: Span = prev.span;
                self.error(
                    Diagnostic::new(Code::DuplicateProperty, a.value.span, format!("`{key}` is given twice"))
                        .label("second value")
                        .also(prev_span, "first value"),
                );
                continue;
            }
            out.by_name.insert(key, &a.value);
        }
        out
    }
}

/// A call's arguments by parameter name.
pub struct Args<'e> {
    by_name: HashMap<String, &'e Expr>,
    callee: Ident,
}

impl<'e> Args<'e> {
    pub fn get(&self, name: &str) -> Option<&'e Expr> {
        self.by_name.get(name).copied()
    }

    /// The argument, or a "missing" diagnostic pointing at the call.
    pub fn require(&self, cx: &mut Checker<'_>, name: &str) -> Option<&'e Expr> {
        let found = self.get(name);
        if found.is_none() {
            cx.error(
                Diagnostic::new(
                    Code::MissingProperty,
                    self.callee.span,
                    format!("`{}` needs the argument `{name}`", self.callee.node),
                )
                .label(format!("`{name}` is missing")),
            );
        }
        found
    }
}

/// The unit meant by a common spelling of it (`min` → `m`), as a hint.
fn unit_alias(suffix: &str) -> Option<String> {
    let (unit, name) = match suffix.to_ascii_lowercase().as_str() {
        "msec" | "msecs" | "millis" => ("ms", "milliseconds"),
        "sec" | "secs" | "second" | "seconds" => ("s", "seconds"),
        "min" | "mins" | "minute" | "minutes" => ("m", "minutes"),
        "hr" | "hrs" | "hour" | "hours" => ("h", "hours"),
        _ => return None,
    };
    Some(format!("{name} are written `{unit}`, as in `10{unit}`"))
}

/// A short description of an expression for "found ..." labels.
pub fn describe_expr(e: &Expr) -> String {
    match &e.node {
        ExprKind::Number { unit: Unit::None, .. } => "a number".into(),
        ExprKind::Number { unit: Unit::Percent, .. } => "a percentage".into(),
        ExprKind::Number { unit: Unit::PerSecond | Unit::PerMinute | Unit::PerHour, .. } => "a rate".into(),
        ExprKind::Number { unit: Unit::Events, .. } => "a number of events".into(),
        ExprKind::Number { unit: Unit::Bytes, .. } => "a size in bytes".into(),
        ExprKind::Number { unit: Unit::Unknown(_), .. } => "a number".into(),
        ExprKind::Number { .. } => "a duration".into(),
        ExprKind::Str(_) => "a string".into(),
        ExprKind::Bool(_) => "a boolean".into(),
        ExprKind::Name(n) => format!("`{n}`"),
        ExprKind::List(_) => "a list".into(),
        ExprKind::Map(_) => "a map".into(),
        ExprKind::Call { .. } => "a call".into(),
        ExprKind::Member { .. } => "a member access".into(),
        ExprKind::Unary { .. } | ExprKind::Binary { .. } => "an expression".into(),
    }
}
