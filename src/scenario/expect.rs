//! The expectations of a scenario, judged at its end, each with the value it was judged on.
//!
//! `expect CONDITION` reads metrics over the whole run: stream latency percentiles
//! (ingest to sink), HTTP latency percentiles as the traffic agent measured them (from each
//! request's due time), throughput, the stream's error rate and dead letters, lost events
//! (events in − predictions − dead letters − events a fault dropped), unsent (dropped) requests, the online mean absolute
//! error of predictions whose events carried the label, and a drift monitor's statistics on its
//! latest window. `expect drift(D) detected within W of T` needs an alert of
//! `D` between T and T + W; `not detected` needs none.

use super::http_agent::AgentSecond;
use crate::engine::session::Outcome;
use crate::engine::slo::WindowMetrics;
use crate::engine::stats::Stats;
use crate::program::{Expectation, Metric, Scenario};
use serde::Serialize;

/// One expectation after the run.
#[derive(Clone, Debug, Serialize)]
pub struct Judged {
    /// As written.
    pub expectation: String,
    pub passed: bool,
    /// What it was judged on, in words (`p99(latency) = 3.2`, `first alert at 21.4 s`).
    pub measured: String,
}

fn describe(e: &Expectation) -> String {
    let secs = |ms: u64| format!("{}s", ms as f64 / 1e3);
    match e {
        Expectation::Holds { condition } => condition.to_string(),
        Expectation::Detected { drift, within_ms, of_ms } => {
            let mut s = format!("drift({drift}) detected");
            if let Some(w) = within_ms {
                s += &format!(" within {}", secs(*w));
            }
            if let Some(o) = of_ms {
                s += &format!(" of {}", secs(*o));
            }
            s
        }
        Expectation::NotDetected { drift } => format!("drift({drift}) not detected"),
    }
}

pub fn judge(
    scenario: &Scenario,
    outcome: &Outcome,
    stats: &Stats,
    http: &[AgentSecond],
    started_ms: u64,
) -> Vec<Judged> {
    let latency = stats.latency();
    let mut http_latency = hdrhistogram::Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).expect("histogram bounds");
    for s in http {
        let _ = http_latency.add(&s.latency);
    }
    let dropped: u64 = http.iter().map(|s| s.dropped).sum();
    let board = outcome.drift.as_ref();
    let window = WindowMetrics {
        seconds: outcome.seconds,
        events: outcome.events_in,
        dead: outcome.dead_letters,
        latency: Some(&latency),
        http_latency: Some(&http_latency),
        drift: None,
    };
    let value = |m: &Metric| -> Option<f64> {
        match m {
            Metric::LostEvents => Some(
                outcome.events_in as f64
                    - outcome.predictions as f64
                    - outcome.dead_letters as f64
                    - outcome.dropped_by_fault as f64,
            ),
            Metric::UnsentRequests => Some(dropped as f64),
            Metric::OnlineMae => stats.labelled().mae(),
            Metric::Drift { statistic, drift } => {
                board?.drifts.iter().find(|d| &d.name == drift)?.last.as_ref()?.statistics.named(statistic)
            }
            Metric::LateEvents => Some(board?.drifts.iter().map(|d| d.late_events).sum::<u64>() as f64),
            other => window.value(other),
        }
    };
    // Alert times of each drift, in ms since the scenario started.
    let alerts = |drift: &str| -> Vec<u64> {
        board
            .map(|b| b.alerts.iter().filter(|a| a.drift == drift).map(|a| a.at_ms.saturating_sub(started_ms)).collect())
            .unwrap_or_default()
    };
    scenario
        .expectations
        .iter()
        .map(|e| {
            let (passed, measured) = match e {
                Expectation::Holds { condition } => {
                    let held = condition.evaluate(&value);
                    let shown = condition
                        .first_compare()
                        .map(|(m, _)| match value(m) {
                            Some(v) => format!("{m} = {v:.4}"),
                            None => format!("{m}: not measured"),
                        })
                        .unwrap_or_default();
                    (held == Some(true), if held.is_none() { format!("unknown ({shown})") } else { shown })
                }
                Expectation::Detected { drift, within_ms, of_ms } => {
                    let from = of_ms.unwrap_or(0);
                    let until = within_ms.map_or(u64::MAX, |w| from.saturating_add(w));
                    let times = alerts(drift);
                    let first = times.iter().copied().filter(|&t| t >= from).min();
                    let passed = first.is_some_and(|t| t <= until);
                    let measured = match (first, times.iter().min()) {
                        (Some(t), _) => format!("first alert at {:.1} s", t as f64 / 1e3),
                        (None, Some(t)) => {
                            format!("alerts only before {:.1} s (first at {:.1} s)", from as f64 / 1e3, *t as f64 / 1e3)
                        }
                        (None, None) => "no alert".to_string(),
                    };
                    (passed, measured)
                }
                Expectation::NotDetected { drift } => {
                    let times = alerts(drift);
                    match times.iter().min() {
                        None => (true, "no alert".to_string()),
                        Some(t) => (false, format!("{} alert(s), the first at {:.1} s", times.len(), *t as f64 / 1e3)),
                    }
                }
            };
            Judged { expectation: describe(e), passed, measured }
        })
        .collect()
}
