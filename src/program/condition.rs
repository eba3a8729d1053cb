//! Conditions over run metrics: SLOs, guardrails and scenario expectations.

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CmpOp {
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
    Ne,
}

impl CmpOp {
    pub fn symbol(self) -> &'static str {
        match self {
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
            CmpOp::Eq => "==",
            CmpOp::Ne => "!=",
        }
    }

    pub fn holds(self, lhs: f64, rhs: f64) -> bool {
        match self {
            CmpOp::Lt => lhs < rhs,
            CmpOp::Le => lhs <= rhs,
            CmpOp::Gt => lhs > rhs,
            CmpOp::Ge => lhs >= rhs,
            CmpOp::Eq => lhs == rhs,
            CmpOp::Ne => lhs != rhs,
        }
    }
}

/// A measured quantity. Latencies are in milliseconds, rates per second, ratios as fractions.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "metric")]
pub enum Metric {
    /// Stream ingest-to-sink latency quantile (`p99(latency)`), or HTTP (`p99(http_latency)`).
    Latency {
        quantile: f64,
        http: bool,
    },
    Throughput,
    ErrorRate,
    LostEvents,
    DeadLetters,
    LateEvents,
    UnsentRequests,
    /// Mean absolute error of predictions whose label is known.
    OnlineMae,
    /// A statistic of a drift monitor's latest window (`psi(income_drift)`), by its name in
    /// the language (one of `drift::statistic::ALL`).
    Drift {
        statistic: String,
        drift: String,
    },
    /// How much a metric rose after a time, relative to before it (`rise(online_mae, at: 20s)`,
    /// 0.2 for 20%). The second that holds the time counts on neither side.
    Rise {
        of: Box<Metric>,
        at_ms: u64,
    },
}

impl Metric {
    /// Whether `run` measures this metric (HTTP latency only when the program serves HTTP).
    /// `lost_events`, `unsent_requests` and `online_mae` are scenario metrics.
    pub fn measured_by_run(&self, serves_http: bool) -> bool {
        match self {
            Metric::Latency { http, .. } => !*http || serves_http,
            Metric::Throughput
            | Metric::ErrorRate
            | Metric::DeadLetters
            | Metric::LateEvents
            | Metric::Drift { .. } => true,
            Metric::LostEvents | Metric::UnsentRequests | Metric::OnlineMae | Metric::Rise { .. } => false,
        }
    }
}

impl std::fmt::Display for Metric {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Metric::Latency { quantile, http } => {
                let q = quantile * 100.0;
                let name = if *http { "http_latency" } else { "latency" };
                if q.fract() == 0.0 {
                    write!(f, "p{q}({name})")
                } else {
                    write!(f, "p{}({name})", format!("{q}").replace('.', ""))
                }
            }
            Metric::Throughput => write!(f, "throughput"),
            Metric::ErrorRate => write!(f, "error_rate"),
            Metric::LostEvents => write!(f, "lost_events"),
            Metric::DeadLetters => write!(f, "dead_letters"),
            Metric::LateEvents => write!(f, "late_events"),
            Metric::UnsentRequests => write!(f, "unsent_requests"),
            Metric::OnlineMae => write!(f, "online_mae"),
            Metric::Drift { statistic, drift } => write!(f, "{statistic}({drift})"),
            Metric::Rise { of, at_ms } => write!(f, "rise({of}, at: {}s)", *at_ms as f64 / 1e3),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Condition {
    Compare { metric: Metric, op: CmpOp, value: f64 },
    And { all: Vec<Condition> },
    Or { any: Vec<Condition> },
    Not { condition: Box<Condition> },
}

impl Condition {
    /// The drift monitors the condition reads, in the order it names them.
    pub fn drifts(&self) -> Vec<&str> {
        match self {
            Condition::Compare { metric: Metric::Drift { drift, .. }, .. } => vec![drift.as_str()],
            Condition::Compare { .. } => vec![],
            Condition::And { all: cs } | Condition::Or { any: cs } => cs.iter().flat_map(Condition::drifts).collect(),
            Condition::Not { condition } => condition.drifts(),
        }
    }

    /// The first metric the condition compares, and its bound (what an SLO's gauges show).
    pub fn first_compare(&self) -> Option<(&Metric, f64)> {
        match self {
            Condition::Compare { metric, value, .. } => Some((metric, *value)),
            Condition::And { all: cs } | Condition::Or { any: cs } => cs.iter().find_map(Condition::first_compare),
            Condition::Not { condition } => condition.first_compare(),
        }
    }

    /// The first drift statistic the condition compares, for the alert record.
    pub fn first_drift_metric(&self) -> Option<(&str, &str)> {
        match self {
            Condition::Compare { metric: Metric::Drift { statistic, drift }, .. } => Some((statistic, drift)),
            Condition::Compare { .. } => None,
            Condition::And { all: cs } | Condition::Or { any: cs } => cs.iter().find_map(Condition::first_drift_metric),
            Condition::Not { condition } => condition.first_drift_metric(),
        }
    }

    /// Whether the condition holds, given each metric's current value: `None` when it is
    /// unknown (a metric that is not measured, or has no value yet, such as an empty window).
    /// Unknown never counts as holding, and `not` of unknown is unknown (Kleene's logic):
    /// `false and unknown` is false, `true or unknown` is true.
    pub fn evaluate(&self, value: &dyn Fn(&Metric) -> Option<f64>) -> Option<bool> {
        match self {
            Condition::Compare { metric, op, value: bound } => value(metric).map(|v| op.holds(v, *bound)),
            Condition::And { all } => kleene(all.iter().map(|c| c.evaluate(value)), false),
            Condition::Or { any } => kleene(any.iter().map(|c| c.evaluate(value)), true),
            Condition::Not { condition } => condition.evaluate(value).map(|b| !b),
        }
    }
}

/// `and` (`dominant` false) or `or` (`dominant` true) in Kleene's logic: one dominant value
/// decides; otherwise any unknown makes the whole unknown.
fn kleene(values: impl Iterator<Item = Option<bool>>, dominant: bool) -> Option<bool> {
    let mut unknown = false;
    for v in values {
        match v {
            Some(b) if b == dominant => return Some(dominant),
            None => unknown = true,
            Some(_) => {}
        }
    }
    if unknown {
        None
    } else {
        Some(!dominant)
    }
}

impl std::fmt::Display for Condition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Condition::Compare { metric, op, value } => {
                let value = match metric {
                    Metric::Latency { .. } => format!("{value}ms"),
                    Metric::Throughput => format!("{value}/s"),
                    Metric::ErrorRate => format!("{}%", value * 100.0),
                    _ => format!("{value}"),
                };
                write!(f, "{metric} {} {value}", op.symbol())
            }
            Condition::And { all } => {
                let parts: Vec<String> = all.iter().map(|c| format!("({c})")).collect();
                write!(f, "{}", parts.join(" and "))
            }
            Condition::Or { any } => {
                let parts: Vec<String> = any.iter().map(|c| format!("({c})")).collect();
                write!(f, "{}", parts.join(" or "))
            }
            Condition::Not { condition } => write!(f, "not ({condition})"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmp(metric: Metric, value: f64) -> Condition {
        Condition::Compare { metric, op: CmpOp::Gt, value }
    }

    /// Dead letters are 5; `online_mae` is not measured.
    fn values(m: &Metric) -> Option<f64> {
        match m {
            Metric::DeadLetters => Some(5.0),
            _ => None,
        }
    }

    #[test]
    fn an_unmeasured_metric_is_unknown_and_not_of_unknown_is_unknown() {
        let unknown = cmp(Metric::OnlineMae, 1.0);
        assert_eq!(unknown.evaluate(&values), None);
        let negated = Condition::Not { condition: Box::new(unknown.clone()) };
        assert_eq!(negated.evaluate(&values), None, "not(unknown) must not become true");
        let yes = cmp(Metric::DeadLetters, 1.0);
        let no = cmp(Metric::DeadLetters, 10.0);
        assert_eq!(yes.evaluate(&values), Some(true));
        assert_eq!(no.evaluate(&values), Some(false));
        let and = |a: &Condition, b: &Condition| Condition::And { all: vec![a.clone(), b.clone()] };
        let or = |a: &Condition, b: &Condition| Condition::Or { any: vec![a.clone(), b.clone()] };
        assert_eq!(and(&yes, &unknown).evaluate(&values), None);
        assert_eq!(and(&no, &unknown).evaluate(&values), Some(false));
        assert_eq!(or(&yes, &unknown).evaluate(&values), Some(true));
        assert_eq!(or(&no, &unknown).evaluate(&values), None);
    }

    #[test]
    fn scenario_metrics_are_not_measured_by_run() {
        assert!(!Metric::LostEvents.measured_by_run(true));
        assert!(!Metric::OnlineMae.measured_by_run(true));
        assert!(Metric::Latency { quantile: 0.99, http: false }.measured_by_run(false));
        assert!(!Metric::Latency { quantile: 0.99, http: true }.measured_by_run(false));
        assert!(Metric::Latency { quantile: 0.99, http: true }.measured_by_run(true));
        assert!(Metric::Throughput.measured_by_run(false));
    }
}
