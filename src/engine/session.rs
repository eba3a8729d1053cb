//! One run of a plan: the model loaded (trained first if the registry has none), the
//! sinks opened, the workers started, progress shown, and what happened measured.

use super::drift::DriftRuntime;
use super::run::{run_dataflow, RunOptions};
use super::runtime::{Runtime, SinkRuntime};
use super::stats::{peak_rss_bytes, Stats};
use crate::model::serving::{ModelHandle, ServingModel};
use crate::model::train::train_and_register;
use crate::plan::{Dataflow, ModelPlan, OperatorKind, Plan};
use crate::registry::Registry;
use std::io::IsTerminal;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What one run measured.
pub struct Outcome {
    pub workers: usize,
    pub events_in: u64,
    pub predictions: u64,
    pub dead_letters: u64,
    pub reasons: std::collections::BTreeMap<String, u64>,
    pub seconds: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub p999_ms: f64,
    pub peak_rss: Option<u64>,
    pub model_version: u32,
    /// Events per second in each second of the run: (seconds since start, events/s).
    pub throughput: Vec<(f64, f64)>,
    /// What the drift monitors saw.
    pub drift: Option<crate::drift::BoardSnapshot>,
}

impl Outcome {
    pub fn events_per_second(&self) -> f64 {
        self.events_in as f64 / self.seconds.max(1e-9)
    }

    pub fn accounted(&self) -> bool {
        self.events_in == self.predictions + self.dead_letters
    }
}

/// A plan ready to run: its dataflow, model and registry.
pub struct Prepared {
    pub dataflow: Dataflow,
    pub model: ModelPlan,
    pub registry: Registry,
    pub handle: Arc<ModelHandle>,
    /// The schema events are validated against.
    pub schema: crate::program::Schema,
    /// The opened sinks; memory stores outlive a run, for queries.
    pub sinks: Vec<Arc<SinkRuntime>>,
    /// The run's counters and latencies, shared with whoever reports them (`/metrics`).
    pub stats: Arc<Stats>,
    /// Drift monitors and their board (`GET /drift`), when the pipeline declares drifts.
    pub drift: Option<Arc<DriftRuntime>>,
    /// Worker threads the plan was made for.
    pub workers: usize,
}

impl Prepared {
    /// The in-memory store of the named sink, if it has one.
    pub fn sink_store(&self, name: &str) -> Option<Arc<crate::engine::store::PredictionStore>> {
        self.sinks.iter().find(|s| s.name == name).and_then(|s| s.store.clone())
    }
}

/// Picks the dataflow, loads the production model (training one first when the registry
/// has none), and checks the plan is one this engine can run.
pub fn prepare(plan: &Plan, file: &Path, file_sinks: bool) -> Result<Prepared, String> {
    let dataflow = match plan.dataflows.as_slice() {
        [one] => one.clone(),
        [] => return Err("the file declares no source to run".into()),
        many => {
            let names: Vec<&str> = many.iter().map(|d| d.source.as_str()).collect();
            return Err(format!("the file runs several sources ({}); run one file per source", names.join(", ")));
        }
    };
    let model_name = dataflow
        .operators
        .iter()
        .find_map(|o| match &o.kind {
            OperatorKind::Predict { model, .. } => Some(model.clone()),
            _ => None,
        })
        .ok_or("the pipeline has no model reading its source's schema")?;
    let model =
        plan.models.iter().find(|m| m.model.name == model_name).cloned().ok_or("model missing from the plan")?;
    let registry = Registry::open(&model.model.registry);
    if registry.production(&model.model.name).ok().flatten().is_none() {
        let spec = model.model.train.clone().ok_or_else(|| {
            format!("model `{}` has no production version and declares no `train:` data", model.model.name)
        })?;
        eprintln!("no production version of `{}` in {}: training one first", model.model.name, model.model.registry);
        let reg = train_and_register(&model, &spec, file.parent().unwrap_or(Path::new("")), &registry)?;
        eprintln!("trained {} v{}: holdout R² {:.4}", model.model.name, reg.version, reg.meta.metrics.r2);
    }
    let serving = ServingModel::production(&registry, &model.model.name, &model.features, model.model.predictor)
        .map_err(|e| e.to_string())?;
    let schema = dataflow
        .operators
        .iter()
        .find_map(|o| match &o.kind {
            OperatorKind::Validate { schema } => Some(schema.clone()),
            _ => None,
        })
        .ok_or("the dataflow validates nothing")?;
    let mut sinks = Vec::new();
    for op in &dataflow.operators {
        if let OperatorKind::Sink { sink, stream, targets } = &op.kind {
            let targets: Vec<_> = targets
                .iter()
                .filter(|t| file_sinks || matches!(t, crate::program::SinkTarget::Memory { .. }))
                .cloned()
                .collect();
            sinks.push(Arc::new(SinkRuntime::open(sink, *stream, &targets)?));
        }
    }
    let drift = DriftRuntime::new(&dataflow, &plan.guardrails, &serving, &model, registry.clone())?;
    let drift = (!drift.monitors.is_empty()).then(|| Arc::new(drift));
    let handle = Arc::new(ModelHandle::new(serving));
    Ok(Prepared {
        dataflow,
        model,
        registry,
        handle,
        schema,
        sinks,
        stats: Arc::new(Stats::new()),
        drift,
        workers: plan.workers,
    })
}

/// How a run shows its progress.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Display {
    /// A live status line (events/s, latency, dead letters, model version).
    Line,
    /// A progress bar towards a number of events (terminals only).
    Bar(u64),
}

/// Runs a prepared plan once, following promotions of the model as it goes.
pub fn execute(
    p: &Prepared,
    opts: &RunOptions,
    stop: Arc<AtomicBool>,
    duration: Option<Duration>,
    progress: Display,
) -> Result<Outcome, String> {
    let stats = p.stats.clone();
    let rt = Arc::new(Runtime {
        started: Instant::now(),
        schema: p.schema.clone(),
        model: p.handle.clone(),
        sinks: p.sinks.clone(),
        stats: stats.clone(),
        stop: stop.clone(),
        drift: p.drift.clone(),
    });
    let done = Arc::new(AtomicBool::new(false));
    let monitor = {
        let (stats, stop, done, handle, registry) =
            (stats.clone(), stop.clone(), done.clone(), p.handle.clone(), p.registry.clone());
        let model = p.model.clone();
        let board = p.drift.as_ref().map(|d| d.board.clone());
        std::thread::spawn(move || {
            monitor(&stats, &stop, &done, duration, progress, &handle, &registry, &model, board.as_deref())
        })
    };
    let started = Instant::now();
    let result = run_dataflow(&p.dataflow, rt, opts);
    let seconds = started.elapsed().as_secs_f64();
    done.store(true, Ordering::Relaxed);
    let throughput = monitor.join().unwrap_or_default();
    result?;
    for s in &p.sinks {
        s.finish().map_err(|e| format!("sink `{}`: {e}", s.name))?;
    }
    let (events_in, predictions, dead_letters) = stats.load();
    let latency = stats.latency();
    let ms = |q: f64| if latency.is_empty() { 0.0 } else { latency.value_at_quantile(q) as f64 / 1e3 };
    Ok(Outcome {
        workers: opts.workers,
        events_in,
        predictions,
        dead_letters,
        reasons: stats.reasons(),
        seconds,
        p50_ms: ms(0.5),
        p99_ms: ms(0.99),
        p999_ms: ms(0.999),
        peak_rss: peak_rss_bytes(),
        model_version: stats.model_version.load(Ordering::Relaxed),
        throughput,
        drift: p.drift.as_ref().map(|d| d.board.snapshot()),
    })
}

/// The drift part of the progress line: each monitor's latest PSI, KS D and p-value.
fn drift_line(board: &crate::drift::DriftBoard) -> String {
    let mut out = String::new();
    for d in board.snapshot().drifts {
        let Some(w) = d.last else { continue };
        let s = &w.statistics;
        out.push_str(&format!("  {} psi {}", d.name, s.psi.map_or("-".into(), |v| format!("{v:.3}"))));
        if let Some(k) = s.ks_d {
            out.push_str(&format!(" ks {k:.3} p {}", s.ks_p.map_or("-".into(), |p| format!("{p:.1e}"))));
        }
    }
    out
}

/// Prints progress, stops the run after `duration`, and swaps in newly promoted versions.
#[allow(clippy::too_many_arguments)]
fn monitor(
    stats: &Stats,
    stop: &AtomicBool,
    done: &AtomicBool,
    duration: Option<Duration>,
    progress: Display,
    handle: &ModelHandle,
    registry: &Registry,
    model: &ModelPlan,
    board: Option<&crate::drift::DriftBoard>,
) -> Vec<(f64, f64)> {
    let started = Instant::now();
    let mut series = Vec::new();
    let mut sample = (Instant::now(), 0u64);
    let tty = std::io::stderr().is_terminal();
    let bar = match progress {
        Display::Bar(total) if tty => {
            let bar = indicatif::ProgressBar::new(total);
            bar.set_style(
                indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} events {per_sec} {eta}")
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
            );
            Some(bar)
        }
        _ => None,
    };
    let mut last = (Instant::now(), 0u64);
    let mut last_refresh = Instant::now();
    let mut last_line = Instant::now();
    while !done.load(Ordering::Relaxed) {
        std::thread::sleep(Duration::from_millis(100));
        if duration.is_some_and(|d| started.elapsed() >= d) {
            stop.store(true, Ordering::Relaxed);
        }
        if sample.0.elapsed() >= Duration::from_secs(1) {
            let events = stats.load().0;
            series
                .push((started.elapsed().as_secs_f64(), (events - sample.1) as f64 / sample.0.elapsed().as_secs_f64()));
            sample = (Instant::now(), events);
        }
        if last_refresh.elapsed() >= Duration::from_secs(1) {
            last_refresh = Instant::now();
            match handle.refresh(registry, &model.features, model.model.predictor) {
                Ok(Some(v)) => eprintln!("\nswitched to {} v{v}", model.model.name),
                Ok(None) => {}
                Err(e) => tracing::warn!("cannot load the new production version: {e}"),
            }
        }
        if let Some(bar) = &bar {
            bar.set_position(stats.load().0);
            continue;
        }
        let every = if tty { Duration::from_millis(500) } else { Duration::from_secs(5) };
        if progress == Display::Line && last_line.elapsed() >= every {
            last_line = Instant::now();
            let (events, preds, dead) = stats.load();
            let rate = (events - last.1) as f64 / last.0.elapsed().as_secs_f64().max(1e-9);
            last = (Instant::now(), events);
            let lat = stats.latency();
            let q = |x: f64| if lat.is_empty() { 0.0 } else { lat.value_at_quantile(x) as f64 / 1e3 };
            let mut line = format!(
                "{:>7.1}s  {:>10.0} events/s  in {events}  out {preds}  dead {dead}  p50 {:.2} ms  p99 {:.2} ms  model v{}",
                started.elapsed().as_secs_f64(),
                rate,
                q(0.5),
                q(0.99),
                handle.current().version()
            );
            if let Some(board) = board {
                line.push_str(&drift_line(board));
            }
            if tty {
                eprint!("\r{line}   ");
            } else {
                eprintln!("{line}");
            }
        }
    }
    if let Some(bar) = bar {
        bar.finish_and_clear();
    } else if progress == Display::Line && tty {
        eprintln!();
    }
    series
}
