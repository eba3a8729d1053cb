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
    Psi {
        drift: String,
    },
    KsD {
        drift: String,
    },
    KsP {
        drift: String,
    },
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
            Metric::Psi { drift } => write!(f, "psi({drift})"),
            Metric::KsD { drift } => write!(f, "ks({drift})"),
            Metric::KsP { drift } => write!(f, "ks_p({drift})"),
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
