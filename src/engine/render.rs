//! Plan → timely dataflow: one function per operator kind, each adding its stage to the
//! worker's chain of batches. Every stage is pipelined (no exchange): a worker carries its
//! own share of the events from source to sink.

use super::batch::{Batch, Spent};
use super::drift::{feed_batch, Feeds, Monitor, Rules};
use super::profile::OpTimer;
use super::record::PredictionRecord;
use super::runtime::{Runtime, SinkRuntime};
use super::stats::new_histogram;
use crate::data::dead_letter::DeadLetter;
use crate::data::validate::validate;
use crate::drift::{window_collection, window_statistics, Alert, CellDelta, Feed, SharedInput, WindowStats};
use crate::plan::{BatchPolicy, Dataflow, Exchange, Operator, OperatorKind};
use crate::program::Schema;
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use timely::container::CapacityContainerBuilder;
use timely::dataflow::channels::pact::Pipeline;
use timely::dataflow::operators::generic::operator::Operator as _;
use timely::dataflow::operators::Inspect;
use timely::dataflow::Stream;

type Batches<'s> = Stream<'s, u64, Vec<Batch>>;

/// Adds every operator of `df` after the source stream; returns the end of the chain.
/// `feeds` are this worker's inputs to the drift window collections, one per monitor.
/// The last stage gives the batch's events to `spent`, for the source to write new ones into.
pub fn render<'s>(df: &Dataflow, source: Batches<'s>, rt: &Arc<Runtime>, feeds: &Feeds, spent: &Spent) -> Batches<'s> {
    let mut stream = source;
    // Monitor operators and the alerts sinks they feed are in the monitors' dataflow
    // (`render_drift`).
    let ops: Vec<&Operator> = df.operators.iter().filter(|o| o.kind.in_main_dataflow()).collect();
    let mut rest = ops.as_slice();
    while let Some(op) = rest.first() {
        // Consecutive `drift-cells` stages are one timely operator: each batch goes through every
        // monitor's feed in turn, with no channel or progress tracking between them.
        let cells = rest.iter().take_while(|o| matches!(o.kind, OperatorKind::DriftCells { .. })).count();
        if cells > 0 {
            stream = render_drift_cells(stream, &rest[..cells], rt, feeds);
            rest = &rest[cells..];
        } else {
            stream = render_operator(op, stream, rt);
            rest = &rest[1..];
        }
    }
    render_accounting(stream, rt.clone(), spent.clone())
}

/// Builds the monitors' dataflow, whose logical time is the window index, from the plan's
/// operators for each monitor: `drift-window` (the window collection, exchanged as the plan
/// says), `drift-stats` (the statistics per window) and `rules`. Monitors whose windows have the
/// same shape share one input, one exchange and one operator for each of the other two stages
/// ([`SharedInput`]): their window indices are the same times, so the group's progress moves once
/// per window. Returns this worker's feeds into them, in the monitors' order, which the main
/// dataflow's `drift-cells` stages fill.
pub fn render_drift(
    worker: &mut timely::worker::Worker,
    df: &Dataflow,
    monitors: &[Monitor],
    rt: &Arc<Runtime>,
) -> Feeds {
    use differential_dataflow::input::Input;
    if monitors.is_empty() {
        return Vec::new();
    }
    let (index, peers) = (worker.index(), worker.peers());
    let mut groups: Vec<Vec<&Monitor>> = Vec::new();
    for m in monitors {
        match groups.iter_mut().find(|g| g[0].spec == m.spec) {
            Some(g) => g.push(m),
            None => groups.push(vec![m]),
        }
    }
    worker.dataflow::<u64, _, _>(|scope| {
        let mut feeds: Vec<Option<Rc<RefCell<Feed>>>> = vec![None; monitors.len()];
        for group in groups {
            let spec = group[0].spec;
            let (input, updates) = scope.new_collection::<u32, CellDelta>();
            let mut owners = Vec::with_capacity(group.len());
            let mut rules: Vec<Option<Rules>> = (0..group.len()).map(|_| None).collect();
            let mut sinks = Vec::new();
            for (slot, m) in group.iter().enumerate() {
                let mut owner = index;
                for op in df.operators.iter().filter(|o| o.kind.monitor() == Some(m.drift.name.as_str())) {
                    match &op.kind {
                        OperatorKind::DriftWindow { .. } => {
                            owner = match op.exchange {
                                Exchange::ToOwner { monitor } => monitor % peers,
                                Exchange::Pipeline => index,
                            };
                        }
                        // Rendered once for the group, below.
                        OperatorKind::DriftStats { .. } => {}
                        OperatorKind::Rules { rules: r, guardrails, .. } => {
                            let cx = rt.rules_context().expect("a run with drift monitors has their runtime");
                            rules[slot] = Some(Rules::new(m, r, guardrails, cx));
                            // The `alerts` sinks the plan feeds from this operator.
                            for sink in df.operators.iter().filter(|s| s.inputs.iter().any(|i| i.from == op.id)) {
                                if let OperatorKind::Sink { sink: name, .. } = &sink.kind {
                                    if let Some(target) = rt.sinks.iter().find(|s| &s.name == name).cloned() {
                                        sinks.push((slot as u32, target));
                                    }
                                }
                            }
                        }
                        _ => unreachable!("only monitor operators are selected"),
                    }
                }
                owners.push(owner as u64);
            }
            let window = window_collection(updates, owners);
            let binnings = group.iter().map(|m| m.binning.clone()).collect();
            let windows = window_statistics(window, binnings, spec);
            let alerts = render_rules(windows, rules);
            for (slot, target) in sinks {
                alerts.clone().inspect(move |(s, a)| {
                    if *s == slot {
                        target.write_alerts(std::slice::from_ref(a));
                    }
                });
            }
            let input = SharedInput::new(input, group.len());
            for (slot, m) in group.iter().enumerate() {
                feeds[m.index] = Some(Rc::new(RefCell::new(Feed::new(spec, &m.binning, input.clone(), slot as u32))));
            }
        }
        feeds.into_iter().map(|f| f.expect("every monitor is in a group")).collect()
    })
}

/// The `rules` operator of monitors that share an input (`rules[monitor]`, for those whose plan
/// has one): each window's statistics in, the alerts each monitor's rules and guardrails raise
/// out, as (monitor, alert).
fn render_rules<'s>(
    windows: Stream<'s, u64, Vec<(u32, WindowStats)>>,
    mut rules: Vec<Option<Rules>>,
) -> Stream<'s, u64, Vec<(u32, Alert)>> {
    windows.unary::<CapacityContainerBuilder<Vec<(u32, Alert)>>, _, _, _>(Pipeline, "Rules", move |_, _| {
        move |input, output| {
            input.for_each(|cap, data| {
                let mut alerts = Vec::new();
                for (slot, w) in data.iter() {
                    if let Some(r) = rules[*slot as usize].as_mut() {
                        alerts.extend(r.on_window(w).into_iter().map(|a| (*slot, a)));
                    }
                }
                if !alerts.is_empty() {
                    output.session(&cap).give_iterator(alerts.into_iter());
                }
            });
        }
    })
}

fn render_operator<'s>(op: &Operator, stream: Batches<'s>, rt: &Arc<Runtime>) -> Batches<'s> {
    // Each stage counts its batches, events and time for `explain --analyze`.
    let timer = Some(OpTimer::new(op.id, rt.stats.profile.clone()));
    match &op.kind {
        // The source is the input the driver feeds; nothing to add.
        OperatorKind::Source { .. } => stream,
        OperatorKind::Validate { schema } => render_validate(stream, schema.clone(), rt.clone(), timer),
        OperatorKind::Features { .. } => render_features(stream, rt.clone(), timer),
        OperatorKind::Predict { batch: BatchPolicy::Adaptive { max }, .. } => {
            render_predict(stream, rt.clone(), *max, timer)
        }
        OperatorKind::Sink { sink, .. } => match rt.sinks.iter().find(|s| &s.name == sink) {
            Some(s) => render_sink(stream, s.clone(), timer),
            None => stream,
        },
        OperatorKind::Latency => render_latency(stream, rt.clone(), timer),
        OperatorKind::DriftCells { .. } => unreachable!("`render` renders each run of drift-cells stages as one"),
        OperatorKind::DriftWindow { .. } | OperatorKind::DriftStats { .. } | OperatorKind::Rules { .. } => {
            unreachable!("`render` leaves monitor operators to `render_drift`")
        }
    }
}

/// The `drift-cells` stages `ops` as one operator: each batch's values go to each monitor's
/// feed in turn, each timed as its own plan operator.
fn render_drift_cells<'s>(stream: Batches<'s>, ops: &[&Operator], rt: &Arc<Runtime>, feeds: &Feeds) -> Batches<'s> {
    let Some(drift) = rt.drift.clone() else { return stream };
    let mut monitors: Vec<(Monitor, Rc<RefCell<Feed>>, OpTimer)> = ops
        .iter()
        .filter_map(|op| {
            let OperatorKind::DriftCells { drift: name, .. } = &op.kind else { return None };
            let m = drift.monitors.iter().find(|m| &m.drift.name == name)?;
            Some((m.clone(), feeds[m.index].clone(), OpTimer::new(op.id, rt.stats.profile.clone())))
        })
        .collect();
    if monitors.is_empty() {
        return stream;
    }
    let rt = rt.clone();
    stage(stream, "DriftCells", None, move |b| {
        let model = rt.model.current();
        for (m, feed, timer) in monitors.iter_mut() {
            timer.time(b.events.len(), || feed_batch(m, &mut feed.borrow_mut(), b, &model, &drift.board));
            timer.emitted(b.events.len());
        }
    })
}

/// A stage that rewrites each batch in place, timed by `timer` when it is a plan operator.
fn stage<'s>(
    stream: Batches<'s>,
    name: &str,
    mut timer: Option<OpTimer>,
    mut f: impl FnMut(&mut Batch) + 'static,
) -> Batches<'s> {
    stream.unary::<CapacityContainerBuilder<Vec<Batch>>, _, _, _>(Pipeline, name, move |_, _| {
        move |input, output| {
            input.for_each(|cap, data| {
                for batch in data.iter_mut() {
                    match timer.as_mut() {
                        Some(t) => {
                            let events = batch.events.len();
                            t.time(events, || f(batch));
                            t.emitted(batch.events.len());
                        }
                        None => f(batch),
                    }
                }
                output.session(&cap).give_container(data);
            });
        }
    })
}

fn render_validate<'s>(stream: Batches<'s>, schema: Schema, rt: Arc<Runtime>, timer: Option<OpTimer>) -> Batches<'s> {
    stage(stream, "Validate", timer, move |b| {
        // Rows the source already rejected (bad CSV rows) count as events in, too.
        rt.stats.events_in.fetch_add((b.events.len() + b.rejected.len()) as u64, Ordering::Relaxed);
        let events = std::mem::take(&mut b.events);
        for e in events {
            match validate(&schema, &e) {
                Ok(()) => b.events.push(e),
                Err(invalid) => b.rejected.push(DeadLetter::new(&schema, &e, &invalid)),
            }
        }
    })
}

fn render_features<'s>(stream: Batches<'s>, rt: Arc<Runtime>, timer: Option<OpTimer>) -> Batches<'s> {
    stage(stream, "Features", timer, move |b| {
        rt.fault_delay(crate::program::Stage::Features, b.events.first().map_or(0, |e| e.id));
        // One snapshot per batch: its features and predictions come from one version.
        let model = rt.model.current();
        b.rows = model.rows(b.events.iter().map(|e| e.values.as_slice()));
        b.model = Some(model);
    })
}

/// Predicts each batch in calls of at most `max` rows (the plan's batch policy).
fn render_predict<'s>(stream: Batches<'s>, rt: Arc<Runtime>, max: usize, timer: Option<OpTimer>) -> Batches<'s> {
    stage(stream, "Predict", timer, move |b| {
        let Some(model) = b.model.take() else { return };
        rt.fault_delay(crate::program::Stage::Model, b.events.first().map_or(0, |e| e.id));
        let ingest_ns = b.ingest.duration_since(rt.started).as_nanos() as u64;
        let width = if b.events.is_empty() { 1 } else { (b.rows.len() / b.events.len()).max(1) };
        let limit = max.max(1) * width;
        let predicted = if b.rows.len() <= limit {
            model.predict_rows(&b.rows)
        } else {
            b.rows.chunks(limit).try_fold(Vec::with_capacity(b.events.len()), |mut all, rows| {
                all.extend(model.predict_rows(rows)?);
                Ok(all)
            })
        };
        match predicted {
            Ok(preds) => {
                if let Some(label) = label_index(&rt.schema, &model.meta.label) {
                    rt.stats.add_labelled(labelled(&b.events, &preds, label));
                }
                b.predictions = b
                    .events
                    .iter()
                    .zip(preds)
                    .map(|(e, p)| PredictionRecord {
                        id: e.id,
                        ts_ms: e.ts_ms,
                        estimated_price: p.estimate,
                        interval: p.interval,
                        model_version: p.version,
                        ingest_ns,
                        seq: e.seq,
                    })
                    .collect();
                rt.stats.model_version.store(model.version(), Ordering::Relaxed);
            }
            // A model that cannot predict a batch dead-letters it rather than stopping the run.
            Err(e) => {
                let message = e.to_string();
                b.rejected.extend(b.events.drain(..).map(|ev| DeadLetter::model_error(&rt.schema, &ev, &message)));
            }
        }
    })
}

/// The schema position of the model's label, if the events carry it.
fn label_index(schema: &crate::program::Schema, label: &str) -> Option<usize> {
    (!label.is_empty()).then(|| schema.fields.iter().position(|f| f.name == label)).flatten()
}

/// Online error and coverage of a batch's predictions whose events carry the label.
fn labelled(
    events: &[crate::data::Event],
    preds: &[crate::model::serving::Prediction],
    label: usize,
) -> super::stats::Labelled {
    let mut out = super::stats::Labelled::default();
    for (e, p) in events.iter().zip(preds) {
        let Some(y) = e.values.get(label).and_then(|v| match v {
            crate::data::Value::Num(y) if y.is_finite() => Some(*y),
            _ => None,
        }) else {
            continue;
        };
        out.count += 1;
        out.abs_error += (p.estimate - y).abs();
        if let Some([lo, hi]) = p.interval {
            out.with_interval += 1;
            out.covered += u64::from(lo <= y && y <= hi);
        }
    }
    out
}

fn render_sink<'s>(stream: Batches<'s>, sink: Arc<SinkRuntime>, timer: Option<OpTimer>) -> Batches<'s> {
    stage(stream, "Sink", timer, move |b| match sink.stream {
        crate::program::Stream::Predictions => {
            sink.write_predictions(&b.predictions, b.acks.as_ref());
        }
        crate::program::Stream::DeadLetters => sink.write_dead_letters(&b.rejected, b.acks.as_ref()),
        crate::program::Stream::Alerts => unreachable!("alerts sinks are rendered by `render_drift`"),
    })
}

/// Records each prediction's ingest-to-sink latency (the plan puts it after the prediction sinks).
fn render_latency<'s>(stream: Batches<'s>, rt: Arc<Runtime>, timer: Option<OpTimer>) -> Batches<'s> {
    let mut recorder = LatencyRecorder { local: new_histogram(), batches: 0, rt };
    stage(stream, "Latency", timer, move |b| recorder.record(b))
}

/// A worker's latency histogram, published to the shared one now and then and when dropped.
struct LatencyRecorder {
    local: hdrhistogram::Histogram<u64>,
    batches: u64,
    rt: Arc<Runtime>,
}

impl LatencyRecorder {
    fn record(&mut self, b: &Batch) {
        let n = b.predictions.len() as u64;
        if n > 0 {
            let micros = (b.ingest.elapsed().as_micros() as u64).clamp(1, self.local.high());
            let _ = self.local.record_n(micros, n);
        }
        self.batches += 1;
        // Publish now and then, so the progress line can read recent latencies.
        if self.batches.is_multiple_of(16) {
            self.rt.stats.merge_latency(&mut self.local);
        }
    }
}

impl Drop for LatencyRecorder {
    fn drop(&mut self) {
        self.rt.stats.merge_latency(&mut self.local);
    }
}

/// The last stage of every chain: counts what left the pipeline and how.
fn render_accounting<'s>(stream: Batches<'s>, rt: Arc<Runtime>, spent: Spent) -> Batches<'s> {
    stage(stream, "Accounting", None, move |b| {
        rt.stats.predictions_out.fetch_add(b.predictions.len() as u64, Ordering::Relaxed);
        if let Some(first) = b.predictions.first() {
            rt.stats.add_predictions(first.model_version, b.predictions.len() as u64);
        }
        if !b.rejected.is_empty() {
            rt.stats.dead_letters.fetch_add(b.rejected.len() as u64, Ordering::Relaxed);
            let mut reasons: BTreeMap<String, u64> = BTreeMap::new();
            for d in &b.rejected {
                *reasons.entry(d.reason.clone()).or_default() += 1;
            }
            rt.stats.add_reasons(&reasons);
        }
        b.predictions.clear();
        b.rejected.clear();
        spent.give(&mut b.events);
        b.rows.clear();
    })
}
