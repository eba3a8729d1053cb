//! The observer: once a second, what the stream did in that second (events in, predictions,
//! dead letters, ingest-to-sink latency percentiles) and every drift monitor's latest window;
//! then the scenario's guardrails judge that second (with the HTTP agent's second before it).

use super::guardrail::{Commander, Decision};
use super::http_agent::AgentStats;
use crate::drift::DriftBoard;
use crate::engine::slo::WindowMetrics;
use crate::engine::stats::Stats;
use crate::program::Metric;
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// One second of the stream.
#[derive(Clone, Debug, Default, Serialize)]
pub struct StreamSecond {
    /// Seconds since the start, at the end of this second.
    pub t: f64,
    pub events: u64,
    pub predictions: u64,
    pub dead_letters: u64,
    pub p50_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    pub p999_ms: Option<f64>,
    /// Whether the source could be read at the end of this second (a Kafka broker answers).
    pub source_up: bool,
    /// Predictions this second whose events carried the label.
    pub labelled: u64,
    /// Mean |estimate − label| of those predictions.
    pub online_mae: Option<f64>,
    /// Share of those labels inside the predicted interval.
    pub coverage: Option<f64>,
    /// Drift monitor → statistic → value of its latest window.
    pub drift: BTreeMap<String, BTreeMap<String, f64>>,
}

/// Samples until `stop` is set; returns the seconds and the guardrails' decisions.
pub fn observe(
    stats: Arc<Stats>,
    board: Option<Arc<DriftBoard>>,
    agent: Option<Arc<AgentStats>>,
    mut commander: Commander,
    started: Instant,
    stop: Arc<AtomicBool>,
) -> std::thread::JoinHandle<(Vec<StreamSecond>, Vec<Decision>)> {
    std::thread::Builder::new()
        .name("observer".into())
        .spawn(move || {
            let mut out = Vec::new();
            let mut last = stats.load();
            let mut last_latency = stats.latency();
            let mut last_labelled = stats.labelled();
            let mut next = started + Duration::from_secs(1);
            while !stop.load(Ordering::Relaxed) {
                let now = Instant::now();
                if now < next {
                    std::thread::sleep((next - now).min(Duration::from_millis(50)));
                    continue;
                }
                next += Duration::from_secs(1);
                let counts = stats.load();
                let labelled = stats.labelled();
                let second = labelled.since(&last_labelled);
                last_labelled = labelled;
                let latency = stats.latency();
                let mut window = latency.clone();
                if window.subtract(&last_latency).is_err() {
                    window = latency.clone();
                }
                let q = |x: f64| (!window.is_empty()).then(|| window.value_at_quantile(x) as f64 / 1e3);
                let t = started.elapsed().as_secs_f64();
                // The agent's last whole second.
                let http = agent.as_ref().and_then(|a| a.second((t as usize).saturating_sub(1)));
                let metrics = WindowMetrics {
                    seconds: 1.0,
                    events: counts.0 - last.0,
                    dead: counts.2 - last.2,
                    latency: Some(&window),
                    http_latency: http.as_ref().map(|h| &h.latency),
                    drift: board.as_deref(),
                };
                commander.tick(t, &|m| match m {
                    Metric::UnsentRequests => http.as_ref().map(|h| h.dropped as f64),
                    Metric::OnlineMae => second.mae(),
                    other => metrics.value(other),
                });
                let drift = board
                    .as_ref()
                    .map(|b| {
                        b.snapshot()
                            .drifts
                            .iter()
                            .filter_map(|d| {
                                let last = d.last.as_ref()?;
                                let values =
                                    last.statistics.iter().filter_map(|(k, v)| Some((k.to_string(), v?))).collect();
                                Some((d.name.clone(), values))
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                out.push(StreamSecond {
                    t,
                    events: counts.0 - last.0,
                    predictions: counts.1 - last.1,
                    dead_letters: counts.2 - last.2,
                    p50_ms: q(0.5),
                    p99_ms: q(0.99),
                    p999_ms: q(0.999),
                    source_up: stats.source_down().is_none(),
                    labelled: second.count,
                    online_mae: second.mae(),
                    coverage: second.coverage(),
                    drift,
                });
                last = counts;
                last_latency = latency;
            }
            (out, commander.decisions)
        })
        .expect("the observer thread starts")
}
