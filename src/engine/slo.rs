//! The `slo` declarations of a run, evaluated every second over the last window of the stream
//! (latency percentiles, throughput, error rate, dead letters from the window's counts; drift
//! statistics from their latest window). A violation is logged and written to the `alerts`
//! stream with the measured value; `/metrics`, the progress line and the summary read the board.

use crate::drift::DriftBoard;
use crate::engine::stats::Stats;
use crate::program::{Condition, Metric};
use hdrhistogram::Histogram;
use serde::Serialize;
use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How far back an SLO looks.
pub const WINDOW: Duration = Duration::from_secs(10);

/// One SLO's state after the latest evaluation.
#[derive(Clone, Debug, Serialize)]
pub struct SloStatus {
    /// The objective as written, e.g. `p99(latency) < 50ms`.
    pub slo: String,
    /// The metric it reads first (the one its gauges show).
    pub metric: String,
    /// The bound of that metric.
    pub objective: f64,
    /// That metric over the last window; `None` before it has a value.
    pub value: Option<f64>,
    /// `Some(true)` when the objective does not hold, `None` when it is unknown.
    pub violated: Option<bool>,
    /// Evaluations so far, and how many found it violated.
    pub evaluations: u64,
    pub violations: u64,
}

/// A violation, as written to the `alerts` stream.
#[derive(Clone, Debug, Serialize)]
pub struct SloViolation {
    pub kind: &'static str,
    pub slo: String,
    pub metric: String,
    pub value: f64,
    pub objective: f64,
    /// The window the value was measured over, in seconds.
    pub window_seconds: f64,
    /// Wall-clock time, milliseconds since the Unix epoch.
    pub at_ms: u64,
}

/// What `/metrics`, the progress line and the summary read.
#[derive(Default)]
pub struct SloBoard {
    inner: Mutex<Vec<SloStatus>>,
}

impl SloBoard {
    pub fn snapshot(&self) -> Vec<SloStatus> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn set(&self, statuses: Vec<SloStatus>) {
        *self.inner.lock().unwrap_or_else(|p| p.into_inner()) = statuses;
    }
}

/// Cumulative counters at one moment; the window is the difference of two samples.
struct Sample {
    at: Instant,
    events: u64,
    dead: u64,
    latency: Histogram<u64>,
    http_latency: Histogram<u64>,
}

/// The metrics of a stretch of the run: the window between two samples (SLOs), or the whole
/// run so far (guardrails).
pub struct WindowMetrics<'a> {
    pub seconds: f64,
    pub events: u64,
    pub dead: u64,
    /// Only the histograms the metrics read need be given.
    pub latency: Option<&'a Histogram<u64>>,
    pub http_latency: Option<&'a Histogram<u64>>,
    pub drift: Option<&'a DriftBoard>,
}

impl WindowMetrics<'_> {
    /// A metric's value over the window; `None` when the window has none (no events, no
    /// latencies) or `run` does not measure it.
    pub fn value(&self, m: &Metric) -> Option<f64> {
        match m {
            Metric::Latency { quantile, http } => {
                let h = if *http { self.http_latency } else { self.latency }?;
                (!h.is_empty()).then(|| h.value_at_quantile(*quantile) as f64 / 1e3)
            }
            Metric::Throughput => (self.seconds > 0.0).then(|| self.events as f64 / self.seconds),
            Metric::ErrorRate => (self.events > 0).then(|| self.dead as f64 / self.events as f64),
            Metric::DeadLetters => Some(self.dead as f64),
            Metric::LateEvents => Some(self.drift?.snapshot().drifts.iter().map(|d| d.late_events).sum::<u64>() as f64),
            Metric::Drift { statistic, drift } => self.drift?.last(drift)?.statistics.named(statistic),
            _ => None,
        }
    }
}

/// Evaluates the SLOs once a second from the run's counters.
pub struct SloMonitor {
    slos: Vec<Condition>,
    samples: VecDeque<Sample>,
    statuses: Vec<SloStatus>,
}

impl SloMonitor {
    pub fn new(slos: &[Condition]) -> Self {
        let statuses = slos
            .iter()
            .map(|c| {
                let (metric, objective) =
                    c.first_compare().map_or((String::new(), f64::NAN), |(m, v)| (m.to_string(), v));
                SloStatus {
                    slo: c.to_string(),
                    metric,
                    objective,
                    value: None,
                    violated: None,
                    evaluations: 0,
                    violations: 0,
                }
            })
            .collect();
        SloMonitor { slos: slos.to_vec(), samples: VecDeque::new(), statuses }
    }

    pub fn is_empty(&self) -> bool {
        self.slos.is_empty()
    }

    /// Takes a sample and evaluates every SLO over the window it ends; returns the SLOs that
    /// became violated with this evaluation (a violation is reported when it starts).
    pub fn tick(
        &mut self,
        now: Instant,
        stats: &Stats,
        drift: Option<&DriftBoard>,
        board: &SloBoard,
    ) -> Vec<SloViolation> {
        let (events, _, dead) = stats.load();
        self.samples.push_back(Sample {
            at: now,
            events,
            dead,
            latency: stats.latency(),
            http_latency: stats.http_latency(),
        });
        // Keep the newest sample at least WINDOW old as the window's start.
        while self.samples.len() > 2 && now.duration_since(self.samples[1].at) >= WINDOW {
            self.samples.pop_front();
        }
        let (Some(first), Some(last)) = (self.samples.front(), self.samples.back()) else { return Vec::new() };
        let since = |now: &Histogram<u64>, then: &Histogram<u64>| {
            let mut h = now.clone();
            if h.subtract(then).is_err() {
                h = now.clone();
            }
            h
        };
        let latency = since(&last.latency, &first.latency);
        let http_latency = since(&last.http_latency, &first.http_latency);
        let window = WindowMetrics {
            seconds: last.at.duration_since(first.at).as_secs_f64(),
            events: last.events - first.events,
            dead: last.dead - first.dead,
            latency: Some(&latency),
            http_latency: Some(&http_latency),
            drift,
        };
        let mut violations = Vec::new();
        for (slo, status) in self.slos.iter().zip(&mut self.statuses) {
            let was = status.violated == Some(true);
            let holds = slo.evaluate(&|m| window.value(m));
            status.violated = holds.map(|h| !h);
            status.value = slo.first_compare().and_then(|(m, _)| window.value(m));
            status.evaluations += 1;
            if status.violated == Some(true) {
                status.violations += 1;
                if !was {
                    violations.push(SloViolation {
                        kind: "slo",
                        slo: status.slo.clone(),
                        metric: status.metric.clone(),
                        value: status.value.unwrap_or(f64::NAN),
                        objective: status.objective,
                        window_seconds: window.seconds,
                        at_ms: std::time::SystemTime::now()
                            .duration_since(std::time::UNIX_EPOCH)
                            .map_or(0, |d| d.as_millis() as u64),
                    });
                }
            }
        }
        board.set(self.statuses.clone());
        violations
    }
}

/// The SLO part of the progress line.
pub fn progress(statuses: &[SloStatus]) -> String {
    let mut out = String::new();
    for s in statuses {
        let state = match s.violated {
            Some(true) => "VIOLATED",
            Some(false) => "ok",
            None => "unknown",
        };
        out.push_str(&format!("  slo {} {state}", s.metric));
        if let Some(v) = s.value {
            out.push_str(&format!(" {v:.3}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::program::CmpOp;
    use std::sync::atomic::Ordering;

    fn slo(metric: Metric, op: CmpOp, value: f64) -> Condition {
        Condition::Compare { metric, op, value }
    }

    #[test]
    fn the_window_reads_only_the_last_ten_seconds() {
        let stats = Stats::new();
        let board = SloBoard::default();
        let mut m = SloMonitor::new(&[
            slo(Metric::ErrorRate, CmpOp::Lt, 0.1),
            slo(Metric::Latency { quantile: 0.99, http: false }, CmpOp::Lt, 5.0),
        ]);
        let t0 = Instant::now();
        // 100 events, 50 dead, slow: both violated.
        stats.events_in.store(100, Ordering::Relaxed);
        stats.dead_letters.store(50, Ordering::Relaxed);
        let mut h = crate::engine::stats::new_histogram();
        h.record(20_000).unwrap(); // 20 ms
        stats.merge_latency(&mut h);
        assert!(m.tick(t0, &Stats::new(), None, &board).is_empty(), "the first sample has no window yet");
        let v = m.tick(t0 + Duration::from_secs(1), &stats, None, &board);
        assert_eq!(v.len(), 2, "both objectives are violated: {v:?}");
        assert_eq!(v[0].value, 0.5);
        assert!((v[1].value - 20.0).abs() < 0.1, "{}", v[1].value);
        // A second violated evaluation does not report again.
        stats.events_in.store(200, Ordering::Relaxed);
        stats.dead_letters.store(100, Ordering::Relaxed);
        assert!(m.tick(t0 + Duration::from_secs(2), &stats, None, &board).is_empty());
        // Twelve clean seconds later the bad second has left the window.
        for s in 3..=14 {
            stats.events_in.fetch_add(1000, Ordering::Relaxed);
            let mut h = crate::engine::stats::new_histogram();
            for _ in 0..1000 {
                h.record(100).unwrap(); // 0.1 ms
            }
            stats.merge_latency(&mut h);
            m.tick(t0 + Duration::from_secs(s), &stats, None, &board);
        }
        let snap = board.snapshot();
        assert_eq!(snap[0].violated, Some(false), "{snap:?}");
        assert!(snap[0].value.unwrap() < 0.01);
        assert_eq!(snap[1].violated, Some(false), "{snap:?}");
        assert!(snap[1].value.unwrap() < 1.0);
        assert_eq!(snap[0].violations, 2);
    }

    #[test]
    fn an_unmeasured_metric_leaves_the_slo_unknown() {
        let stats = Stats::new();
        let board = SloBoard::default();
        let mut m = SloMonitor::new(&[slo(Metric::OnlineMae, CmpOp::Lt, 1.0)]);
        let t0 = Instant::now();
        m.tick(t0, &stats, None, &board);
        assert!(m.tick(t0 + Duration::from_secs(1), &stats, None, &board).is_empty());
        assert_eq!(board.snapshot()[0].violated, None);
    }
}
