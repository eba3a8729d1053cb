//! Conditions over run metrics, as in `slo`, `guardrail ... when` and `expect`.

use super::drift::cmp_op;
use super::values::{as_call, as_name, describe_expr, Dim};
use super::{Checker, Kind};
use crate::ast::{BinaryOp, Expr, ExprKind, Ident, UnaryOp};
use crate::diagnostics::{suggest_or_list, Code, Diagnostic};
use crate::program::{Condition, Metric};

/// Where a condition appears; only for messages.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Context {
    Slo,
    Guardrail,
    Expect,
    /// A scenario's own guardrail: every metric is measured.
    Scenario,
}

const PLAIN_METRICS: &[&str] = &[
    "throughput",
    "error_rate",
    "lost_events",
    "dead_letters",
    "late_events",
    "unsent_requests",
    "online_mae",
    "rise",
];
const PERCENTILES: &[&str] = &["p50", "p90", "p95", "p99", "p999"];

impl Checker<'_> {
    pub(super) fn condition(&mut self, e: &Expr, cx: Context) -> Option<Condition> {
        match &e.node {
            ExprKind::Binary { op: BinaryOp::And, lhs, rhs } => {
                let (a, b) = (self.condition(lhs, cx), self.condition(rhs, cx));
                Some(Condition::And { all: vec![a?, b?] })
            }
            ExprKind::Binary { op: BinaryOp::Or, lhs, rhs } => {
                let (a, b) = (self.condition(lhs, cx), self.condition(rhs, cx));
                Some(Condition::Or { any: vec![a?, b?] })
            }
            ExprKind::Unary { op: UnaryOp::Not, operand } => {
                Some(Condition::Not { condition: Box::new(self.condition(operand, cx)?) })
            }
            ExprKind::Binary { op, lhs, rhs } if cmp_op(*op).is_some() => {
                let (metric, dim) = self.metric(lhs)?;
                if !matches!(cx, Context::Expect | Context::Scenario)
                    && !metric.measured_by_run(self.program.serve.is_some())
                {
                    let why = match &metric {
                        Metric::Latency { .. } => "the file serves no HTTP (add `serve http(port: ...)`)".to_string(),
                        _ => format!("`{metric}` is measured only while a scenario runs"),
                    };
                    self.error(
                        Diagnostic::warning(
                            Code::UnmeasuredMetric,
                            lhs.span,
                            format!(
                                "`run` does not measure `{metric}`: this condition is unknown there and never fires"
                            ),
                        )
                        .label("not measured by `run`")
                        .hint(format!("{why}; `not` of an unknown condition is unknown too")),
                    );
                }
                let value = self.quantity(rhs, dim, &format!("the bound for `{metric}`"))?;
                Some(Condition::Compare { metric, op: cmp_op(*op)?, value })
            }
            _ => {
                let example = match cx {
                    Context::Slo => "p99(latency) < 50ms",
                    Context::Guardrail => "psi(income_drift) > 0.25",
                    Context::Expect => "lost_events == 0",
                    Context::Scenario => "p99(http_latency) > 50ms",
                };
                self.error(
                    Diagnostic::new(Code::TypeMismatch, e.span, "expected a condition on a metric")
                        .label(format!("found {}", describe_expr(e)))
                        .hint(format!("for example `{example}`")),
                );
                None
            }
        }
    }

    /// A metric and the dimension its bound must have.
    fn metric(&mut self, e: &Expr) -> Option<(Metric, Dim)> {
        if let Some(name) = as_name(e) {
            let m = match name.node.as_str() {
                "throughput" => (Metric::Throughput, Dim::Rate),
                "error_rate" => (Metric::ErrorRate, Dim::Percent),
                "lost_events" => (Metric::LostEvents, Dim::Events),
                "dead_letters" => (Metric::DeadLetters, Dim::Events),
                "late_events" => (Metric::LateEvents, Dim::Events),
                "unsent_requests" | "dropped" => (Metric::UnsentRequests, Dim::Events),
                "online_mae" | "mae" => (Metric::OnlineMae, Dim::Plain),
                other => {
                    let all = metric_names();
                    self.error(
                        Diagnostic::new(Code::UnknownName, e.span, format!("no metric `{other}`"))
                            .label("not a metric")
                            .hint(suggest_or_list(other, all, "metrics")),
                    );
                    return None;
                }
            };
            return Some(m);
        }
        let Some((callee, args)) = as_call(e) else {
            self.error(
                Diagnostic::new(
                    Code::TypeMismatch,
                    e.span,
                    "expected a metric such as `p99(latency)` or `lost_events`",
                )
                .label(format!("found {}", describe_expr(e))),
            );
            return None;
        };
        let f = callee.node.as_str();
        if let Some(digits) = f.strip_prefix('p').filter(|d| !d.is_empty() && d.chars().all(|c| c.is_ascii_digit())) {
            // `p5` → 0.05, `p50` → 0.5, `p99` → 0.99; three or more digits are nines: `p999` → 0.999.
            let quantile = match digits.len() {
                1 | 2 => digits.parse::<f64>().ok()? / 100.0,
                _ if digits.starts_with("99") => format!("0.{digits}").parse::<f64>().ok()?,
                _ => 0.0,
            };
            if quantile <= 0.0 {
                self.error(
                    Diagnostic::new(Code::OutOfRange, callee.span, format!("`{f}` is no percentile"))
                        .label("expected p1 .. p99, p999, p9999")
                        .hint("write `p50`, `p95`, `p99` or `p999`"),
                );
                return None;
            }
            let a = self.args(&callee, args, &["of"], &[]);
            let which = a.require(self, "of")?;
            let http = self.choice(which, "latency metric", &["latency", "http_latency"])? == "http_latency";
            return Some((Metric::Latency { quantile, http }, Dim::Duration));
        }
        match f {
            "rise" => {
                let a = self.args(&callee, args, &["metric"], &["at"]);
                let inner = a.require(self, "metric");
                let at = a.require(self, "at").and_then(|t| self.duration_ms(t, "`at`"));
                let (metric, _) = self.metric(inner?)?;
                if metric != Metric::OnlineMae {
                    self.error(
                        Diagnostic::new(
                            Code::TypeMismatch,
                            inner?.span,
                            format!("`rise` reads `online_mae`, not `{metric}`"),
                        )
                        .label("not a per-second mean")
                        .hint("write `rise(online_mae, at: 20s) > 20%`"),
                    );
                    return None;
                }
                Some((Metric::Rise { of: Box::new(metric), at_ms: at? }, Dim::Percent))
            }
            name if crate::drift::statistics::find(name).is_some() => {
                let a = self.args(&callee, args, &["drift"], &[]);
                let d = a.require(self, "drift")?;
                let drift = self.drift_ref(d)?;
                Some((Metric::Drift { statistic: name.to_string(), drift }, Dim::Plain))
            }
            other => {
                let all = metric_names();
                self.error(
                    Diagnostic::new(Code::UnknownFunction, callee.span, format!("no metric function `{other}`"))
                        .label("not a metric")
                        .hint(suggest_or_list(other, all, "metrics")),
                );
                None
            }
        }
    }

    /// A drift monitor by name.
    pub(super) fn drift_ref(&mut self, e: &Expr) -> Option<String> {
        let Some(name): Option<Ident> = as_name(e) else {
            self.error(
                Diagnostic::new(Code::TypeMismatch, e.span, "expected the name of a drift monitor")
                    .label(format!("found {}", describe_expr(e))),
            );
            return None;
        };
        self.resolve(&name, Kind::Drift).then_some(name.node)
    }
}

/// Every metric name the language knows: plain ones, percentiles and the drift statistics.
fn metric_names() -> impl Iterator<Item = &'static str> + Clone {
    PLAIN_METRICS.iter().chain(PERCENTILES).copied().chain(crate::drift::statistics::names())
}
