//! Drift monitoring in a run: which value each monitor reads, its cells and window, the
//! `drift-cells` stage that feeds the window collections from the main dataflow, and the
//! `rules` stage that records each window, evaluates rules and guardrails and carries out
//! their actions (alerts, logging, rolling the model back through the registry).

use super::batch::Batch;
use super::slo::WindowMetrics;
use super::stats::Stats;
use crate::drift::rules::AlertWindow;
use crate::drift::rules::Hysteresis;
use crate::drift::{Alert, Binning, DriftBoard, Feed, RuleState, WindowSpec, WindowStats};
use crate::features::Cell;
use crate::model::serving::{ModelHandle, ServingModel};
use crate::plan::{Dataflow, ModelPlan, OperatorKind};
use crate::program::{Action, Condition, Drift, DriftRule, DriftTarget, Guardrail, Metric};
use crate::registry::Registry;
use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Instant;

/// Where a monitor finds its value in a batch.
#[derive(Clone, Debug)]
pub enum Extract {
    /// A schema field of the event.
    Field { index: usize },
    /// A feature: numeric ones from the feature rows, categories from the compiled feature.
    Feature { index: usize, categorical: bool },
    /// The model's estimate.
    Prediction,
}

/// One drift monitor of a run.
#[derive(Clone, Debug)]
pub struct Monitor {
    /// Position in the board and in the worker's feeds.
    pub index: usize,
    pub drift: Drift,
    pub spec: WindowSpec,
    pub binning: Arc<Binning>,
    pub extract: Extract,
}

/// Everything drift monitoring needs in a run.
pub struct DriftRuntime {
    pub monitors: Vec<Monitor>,
    pub board: Arc<DriftBoard>,
    pub registry: Arc<dyn Registry>,
    pub model: ModelPlan,
}

impl DriftRuntime {
    /// The monitors of a dataflow, with cells from the serving model's baselines. A target the
    /// model has no baseline for is reported and skipped.
    pub fn new(
        df: &Dataflow,
        model: &ServingModel,
        plan: &ModelPlan,
        registry: Arc<dyn Registry>,
    ) -> Result<DriftRuntime, String> {
        let mut monitors = Vec::new();
        for op in &df.operators {
            let OperatorKind::DriftWindow { drift } = &op.kind else { continue };
            let key = drift.target.to_string();
            let Some(baseline) = model.meta.baselines.get(&key) else {
                return Err(format!(
                    "drift `{}`: {} v{} has no baseline for `{key}`; retrain it to monitor this target",
                    drift.name, model.meta.name, model.meta.version
                ));
            };
            let sample = match drift.ks_exact() {
                false => None,
                true => Some(model.reference.get(&key).ok_or_else(|| {
                    format!(
                        "drift `{}`: `ks(exact)` compares with the training values of `{key}`, which {} v{} does not keep \
                         (trained before versions kept them, or logged outside housing-flow); retrain it, or use `ks()` on the grid",
                        drift.name, model.meta.name, model.meta.version
                    )
                })?),
            };
            let binning = Binning::from_baseline(
                baseline,
                drift.psi_bins().unwrap_or(10),
                drift.ks_cells().unwrap_or(1000),
                sample.as_deref(),
            );
            let extract = match &drift.target {
                DriftTarget::Field { field, .. } => Extract::Field {
                    index: plan
                        .schema
                        .fields
                        .iter()
                        .position(|f| &f.name == field)
                        .ok_or_else(|| format!("drift `{}`: no field `{field}`", drift.name))?,
                },
                DriftTarget::Feature { feature, .. } => Extract::Feature {
                    index: model
                        .features
                        .names
                        .iter()
                        .position(|f| f == feature)
                        .ok_or_else(|| format!("drift `{}`: no feature `{feature}`", drift.name))?,
                    categorical: drift.categorical,
                },
                DriftTarget::Prediction { .. } => Extract::Prediction,
            };
            monitors.push(Monitor {
                index: monitors.len(),
                drift: drift.clone(),
                spec: WindowSpec::from_window(&drift.window),
                binning: Arc::new(binning),
                extract,
            });
        }
        let board = Arc::new(DriftBoard::new(
            monitors
                .iter()
                .map(|m| {
                    DriftBoard::status(
                        &m.drift.name,
                        &m.drift.target.to_string(),
                        &m.spec.describe(),
                        m.drift.categorical,
                        m.drift.rules.iter().map(|r| r.to_string()).collect(),
                    )
                })
                .collect(),
        ));
        Ok(DriftRuntime { monitors, board, registry, model: plan.clone() })
    }
}

/// A worker's feeds, one per monitor, shared between the main dataflow's `drift-cells` stages
/// and the worker loop that closes them at the end.
pub type Feeds = Vec<Rc<RefCell<Feed>>>;

/// Feeds one monitor from a batch: each valid value's cell at its position, then the worker's
/// progress. Runs after prediction, so fields, features and estimates are all at hand.
pub fn feed_batch(m: &Monitor, feed: &mut Feed, b: &Batch, model: &ServingModel, board: &DriftBoard) {
    let spec = &m.spec;
    let events = &b.events;
    let width = model.features.len().max(1);
    let late = match (&m.extract, m.binning.as_ref()) {
        (Extract::Prediction, Binning::Numeric(bins)) => feed.offer_many(
            b.predictions
                .iter()
                .filter_map(|p| bins.cell(p.estimated_price).map(|c| (spec.position(p.seq, p.ts_ms), u64::from(c)))),
        ),
        (Extract::Field { index }, binning) => {
            offer_events(feed, spec, b, |k| match (events[k].values.get(*index), binning) {
                (Some(v), Binning::Numeric(bins)) => v.as_f64().and_then(|x| bins.cell(x)).map(u64::from),
                (Some(crate::data::Value::Text(t)), Binning::Categorical(cats)) => Some(cats.cell(t)),
                (Some(crate::data::Value::Bool(x)), Binning::Categorical(cats)) => Some(cats.cell(&x.to_string())),
                _ => None,
            })
        }
        (Extract::Feature { index, categorical: false }, Binning::Numeric(bins)) => {
            let (lookup, rows) = (bins.lookup(), b.rows.as_slice());
            offer_events(feed, spec, b, |k| lookup.cell(rows[k * width + index]).map(u64::from))
        }
        (Extract::Feature { index, .. }, Binning::Categorical(cats)) => {
            offer_events(feed, spec, b, |k| match model.features.cell(*index, &events[k].values) {
                Cell::Text(t) => Some(cats.cell(&t)),
                _ => None,
            })
        }
        _ => 0,
    };
    // How far this worker has come: the next event number, or the newest event time.
    let progress = match spec.measure {
        crate::program::Measure::Events => b.reach().seq.map(|m| m + 1),
        crate::program::Measure::EventTime => b.reach().ts.map(|t| t.max(0) as u64),
    };
    if let Some(p) = progress {
        feed.advance(p);
    }
    board.add_late(m.index, late);
}

/// Offers the cell of each of the batch's events (`cell(k)` for event `k`, `None` without one):
/// counted by runs when the positions are event numbers in ascending order (a generated or CSV
/// share), one by one otherwise. Returns how many were late.
fn offer_events(feed: &mut Feed, spec: &WindowSpec, b: &Batch, mut cell: impl FnMut(usize) -> Option<u64>) -> u64 {
    let events = &b.events;
    if spec.measure == crate::program::Measure::Events && b.reach().ascending {
        feed.offer_ascending(events.len(), |k| events[k].seq, cell)
    } else {
        feed.offer_many(
            (0..events.len()).filter_map(|k| cell(k).map(|c| (spec.position(events[k].seq, events[k].ts_ms), c))),
        )
    }
}

/// What the rules stage reads and acts on: the monitors' board and registry, the served model,
/// and the run's counters (for guardrails on run metrics).
pub struct RulesContext {
    pub drift: Arc<DriftRuntime>,
    pub handle: Arc<ModelHandle>,
    pub stats: Arc<Stats>,
    pub started: Instant,
}

/// The `rules` stage of one monitor: runs on the worker that owns the monitor's windows.
pub struct Rules {
    monitor: Monitor,
    rules: Vec<RuleState>,
    guardrails: Vec<(Guardrail, Hysteresis)>,
    cx: RulesContext,
}

impl Rules {
    /// The stage for `monitor`, with the rules and guardrails the plan's `rules` operator holds.
    pub fn new(monitor: &Monitor, rules: &[DriftRule], guardrails: &[Guardrail], cx: RulesContext) -> Rules {
        Rules {
            monitor: monitor.clone(),
            rules: rules.iter().cloned().map(RuleState::new).collect(),
            guardrails: guardrails.iter().map(|g| (g.clone(), Hysteresis::default())).collect(),
            cx,
        }
    }

    /// Records the window, evaluates the rules and guardrails, carries out their actions, and
    /// returns the alerts, for the `alerts` sinks the plan connects to this operator.
    pub fn on_window(&mut self, w: &WindowStats) -> Vec<Alert> {
        let drift = self.cx.drift.clone();
        drift.board.record_window(self.monitor.index, w);
        let mut alerts = Vec::new();
        let trips: Vec<_> =
            self.rules.iter_mut().filter_map(|r| r.check(&w.statistics).map(|t| (r.rule.clone(), t))).collect();
        drift.board.set_rule_state(self.monitor.index, self.rules.iter().map(|r| r.status(&w.statistics)).collect());
        for (rule, trip) in trips {
            {
                let outcome = self.act(&rule.action, &format!("drift `{}`", self.monitor.drift.name));
                let text = rule.to_string();
                alerts.push(self.alert(
                    w,
                    text,
                    rule.statistic.name.clone(),
                    rule.op.symbol().into(),
                    rule.threshold,
                    trip.value,
                    rule.for_windows,
                    &rule.action,
                    outcome,
                ));
            }
        }
        let mut tripped = Vec::new();
        for (g, h) in &mut self.guardrails {
            let holds = g.condition.evaluate(&|m| metric_value(m, &drift.board, &self.cx)) == Some(true);
            if h.step(holds, g.for_windows) {
                tripped.push(g.clone());
            }
        }
        for g in tripped {
            let text = format!("{} when {} for {} window(s)", g.action, g.condition, g.for_windows);
            let outcome = self.act(&g.action, &format!("guardrail `{text}`"));
            let value = first_value(&g.condition, &drift.board).unwrap_or(f64::NAN);
            let threshold = match &g.condition {
                Condition::Compare { value, .. } => *value,
                _ => f64::NAN,
            };
            alerts.push(self.alert(
                w,
                text,
                "guardrail".into(),
                String::new(),
                threshold,
                value,
                g.for_windows,
                &g.action,
                outcome,
            ));
        }
        if alerts.is_empty() {
            return alerts;
        }
        for a in &alerts {
            tracing::warn!(
                "{} {}: `{}` at {:.4} on window {} ({}..{}, n {}) → {}",
                if a.statistic == "guardrail" { "GUARDRAIL" } else { "ALERT" },
                a.drift,
                a.rule,
                a.value,
                a.window.index,
                a.window.start,
                a.window.end,
                a.window.n,
                a.outcome
            );
        }
        for a in &alerts {
            drift.board.record_alert(Some(self.monitor.index), a.clone());
        }
        alerts
    }

    #[allow(clippy::too_many_arguments)]
    fn alert(
        &self,
        w: &WindowStats,
        rule: String,
        statistic: String,
        op: String,
        threshold: f64,
        value: f64,
        for_windows: u32,
        action: &Action,
        outcome: String,
    ) -> Alert {
        Alert {
            drift: self.monitor.drift.name.clone(),
            target: self.monitor.drift.target.to_string(),
            rule,
            window: AlertWindow { index: w.index, start: w.start, end: w.end, n: w.statistics.n },
            statistic,
            op,
            threshold,
            value,
            for_windows,
            action: action.to_string(),
            outcome,
            at_ms: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_millis() as u64),
        }
    }

    /// Carries out an action; returns what happened, in words.
    fn act(&self, action: &Action, why: &str) -> String {
        match action {
            Action::Alert => "alerted".into(),
            // The alert line itself is the log entry.
            Action::Log => "logged".into(),
            Action::Rollback => roll_back(self.cx.drift.registry.as_ref(), &self.cx.handle, &self.cx.drift.model, why),
            Action::AbortCanary | Action::Shed { .. } | Action::Abort => {
                format!("`{action}` needs a scenario; `run` only records it")
            }
        }
    }
}

/// A guardrail's `rollback`: the registry's production pointer back one version, and the served
/// model reloaded from it; returns what happened, in words (`rolled price back from v2 to v1`).
pub fn roll_back(registry: &dyn Registry, handle: &ModelHandle, model: &ModelPlan, why: &str) -> String {
    let name = model.model.registered_name();
    let from = handle.current().version();
    match registry.rollback(name, &format!("{why} tripped")) {
        Ok(to) => match handle.refresh(registry, &model.features, model.model.predictor) {
            Ok(_) => format!("rolled {name} back from v{from} to v{to}"),
            Err(e) => format!("rolled {name} back to v{to} in the registry, but cannot load it: {e}"),
        },
        Err(e) => format!("cannot roll {name} back: {e}"),
    }
}

/// A guardrail metric over the whole run so far (the SLOs' window arithmetic, from the start).
fn metric_value(m: &Metric, board: &DriftBoard, cx: &RulesContext) -> Option<f64> {
    let (events, _, dead) = cx.stats.load();
    // Only a latency metric needs its histogram copied.
    let latency = match m {
        Metric::Latency { http: true, .. } => Some(cx.stats.http_latency()),
        Metric::Latency { http: false, .. } => Some(cx.stats.latency()),
        _ => None,
    };
    WindowMetrics {
        seconds: cx.started.elapsed().as_secs_f64(),
        events,
        dead,
        latency: latency.as_ref(),
        http_latency: latency.as_ref(),
        drift: Some(board),
    }
    .value(m)
}

/// The value of the first drift statistic a condition compares, for the alert record.
fn first_value(c: &Condition, board: &DriftBoard) -> Option<f64> {
    let (statistic, drift) = c.first_drift_metric()?;
    board.last(drift)?.statistics.named(statistic)
}
