//! `drift NAME on TARGET window WINDOW { rules }`.

use super::values::{as_call, describe_expr, Dim};
use super::{Checker, Kind};
use crate::ast::{Arg, BinaryOp, DriftDecl, Expr, ExprKind, Ident, Rule as AstRule, Span};
use crate::diagnostics::{did_you_mean, suggest_or_list, Code, Diagnostic};
use crate::drift::{statistic, statistics};
use crate::program::FeatureType;
use crate::program::{
    CmpOp, Drift, DriftRule, DriftTarget, FieldType, Measure, Statistic, Window, WindowShape, EXACT, EXACT_STATISTICS,
};

impl Checker<'_> {
    pub(super) fn drift(&mut self, d: &DriftDecl) {
        let target = self.drift_target(d);
        let window = self.window(&d.window);
        let mut rules = Vec::new();
        for r in &d.rules {
            if let Some(rule) = self.drift_rule(r) {
                rules.push(rule);
            }
        }
        if d.rules.is_empty() {
            self.error(
                Diagnostic::new(Code::MissingDecl, d.name.span, format!("drift `{}` has no rules", d.name.node))
                    .label("nothing to check")
                    .hint("add a rule such as `psi(bins: 10) > 0.2 => alert`"),
            );
        }
        if let (Some((target, categorical)), Some(window)) = (target, window) {
            if categorical {
                for (r, rule) in d.rules.iter().zip(&rules) {
                    if rule.statistic.name != "psi" {
                        self.error(
                            Diagnostic::new(
                                Code::TypeMismatch,
                                r.condition.span,
                                "this statistic needs a numeric target; over categories only PSI is defined",
                            )
                            .label("on a categorical target")
                            .also(d.target_span, "this target is categorical")
                            .hint("use `psi(...)`, which works over categories"),
                        );
                    }
                }
            }
            let ks_rules: Vec<(&AstRule, &DriftRule)> = d
                .rules
                .iter()
                .zip(&rules)
                .filter(|(_, r)| EXACT_STATISTICS.contains(&r.statistic.name.as_str()))
                .collect();
            let exact = |r: &DriftRule| r.statistic.param(EXACT).is_some();
            if let Some(((first, _), (other, _))) =
                ks_rules.iter().find(|(_, r)| exact(r)).zip(ks_rules.iter().find(|(_, r)| !exact(r)))
            {
                self.error(
                    Diagnostic::new(
                        Code::TypeMismatch,
                        other.condition.span,
                        "one drift has one KS distance: this rule uses the quantile grid, another `exact`",
                    )
                    .label("on the grid")
                    .also(first.condition.span, "exact")
                    .hint("write `exact` in every KS rule of this drift, or in none; or monitor the target twice"),
                );
                return;
            }
            if rules.len() == d.rules.len() {
                self.program.drifts.push(Drift { name: d.name.node.clone(), target, categorical, window, rules });
            }
        }
    }

    /// The monitored value, and whether it is categorical.
    fn drift_target(&mut self, d: &DriftDecl) -> Option<(DriftTarget, bool)> {
        let parts: Vec<&str> = d.target.iter().map(|p| p.node.as_str()).collect();
        let span = d.target_span;
        let models = self.program.models.clone();
        let found = match parts.as_slice() {
            ["prediction"] => match models.as_slice() {
                [m] => Some((DriftTarget::Prediction { model: m.name.clone() }, false)),
                // The model is declared, but has errors of its own.
                [] if !self.names_of(Kind::Model).is_empty() => return None,
                [] => {
                    self.error(
                        Diagnostic::new(Code::BadTarget, span, "there is no model whose prediction to monitor")
                            .label("no model declared"),
                    );
                    return None;
                }
                many => {
                    self.error(
                        Diagnostic::new(Code::BadTarget, span, "several models predict; say which")
                            .label("ambiguous")
                            .hint(format!("write `{}.prediction`", many[0].name)),
                    );
                    return None;
                }
            },
            [owner, "prediction"] if models.iter().any(|m| m.name == *owner) => {
                Some((DriftTarget::Prediction { model: owner.to_string() }, false))
            }
            [set, name] if self.program.feature_set(set).is_some() => {
                let fs = self.program.feature_set(set).cloned()?;
                fs.features.iter().find(|f| f.name == *name).map(|f| {
                    (
                        DriftTarget::Feature { set: set.to_string(), feature: name.to_string() },
                        f.ty != FeatureType::Numeric,
                    )
                })
            }
            [schema, name] if self.program.schema(schema).is_some() => {
                let s = self.program.schema(schema).cloned()?;
                s.field(name).map(|f| {
                    (DriftTarget::Field { schema: schema.to_string(), field: name.to_string() }, !f.ty.is_numeric())
                })
            }
            [name] => self.find_target(name),
            _ => None,
        };
        let Some((target, categorical)) = found else {
            let last = parts.last().copied().unwrap_or("");
            // A schema or features block with errors of its own may define it.
            if self.broken_features.contains(last) || self.fields_incomplete() {
                return None;
            }
            // `set.name` or `schema.name` where the first part exists: list what it has.
            let members: Option<(&str, Vec<String>)> = match parts.as_slice() {
                [owner, _] => match (self.program.feature_set(owner), self.program.schema(owner)) {
                    (Some(fs), _) => Some(("features", fs.features.iter().map(|f| f.name.clone()).collect())),
                    (None, Some(s)) => Some(("fields", s.fields.iter().map(|f| f.name.clone()).collect())),
                    _ => None,
                },
                _ => None,
            };
            if let Some((what, names)) = members {
                let hint = did_you_mean(last, names.iter().map(String::as_str))
                    .unwrap_or_else(|| format!("the {what} of `{}` are {}", parts[0], names.join(", ")));
                self.error(
                    Diagnostic::new(
                        Code::BadTarget,
                        span,
                        format!("`{}` has no {} `{last}`", parts[0], what.trim_end_matches('s')),
                    )
                    .label("unknown drift target")
                    .hint(hint),
                );
                return None;
            }
            let mut candidates: Vec<String> = vec!["prediction".into()];
            for s in &self.program.schemas {
                candidates.extend(s.fields.iter().map(|f| f.name.clone()));
            }
            for f in &self.program.features {
                candidates.extend(f.features.iter().map(|x| x.name.clone()));
            }
            self.error(
                Diagnostic::new(
                    Code::BadTarget,
                    span,
                    format!("`{}` is not a field, a feature or a prediction", parts.join(".")),
                )
                .label("unknown drift target")
                .maybe_hint(did_you_mean(last, candidates.iter().map(String::as_str))),
            );
            return None;
        };
        if let DriftTarget::Field { schema, field } = &target {
            let ty = self.program.schema(schema).and_then(|s| s.field(field)).map(|f| f.ty.clone());
            if ty == Some(FieldType::Str) {
                self.error(
                    Diagnostic::new(
                        Code::BadTarget,
                        span,
                        format!("`{field}` is free text, which has no distribution to compare"),
                    )
                    .label("a text field")
                    .hint("monitor a feature that extracts a category from it"),
                );
                return None;
            }
        }
        Some((target, categorical))
    }

    /// A bare name: a schema field (models' schemas first), then a feature.
    fn find_target(&self, name: &str) -> Option<(DriftTarget, bool)> {
        let mut schemas: Vec<&str> = self
            .program
            .models
            .iter()
            .filter_map(|m| self.program.feature_set(&m.features).map(|f| f.schema.as_str()))
            .collect();
        schemas.extend(self.program.schemas.iter().map(|s| s.name.as_str()));
        for s in schemas {
            if let Some(f) = self.program.schema(s).and_then(|sc| sc.field(name)) {
                return Some((
                    DriftTarget::Field { schema: s.to_string(), field: name.to_string() },
                    !f.ty.is_numeric(),
                ));
            }
        }
        for set in &self.program.features {
            if let Some(f) = set.features.iter().find(|f| f.name == name) {
                return Some((
                    DriftTarget::Feature { set: set.name.clone(), feature: name.to_string() },
                    f.ty != FeatureType::Numeric,
                ));
            }
        }
        None
    }

    /// `sliding(SIZE, every: STEP, lateness: D)` or `tumbling(SIZE, lateness: D)`;
    /// SIZE is `N events` or a duration of event time.
    fn window(&mut self, e: &Expr) -> Option<Window> {
        let Some((callee, args)) = as_call(e) else {
            self.error(
                Diagnostic::new(Code::TypeMismatch, e.span, "expected a window: sliding(...) or tumbling(...)")
                    .label(format!("found {}", describe_expr(e))),
            );
            return None;
        };
        let shape = match callee.node.as_str() {
            "sliding" => WindowShape::Sliding,
            "tumbling" => WindowShape::Tumbling,
            other => {
                self.error(
                    Diagnostic::new(Code::UnknownFunction, callee.span, format!("unknown window `{other}`"))
                        .label("not a window")
                        .hint(suggest_or_list(other, ["sliding", "tumbling"], "windows")),
                );
                return None;
            }
        };
        let named: &[&str] = if shape == WindowShape::Sliding { &["every", "lateness"] } else { &["lateness"] };
        let a = self.args(&callee, args, &["size"], named);
        let size_e = a.require(self, "size")?;
        let (size, dim) = self.number(size_e)?;
        let measure = match dim {
            Dim::Events | Dim::Plain => Measure::Events,
            Dim::Duration => Measure::EventTime,
            other => {
                self.error(
                    Diagnostic::new(
                        Code::UnitMismatch,
                        size_e.span,
                        format!("a window is a number of events or a duration, not {}", other.describe()),
                    )
                    .label("wrong unit")
                    .hint("write `10_000 events` or `10m`"),
                );
                return None;
            }
        };
        let size = self.window_length(size_e, size, measure)?;
        let every = match (shape, a.get("every")) {
            (WindowShape::Tumbling, _) => size,
            (WindowShape::Sliding, None) => {
                self.error(
                    Diagnostic::new(Code::MissingProperty, callee.span, "`sliding` needs the argument `every`")
                        .label("`every` is missing")
                        .hint("say how far the window moves, as in `sliding(10_000 events, every: 1_000)`, or use `tumbling(...)`"),
                );
                return None;
            }
            (WindowShape::Sliding, Some(ev)) => {
                let (v, d) = self.number(ev)?;
                let fits = match measure {
                    Measure::Events => matches!(d, Dim::Events | Dim::Plain),
                    Measure::EventTime => d == Dim::Duration,
                };
                if !fits {
                    let want = if measure == Measure::Events { Dim::Events } else { Dim::Duration };
                    self.error(
                        Diagnostic::new(
                            Code::UnitMismatch,
                            ev.span,
                            format!(
                                "the window is {}, so `every` must be {} too; found {}",
                                want.describe(),
                                want.describe(),
                                d.describe()
                            ),
                        )
                        .label("wrong unit"),
                    );
                    return None;
                }
                self.window_length(ev, v, measure)?
            }
        };
        let show = |n: u64| length_in_words(n, measure);
        if every > size {
            self.error(
                Diagnostic::new(Code::OutOfRange, e.span, "a window cannot slide by more than its length")
                    .label(format!("slides by {}, but is {} long", show(every), show(size))),
            );
            return None;
        }
        if size % every != 0 {
            let (lower, upper) = (size / every * every, (size / every + 1) * every);
            self.error(
                Diagnostic::new(Code::OutOfRange, e.span, "a sliding window's length must be a whole number of slides")
                    .label(format!("{} is not a multiple of {}", show(size), show(every)))
                    .hint(format!("use a length of {} or {}", show(lower), show(upper))),
            );
            return None;
        }
        let lateness_ms = match a.get("lateness") {
            None => 0,
            Some(l) if measure == Measure::Events => {
                self.error(
                    Diagnostic::new(
                        Code::Conflict,
                        l.span,
                        "`lateness` applies to windows of event time, not of event counts",
                    )
                    .label("on a window of events")
                    .also(size_e.span, "a number of events")
                    .hint("drop `lateness`, or measure the window in time: `tumbling(10m, lateness: 30s)`"),
                );
                return None;
            }
            Some(l) => self.duration_ms(l, "`lateness`")?,
        };
        Some(Window { shape, measure, size, every, lateness_ms })
    }

    fn window_length(&mut self, e: &Expr, v: f64, measure: Measure) -> Option<u64> {
        if v < 1.0 || v.fract() != 0.0 || v > 1e12 {
            let unit = if measure == Measure::Events { "events" } else { "milliseconds" };
            self.error(
                Diagnostic::new(
                    Code::OutOfRange,
                    e.span,
                    format!("a window length is a whole number of {unit}, at least 1"),
                )
                .label(format!("{v}")),
            );
            return None;
        }
        Some(v as u64)
    }

    /// `psi(bins: 10) > 0.2`, `ks(p: 0.01)`, `ks(cells: 1000) > 0.1`, each `=> action`.
    fn drift_rule(&mut self, r: &AstRule) -> Option<DriftRule> {
        let action = self.action(&r.action);
        let for_windows = r.for_windows.as_ref().map_or(Some(1), |f| self.count(f, "`for N windows`", 1));
        let (statistic, op, threshold) = match &r.condition.node {
            ExprKind::Binary { op, lhs, rhs } if cmp_op(*op).is_some() => {
                let stat = self.statistic(lhs)?;
                let threshold = self.plain(rhs, "a drift threshold")?;
                if threshold < 0.0 {
                    self.error(
                        Diagnostic::new(Code::OutOfRange, rhs.span, "drift statistics are never negative")
                            .label("negative threshold"),
                    );
                    return None;
                }
                (stat, cmp_op(*op)?, threshold)
            }
            ExprKind::Call { .. } => {
                let (callee, args) = as_call(&r.condition)?;
                if callee.node != "ks" {
                    self.error(
                        Diagnostic::new(
                            Code::TypeMismatch,
                            r.condition.span,
                            format!("`{}(...)` alone is no condition", callee.node),
                        )
                        .label("compare it with a threshold")
                        .hint(format!("write `{}(...) > 0.2`", callee.node)),
                    );
                    return None;
                }
                let (exact, args) = self.exact_flag(&callee, "ks", args)?;
                let a = self.args(&callee, &args, &[], &["p", "cells"]);
                let Some(p_e) = a.get("p") else {
                    self.error(
                        Diagnostic::new(
                            Code::MissingProperty,
                            r.condition.span,
                            "a bare `ks(...)` rule needs a p-value: `ks(p: 0.01)`",
                        )
                        .label("no `p:`")
                        .hint("or compare the statistic: `ks() > 0.1`"),
                    );
                    return None;
                };
                let p = self.plain(p_e, "a p-value")?;
                if !(0.0..=1.0).contains(&p) {
                    self.error(
                        Diagnostic::new(Code::OutOfRange, p_e.span, "a p-value lies between 0 and 1")
                            .label(format!("{p}")),
                    );
                    return None;
                }
                let ks_p = statistics::find("ks_p").expect("ks_p is registered");
                let statistic = self.statistic_params(ks_p, |name| a.get(name))?;
                (self.with_exact(statistic, exact, a.get("cells"))?, CmpOp::Lt, p)
            }
            _ => {
                self.error(
                    Diagnostic::new(Code::TypeMismatch, r.condition.span, "expected a drift condition")
                        .label(format!("found {}", describe_expr(&r.condition)))
                        .hint("write `psi(bins: 10) > 0.2` or `ks(p: 0.01)`"),
                );
                return None;
            }
        };
        Some(DriftRule { statistic, op, threshold, for_windows: for_windows? as u32, action: action? })
    }

    /// A statistic of `drift::statistic::ALL` with its settings, each checked against what the
    /// statistic declares (`psi(bins: 10)`, `ks(cells: 1000)`, `wasserstein()`).
    fn statistic(&mut self, e: &Expr) -> Option<Statistic> {
        let Some((callee, args)) = as_call(e) else {
            self.error(
                Diagnostic::new(
                    Code::TypeMismatch,
                    e.span,
                    "expected a drift statistic such as `psi(...)` or `ks(...)`",
                )
                .label(format!("found {}", describe_expr(e))),
            );
            return None;
        };
        let Some(found) = statistics::find(&callee.node) else {
            let names: Vec<&str> = statistics::names().collect();
            self.error(
                Diagnostic::new(
                    Code::UnknownFunction,
                    callee.span,
                    format!("unknown drift statistic `{}`", callee.node),
                )
                .label("not a statistic")
                .hint(suggest_or_list(&callee.node, names.iter().copied(), "statistics")),
            );
            return None;
        };
        let declared: Vec<&str> = found.params().iter().map(|p| p.name).collect();
        let (exact, args) = self.exact_flag(&callee, found.name(), args)?;
        let a = self.args(&callee, &args, &[], &declared);
        let statistic = self.statistic_params(found, |name| a.get(name))?;
        self.with_exact(statistic, exact, a.get("cells"))
    }

    /// Takes a bare `exact` out of a statistic's arguments: `ks(exact)`, `ks_p(exact)`,
    /// `ks(exact, p: 0.01)`. Only the KS statistics have an exact form.
    fn exact_flag(&mut self, callee: &Ident, statistic: &str, args: &[Arg]) -> Option<(Option<Span>, Vec<Arg>)> {
        let is_exact = |a: &Arg| a.name.is_none() && matches!(&a.value.node, ExprKind::Name(n) if n == "exact");
        let exact = args.iter().find(|a| is_exact(a)).map(|a| a.value.span);
        if let Some(span) = exact {
            if !EXACT_STATISTICS.contains(&statistic) {
                self.error(
                    Diagnostic::new(Code::UnknownProperty, span, format!("`{}` has no exact form", callee.node))
                        .label("not for this statistic")
                        .hint("`exact` compares with every reference value; `ks(exact)` and `ks_p(exact)` take it"),
                );
                return None;
            }
        }
        Some((exact, args.iter().filter(|a| !is_exact(a)).cloned().collect()))
    }

    /// A KS statistic against the whole reference sample: `exact` replaces `cells`.
    fn with_exact(&mut self, mut statistic: Statistic, exact: Option<Span>, cells: Option<&Expr>) -> Option<Statistic> {
        if exact.is_none() {
            return Some(statistic);
        }
        if let Some(cells) = cells {
            self.error(
                Diagnostic::new(Code::OutOfRange, cells.span, "`exact` compares with every reference value: no cells")
                    .label("cells of the quantile grid")
                    .hint("drop `cells:`, or drop `exact` to use the grid"),
            );
            return None;
        }
        statistic.params.remove("cells");
        statistic.params.insert(EXACT.to_string(), 1);
        Some(statistic)
    }

    /// The settings of `found`, defaults filled in, each within its bounds.
    fn statistic_params<'e>(
        &mut self,
        found: &dyn statistic::DriftStatistic,
        get: impl Fn(&str) -> Option<&'e Expr>,
    ) -> Option<Statistic> {
        let mut params = std::collections::BTreeMap::new();
        for p in found.params() {
            let value = match get(p.name) {
                None => p.default,
                Some(e) => {
                    let v = self.count(e, &format!("`{}`", p.name), u64::from(p.min))?;
                    if v > u64::from(p.max) {
                        self.error(
                            Diagnostic::new(Code::OutOfRange, e.span, format!("at most {} {}", p.max, p.name))
                                .label(format!("{v} {}", p.name)),
                        );
                        return None;
                    }
                    v as u32
                }
            };
            params.insert(p.name.to_string(), value);
        }
        Some(Statistic { name: found.name().to_string(), params })
    }
}

/// A window length as written: `9000 events`, or a duration.
fn length_in_words(n: u64, measure: Measure) -> String {
    match measure {
        Measure::Events => format!("{n} events"),
        Measure::EventTime => duration_in_words(n),
    }
}

/// Milliseconds as written, in the largest unit that divides them: `9m`, `90s`, `1500ms`.
pub(super) fn duration_in_words(ms: u64) -> String {
    match ms {
        0 => "0s".to_string(),
        _ if ms.is_multiple_of(3_600_000) => format!("{}h", ms / 3_600_000),
        _ if ms.is_multiple_of(60_000) => format!("{}m", ms / 60_000),
        _ if ms.is_multiple_of(1_000) => format!("{}s", ms / 1_000),
        _ => format!("{ms}ms"),
    }
}

pub(super) fn cmp_op(op: BinaryOp) -> Option<CmpOp> {
    Some(match op {
        BinaryOp::Lt => CmpOp::Lt,
        BinaryOp::Le => CmpOp::Le,
        BinaryOp::Gt => CmpOp::Gt,
        BinaryOp::Ge => CmpOp::Ge,
        BinaryOp::Eq => CmpOp::Eq,
        BinaryOp::Ne => CmpOp::Ne,
        _ => return None,
    })
}
