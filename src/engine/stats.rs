//! Run accounting shared by all workers: counters, latency histograms, throughput over time.

use hdrhistogram::Histogram;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::Mutex;

/// Latencies are recorded in microseconds, up to an hour, 3 significant digits.
pub fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("valid histogram bounds")
}

/// Counters every worker adds to.
#[derive(Default)]
pub struct Stats {
    pub events_in: AtomicU64,
    /// Events a scenario's `drop` fault dropped at the source (also counted in `events_in`).
    pub dropped_by_fault: AtomicU64,
    pub predictions_out: AtomicU64,
    pub dead_letters: AtomicU64,
    /// The model version of the most recent prediction.
    pub model_version: AtomicU32,
    reasons: Mutex<BTreeMap<String, u64>>,
    /// Predictions by the model version that made them.
    by_version: Mutex<BTreeMap<u32, u64>>,
    latency: Mutex<Option<Histogram<u64>>>,
    /// HTTP request latencies while the run serves, for `p99(http_latency)` SLOs.
    http_latency: Mutex<Option<Histogram<u64>>>,
    /// The first error that ended a worker's share of the source early.
    source_error: Mutex<Option<String>>,
    /// Why the source cannot be read right now (a Kafka broker that does not answer), while so.
    source_down: Mutex<Option<String>>,
    /// Predictions whose event carried its label: how many, Σ|estimate − label|, how many had
    /// an interval, and how many of those held the label.
    labelled: Mutex<Labelled>,
    /// Why the model registry cannot be read right now (an MLflow server that does not answer), while so.
    registry_down: Mutex<Option<String>>,
    /// Per plan operator: events and time (`explain --analyze`).
    pub profile: std::sync::Arc<super::profile::Profile>,
}

impl Stats {
    pub fn new() -> Self {
        Stats {
            latency: Mutex::new(Some(new_histogram())),
            http_latency: Mutex::new(Some(new_histogram())),
            ..Default::default()
        }
    }

    /// Marks the source down, saying why, or up again (`None`).
    pub fn set_source_down(&self, why: Option<String>) {
        *self.source_down.lock().unwrap_or_else(|p| p.into_inner()) = why;
    }

    /// Why the source cannot be read now, while it cannot.
    pub fn source_down(&self) -> Option<String> {
        self.source_down.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Marks the registry unreachable, saying why, or reachable again (`None`); returns the previous state.
    pub fn set_registry_down(&self, why: Option<String>) -> Option<String> {
        std::mem::replace(&mut *self.registry_down.lock().unwrap_or_else(|p| p.into_inner()), why)
    }

    /// Why the registry cannot be read now, while it cannot.
    pub fn registry_down(&self) -> Option<String> {
        self.registry_down.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Adds a batch's labelled predictions.
    pub fn add_labelled(&self, batch: Labelled) {
        let mut all = self.labelled.lock().unwrap_or_else(|p| p.into_inner());
        all.count += batch.count;
        all.abs_error += batch.abs_error;
        all.with_interval += batch.with_interval;
        all.covered += batch.covered;
    }

    /// Labelled predictions so far.
    pub fn labelled(&self) -> Labelled {
        *self.labelled.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Counts dead letters by reason.
    pub fn add_reasons(&self, reasons: &BTreeMap<String, u64>) {
        let mut all = self.reasons.lock().expect("stats lock");
        for (k, v) in reasons {
            *all.entry(k.clone()).or_default() += v;
        }
    }

    /// Counts predictions of one model version (a batch's predictions share one).
    pub fn add_predictions(&self, version: u32, n: u64) {
        if n > 0 {
            *self.by_version.lock().expect("stats lock").entry(version).or_default() += n;
        }
    }

    /// Predictions so far by model version.
    pub fn predictions_by_version(&self) -> BTreeMap<u32, u64> {
        self.by_version.lock().expect("stats lock").clone()
    }

    pub fn reasons(&self) -> BTreeMap<String, u64> {
        self.reasons.lock().expect("stats lock").clone()
    }

    /// Folds a worker's histogram into the shared one and clears it.
    pub fn merge_latency(&self, local: &mut Histogram<u64>) {
        if local.is_empty() {
            return;
        }
        if let Some(h) = self.latency.lock().expect("stats lock").as_mut() {
            h.add(&*local).expect("same bounds");
        }
        local.reset();
    }

    /// Records why the source ended early (the first reason is kept).
    pub fn record_source_error(&self, error: String) {
        self.source_error.lock().expect("stats lock").get_or_insert(error);
    }

    /// Why the source ended early, if it did.
    pub fn source_error(&self) -> Option<String> {
        self.source_error.lock().expect("stats lock").clone()
    }

    /// Records one HTTP request's latency.
    pub fn record_http_latency(&self, elapsed: std::time::Duration) {
        if let Some(h) = self.http_latency.lock().expect("stats lock").as_mut() {
            h.saturating_record((elapsed.as_micros() as u64).max(1));
        }
    }

    /// A copy of the HTTP latency histogram.
    pub fn http_latency(&self) -> Histogram<u64> {
        self.http_latency.lock().expect("stats lock").clone().unwrap_or_else(new_histogram)
    }

    /// A copy of the merged latency histogram.
    pub fn latency(&self) -> Histogram<u64> {
        self.latency.lock().expect("stats lock").clone().unwrap_or_else(new_histogram)
    }

    pub fn load(&self) -> (u64, u64, u64) {
        (
            self.events_in.load(Ordering::Relaxed),
            self.predictions_out.load(Ordering::Relaxed),
            self.dead_letters.load(Ordering::Relaxed),
        )
    }
}

/// Peak resident set size of this process, in bytes (Linux), from `/proc/self/status`.
pub fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// Predictions whose event carried its label (the generator's events do): online error and
/// interval coverage.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Labelled {
    pub count: u64,
    /// Σ |estimate − label|.
    pub abs_error: f64,
    pub with_interval: u64,
    /// Labels inside the predicted interval.
    pub covered: u64,
}

impl Labelled {
    /// Mean absolute error, when any prediction had a label.
    pub fn mae(&self) -> Option<f64> {
        (self.count > 0).then(|| self.abs_error / self.count as f64)
    }

    /// Share of labels inside the interval, when any prediction had both.
    pub fn coverage(&self) -> Option<f64> {
        (self.with_interval > 0).then(|| self.covered as f64 / self.with_interval as f64)
    }

    /// What was added since `earlier`.
    pub fn since(&self, earlier: &Labelled) -> Labelled {
        Labelled {
            count: self.count - earlier.count,
            abs_error: self.abs_error - earlier.abs_error,
            with_interval: self.with_interval - earlier.with_interval,
            covered: self.covered - earlier.covered,
        }
    }
}
