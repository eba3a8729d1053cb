//! One run of a plan: the model loaded (trained first if the registry has none), the
//! sinks opened, the workers started, progress shown, and what happened measured.

use super::drift::DriftRuntime;
use super::run::{run_dataflow, RunOptions};
use super::runtime::{Runtime, SinkRuntime};
use super::slo::{SloBoard, SloMonitor, SloStatus};
use super::stats::{peak_rss_bytes, Stats};
use crate::model::serving::{LoadError, ModelHandle, ServingModel};
use crate::model::train::train_and_register;
use crate::plan::{Dataflow, ModelPlan, OperatorKind, Plan};
use crate::program::Condition;
use crate::registry::{Registry, RegistryError};
use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What one run measured.
pub struct Outcome {
    pub workers: usize,
    pub events_in: u64,
    pub predictions: u64,
    pub dead_letters: u64,
    /// Events a scenario's `drop` fault dropped at the source (counted in `events_in`).
    pub dropped_by_fault: u64,
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
    /// Each SLO after its last evaluation.
    pub slos: Vec<SloStatus>,
    /// Why the source ended before its end, if it did (a CSV read error).
    pub source_error: Option<String>,
}

impl Outcome {
    pub fn events_per_second(&self) -> f64 {
        self.events_in as f64 / self.seconds.max(1e-9)
    }

    pub fn accounted(&self) -> bool {
        self.events_in == self.predictions + self.dead_letters + self.dropped_by_fault
    }
}

/// A plan ready to run: its dataflow, model and registry.
pub struct Prepared {
    pub dataflow: Dataflow,
    pub model: ModelPlan,
    pub registry: Arc<dyn Registry>,
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
    /// The plan's SLOs, and their latest evaluation (for `/metrics`).
    pub slos: Vec<Condition>,
    pub slo_board: Arc<SloBoard>,
}

impl Prepared {
    /// The in-memory store of the named sink, if it has one.
    pub fn sink_store(&self, name: &str) -> Option<Arc<crate::engine::store::PredictionStore>> {
        self.sinks.iter().find(|s| s.name == name).and_then(|s| s.store.clone())
    }
}

/// Picks the dataflow, loads the production model (training one first when the registry
/// has none), and checks the plan is one this engine can run.
pub fn prepare(plan: &Plan, file_sinks: bool) -> Result<Prepared, String> {
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
    // The `features` operator computes the served model's features: they must be the same set.
    for op in &dataflow.operators {
        if let OperatorKind::Features { set } = &op.kind {
            if set.name != model.features.name {
                return Err(format!(
                    "the plan computes features `{}`, but model `{}` reads `{}`",
                    set.name, model.model.name, model.features.name
                ));
            }
        }
    }
    // Unreachable brokers are reported now, before any training.
    crate::kafka::preflight(&dataflow)?;
    let registry = crate::registry::open(&model.model.registry).map_err(|e| e.to_string())?;
    let name = model.model.registered_name().to_string();
    match registry.production(&name) {
        Ok(Some(_)) => {}
        Ok(None) | Err(crate::registry::RegistryError::ModelNotFound { .. }) => {}
        // An unreachable MLflow server is an error now, before any training.
        Err(e) => return Err(e.to_string()),
    }
    if registry.production(&name).ok().flatten().is_none() {
        let spec = model.model.train.clone().ok_or_else(|| {
            format!("model `{}` has no production version and declares no `train:` data", model.model.name)
        })?;
        tracing::info!(
            "no production version of `{}` in {}: training one first",
            model.model.name,
            model.model.registry
        );
        let reg = train_and_register(&model, &spec, registry.as_ref())?;
        tracing::info!("trained {} v{}: holdout R² {:.4}", model.model.name, reg.version, reg.meta.metrics.r2);
    }
    let serving = ServingModel::production(registry.as_ref(), &name, &model.features, model.model.predictor)
        .map_err(|e| e.to_string())?;
    tracing::debug!(
        "loaded {} v{} from {} ({:?} predictor)",
        model.model.name,
        serving.version(),
        model.model.registry,
        model.model.predictor
    );
    let schema = dataflow
        .operators
        .iter()
        .find_map(|o| match &o.kind {
            OperatorKind::Validate { schema } => Some(schema.clone()),
            _ => None,
        })
        .ok_or("the dataflow validates nothing")?;
    // Monitors first: a monitor that cannot run refuses the run before any sink truncates a file.
    let drift = DriftRuntime::new(&dataflow, &serving, &model, registry.clone())?;
    let drift = (!drift.monitors.is_empty()).then(|| Arc::new(drift));
    let mut sinks = Vec::new();
    for op in &dataflow.operators {
        if let OperatorKind::Sink { sink, stream, targets } = &op.kind {
            let targets: Vec<_> = targets
                .iter()
                .filter(|t| file_sinks || matches!(t, crate::program::SinkTarget::Memory { .. }))
                .cloned()
                .collect();
            sinks.push(Arc::new(SinkRuntime::open(sink, *stream, &targets)?));
            tracing::debug!("opened sink `{sink}` ({stream:?}): {} target(s)", targets.len());
        }
    }
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
        slos: plan.slos.clone(),
        slo_board: Arc::new(SloBoard::default()),
    })
}

/// How a run shows its progress.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Display {
    /// A live status line (events/s, latency, dead letters, model version): twice a second
    /// on a terminal, every 5 s in a log.
    Line,
    /// The same line once a second, terminal or not (scenarios).
    EverySecond,
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
        faults: opts.faults.clone(),
    });
    let done = Arc::new(AtomicBool::new(false));
    let watch = Watch {
        stats: stats.clone(),
        stop: stop.clone(),
        done: done.clone(),
        duration,
        progress,
        handle: p.handle.clone(),
        registry: p.registry.clone(),
        load_failure: None,
        model: p.model.clone(),
        drift: p.drift.as_ref().map(|d| d.board.clone()),
        slos: SloMonitor::new(&p.slos),
        slo_board: p.slo_board.clone(),
        alert_sinks: p.sinks.iter().filter(|s| s.stream == crate::program::Stream::Alerts).cloned().collect(),
    };
    let monitor = std::thread::spawn(move || watch.run());
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
        dropped_by_fault: stats.dropped_by_fault.load(Ordering::Relaxed),
        reasons: stats.reasons(),
        seconds,
        p50_ms: ms(0.5),
        p99_ms: ms(0.99),
        p999_ms: ms(0.999),
        peak_rss: peak_rss_bytes(),
        model_version: stats.model_version.load(Ordering::Relaxed),
        throughput,
        drift: p.drift.as_ref().map(|d| d.board.snapshot()),
        slos: p.slo_board.snapshot(),
        source_error: stats.source_error(),
    })
}

/// The drift part of the progress line: each monitor's latest PSI, KS D and p-value.
fn drift_line(board: &crate::drift::DriftBoard) -> String {
    let mut out = String::new();
    for d in board.snapshot().drifts {
        let Some(w) = d.last else { continue };
        let s = &w.statistics;
        out.push_str(&format!("  {} psi {}", d.name, s.psi().map_or("-".into(), |v| format!("{v:.3}"))));
        if let Some(k) = s.ks_d() {
            out.push_str(&format!(" ks {k:.3} p {}", s.ks_p().map_or("-".into(), |p| format!("{p:.1e}"))));
        }
    }
    out
}

/// How often a run asks the registry for its production version: one small read (a pointer
/// file, or one MLflow REST call), so a promotion serves within about this much.
const REGISTRY_POLL: Duration = Duration::from_millis(250);

/// What watches a run from beside its workers: shows progress, stops it after `duration`,
/// swaps in newly promoted versions, and evaluates the SLOs every second.
struct Watch {
    stats: Arc<Stats>,
    stop: Arc<AtomicBool>,
    done: Arc<AtomicBool>,
    duration: Option<Duration>,
    progress: Display,
    handle: Arc<ModelHandle>,
    registry: Arc<dyn Registry>,
    /// The last failure to load a new production version, so that it is logged once.
    load_failure: Option<String>,
    model: ModelPlan,
    drift: Option<Arc<crate::drift::DriftBoard>>,
    slos: SloMonitor,
    slo_board: Arc<SloBoard>,
    alert_sinks: Vec<Arc<SinkRuntime>>,
}

impl Watch {
    /// Runs until the workers are done; returns events/s in each second.
    fn run(mut self) -> Vec<(f64, f64)> {
        let started = Instant::now();
        let mut series = Vec::new();
        let mut sample = (Instant::now(), 0u64);
        let tty = std::io::stderr().is_terminal();
        let bar = match self.progress {
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
        let mut last_second = Instant::now();
        let mut last_poll = Instant::now();
        let mut last_line = Instant::now();
        if !self.slos.is_empty() {
            self.slos.tick(Instant::now(), &self.stats, self.drift.as_deref(), &self.slo_board);
        }
        while !self.done.load(Ordering::Relaxed) {
            std::thread::sleep(Duration::from_millis(100));
            if self.duration.is_some_and(|d| started.elapsed() >= d) {
                self.stop.store(true, Ordering::Relaxed);
            }
            if sample.0.elapsed() >= Duration::from_secs(1) {
                let events = self.stats.load().0;
                series.push((
                    started.elapsed().as_secs_f64(),
                    (events - sample.1) as f64 / sample.0.elapsed().as_secs_f64(),
                ));
                sample = (Instant::now(), events);
            }
            if last_poll.elapsed() >= REGISTRY_POLL {
                last_poll = Instant::now();
                self.refresh_model(tty);
            }
            if last_second.elapsed() >= Duration::from_secs(1) {
                last_second = Instant::now();
                self.evaluate_slos(tty);
            }
            if let Some(bar) = &bar {
                bar.set_position(self.stats.load().0);
                continue;
            }
            let every = if tty { Duration::from_millis(500) } else { Duration::from_secs(5) };
            let every = if self.progress == Display::EverySecond { Duration::from_secs(1) } else { every };
            let lines = matches!(self.progress, Display::Line | Display::EverySecond);
            if lines && last_line.elapsed() >= every {
                last_line = Instant::now();
                let (events, preds, dead) = self.stats.load();
                let rate = (events - last.1) as f64 / last.0.elapsed().as_secs_f64().max(1e-9);
                last = (Instant::now(), events);
                let lat = self.stats.latency();
                let q = |x: f64| if lat.is_empty() { 0.0 } else { lat.value_at_quantile(x) as f64 / 1e3 };
                let mut line = format!(
                    "{:>7.1}s  {:>10.0} events/s  in {events}  out {preds}  dead {dead}  p50 {:.2} ms  p99 {:.2} ms  model v{}",
                    started.elapsed().as_secs_f64(),
                    rate,
                    q(0.5),
                    q(0.99),
                    self.handle.current().version()
                );
                if let Some(board) = &self.drift {
                    line.push_str(&drift_line(board));
                }
                line.push_str(&crate::engine::slo::progress(&self.slo_board.snapshot()));
                if tty {
                    eprint!("\r{line}   ");
                } else {
                    // Not a terminal: plain log lines, which -q silences and --log-format json frames.
                    tracing::info!(target: "housing_flow::progress", "{line}");
                }
            }
        }
        if !self.slos.is_empty() {
            self.evaluate_slos(tty);
        }
        if let Some(bar) = bar {
            bar.finish_and_clear();
        } else if matches!(self.progress, Display::Line | Display::EverySecond) && tty {
            eprintln!();
        }
        series
    }

    /// Swaps in a new production version. A registry that does not answer is logged once per
    /// outage and shown by `/readyz`; the loaded version keeps serving.
    fn refresh_model(&mut self, tty: bool) {
        let refreshed = self.handle.refresh(self.registry.as_ref(), &self.model.features, self.model.model.predictor);
        let unreachable = match &refreshed {
            Err(LoadError::Registry(RegistryError::Unreachable { reason, .. })) => Some(reason.clone()),
            _ => None,
        };
        let was_down = self.stats.set_registry_down(unreachable.clone());
        if tty && (refreshed.as_ref().is_ok_and(Option::is_some) || (unreachable.is_some() != was_down.is_some())) {
            eprintln!();
        }
        match (&refreshed, &unreachable, &was_down) {
            (_, Some(why), None) => tracing::warn!(
                "the model registry does not answer; still serving {} v{}: {why}",
                self.model.model.name,
                self.handle.current().version()
            ),
            (_, None, Some(_)) => tracing::info!("the model registry answers again ({})", self.registry.location()),
            _ => {}
        }
        match refreshed {
            Ok(Some(v)) => {
                self.load_failure = None;
                tracing::info!("switched to {} v{v}", self.model.model.name)
            }
            Ok(None) => self.load_failure = None,
            Err(_) if unreachable.is_some() => {}
            // The same failure (a corrupt version, say) is logged once, not every second.
            Err(e) => {
                let message = e.to_string();
                if self.load_failure.as_deref() != Some(message.as_str()) {
                    tracing::warn!("cannot load the new production version: {message}");
                    self.load_failure = Some(message);
                }
            }
        }
    }

    fn evaluate_slos(&mut self, tty: bool) {
        if self.slos.is_empty() {
            return;
        }
        let violations = self.slos.tick(Instant::now(), &self.stats, self.drift.as_deref(), &self.slo_board);
        for v in &violations {
            if tty {
                eprintln!();
            }
            tracing::warn!(
                "SLO violated: `{}`: {} is {:.3} over the last {:.0} s (objective {})",
                v.slo,
                v.metric,
                v.value,
                v.window_seconds,
                v.objective
            );
        }
        for s in &self.alert_sinks {
            s.write_alerts(&violations);
        }
    }
}
