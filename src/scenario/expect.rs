//! The expectations of a scenario, judged at its end, each with the value it was judged on.
//!
//! `expect CONDITION` reads metrics over the whole run: stream latency percentiles
//! (ingest to sink), HTTP latency percentiles as the traffic agent measured them (from each
//! request's due time), throughput, the stream's error rate and dead letters, lost events
//! (events in − predictions − dead letters − events a fault dropped), unsent (dropped) requests, the online mean absolute
//! error of predictions whose events carried the label, and a drift monitor's statistics on its
//! latest window; `rise(online_mae, at: T)` compares the error of the seconds after T with the
//! seconds before it. `expect drift(D) detected within W of T` needs an alert of
//! `D` between T and T + W; `not detected` needs none.

use super::guardrail::Decision;
use super::http_agent::AgentSecond;
use super::observer::StreamSecond;
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
    match e {
        Expectation::Holds { condition } => condition.to_string(),
        Expectation::Detected { drift, within_ms, of_ms } => {
            format!("drift({drift}) detected{}", timing(*within_ms, *of_ms))
        }
        Expectation::NotDetected { drift } => format!("drift({drift}) not detected"),
        Expectation::RolledBack { within_ms, of_ms } => format!("rollback{}", timing(*within_ms, *of_ms)),
    }
}

/// ` within 5s of 10s`, as written.
fn timing(within_ms: Option<u64>, of_ms: Option<u64>) -> String {
    let secs = |ms: u64| format!("{}s", ms as f64 / 1e3);
    let mut s = String::new();
    if let Some(w) = within_ms {
        s += &format!(" within {}", secs(w));
    }
    if let Some(o) = of_ms {
        s += &format!(" of {}", secs(o));
    }
    s
}

/// The span `within D of T` allows, in ms since the start: [T, T + D] (T = 0 and D unbounded when absent).
fn allowed(within_ms: Option<u64>, of_ms: Option<u64>) -> (u64, u64) {
    let from = of_ms.unwrap_or(0);
    (from, within_ms.map_or(u64::MAX, |w| from.saturating_add(w)))
}

/// Rollbacks that happened (ms since the start, what was done): the pipeline's guardrails' and the scenario's.
pub fn rollbacks(outcome: &Outcome, decisions: &[Decision], started_ms: u64) -> Vec<(u64, String)> {
    let mut all: Vec<(u64, String)> = outcome
        .drift
        .as_ref()
        .map(|b| {
            b.alerts
                .iter()
                .filter(|a| a.action == "rollback")
                .map(|a| (a.at_ms.saturating_sub(started_ms), a.outcome.clone()))
                .collect()
        })
        .unwrap_or_default();
    all.extend(decisions.iter().filter(|d| d.action == "rollback").map(|d| ((d.t * 1e3) as u64, d.outcome.clone())));
    all.sort_by_key(|r| r.0);
    all
}

#[allow(clippy::too_many_arguments)]
pub fn judge(
    scenario: &Scenario,
    outcome: &Outcome,
    stats: &Stats,
    stream: &[StreamSecond],
    http: &[AgentSecond],
    decisions: &[Decision],
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
            Metric::Rise { of, at_ms } if **of == Metric::OnlineMae => mae_rise(stream, *at_ms),
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
                    let (from, until) = allowed(*within_ms, *of_ms);
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
                Expectation::RolledBack { within_ms, of_ms } => {
                    let (from, until) = allowed(*within_ms, *of_ms);
                    let all = rollbacks(outcome, decisions, started_ms);
                    // A rollback that could not be done (no earlier version) does not count.
                    let done = all.iter().find(|(t, what)| *t >= from && what.starts_with("rolled "));
                    match (done, all.first()) {
                        (Some((t, what)), _) => (*t <= until, format!("{what} at {:.1} s", *t as f64 / 1e3)),
                        (None, Some((t, what))) => (false, format!("at {:.1} s: {what}", *t as f64 / 1e3)),
                        (None, None) => (false, "no rollback".to_string()),
                    }
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

/// The online error of the whole seconds after `at_ms` relative to the whole seconds before it
/// (0.2 for 20% higher), each side weighted by its labelled predictions.
pub fn mae_rise(stream: &[StreamSecond], at_ms: u64) -> Option<f64> {
    let at = at_ms as f64 / 1e3;
    let mean = |side: &dyn Fn(&StreamSecond) -> bool| -> Option<f64> {
        let (sum, n) = stream
            .iter()
            .filter(|s| side(s))
            .filter_map(|s| s.online_mae.map(|m| (m * s.labelled as f64, s.labelled)))
            .fold((0.0, 0u64), |(a, n), (x, k)| (a + x, n + k));
        (n > 0).then(|| sum / n as f64)
    };
    let before = mean(&|s| s.t <= at)?;
    let after = mean(&|s| s.t - 1.0 >= at)?;
    (before > 0.0).then(|| after / before - 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn second(t: f64, labelled: u64, mae: f64) -> StreamSecond {
        StreamSecond { t, labelled, online_mae: Some(mae), ..Default::default() }
    }

    #[test]
    fn rise_weighs_seconds_by_labels_and_skips_the_second_of_the_change() {
        let stream = vec![
            second(1.0, 100, 10.0),
            second(2.0, 300, 14.0), // before: (1000 + 4200) / 400 = 13
            second(3.0, 100, 99.0), // holds 2.5 s: neither side
            second(4.0, 200, 13.0),
            second(5.0, 200, 26.0), // after: 19.5
        ];
        let rise = mae_rise(&stream, 2_500).unwrap();
        assert!((rise - (19.5 / 13.0 - 1.0)).abs() < 1e-12, "{rise}");
        assert_eq!(mae_rise(&stream, 9_000), None, "nothing after");
    }
}
