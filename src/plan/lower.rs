//! Program → plan.

use super::*;
use crate::program::{DriftTarget, Program};

/// Most rows one inference call takes.
const MAX_BATCH: usize = 1024;

/// Lowers a checked program for `workers` worker threads.
pub fn lower(program: &Program, workers: usize) -> Plan {
    let entry = program.files.first().cloned().unwrap_or_default();
    let mut seen = Vec::new();
    let running = running_sources(program, &entry, &mut seen);
    let dataflows = running.into_iter().map(|s| dataflow(program, s)).collect();
    let models = program
        .models
        .iter()
        .filter_map(|m| {
            let features = program.feature_set(&m.features)?.clone();
            let schema = program.schema(&features.schema)?.clone();
            Some(ModelPlan { model: m.clone(), features, schema })
        })
        .collect();
    Plan {
        workers,
        files: program.files.clone(),
        dataflows,
        models,
        serve: program.serve.clone(),
        slos: program.slos.clone(),
        guardrails: program.guardrails.clone(),
        scenarios: program.scenarios.clone(),
        auctions: program.auctions.clone(),
    }
}

/// The sources a file runs: those it declares, which replace the sources of the files it uses;
/// else those of the files it uses (a scenario that uses a Kafka pipeline, which uses the
/// default one, runs the Kafka source).
fn running_sources<'p>(program: &'p Program, file: &str, seen: &mut Vec<String>) -> Vec<&'p Source> {
    if seen.iter().any(|f| f == file) {
        return Vec::new();
    }
    seen.push(file.to_string());
    let own: Vec<&Source> = program.sources.iter().filter(|s| s.file == file).collect();
    if !own.is_empty() {
        return own;
    }
    let mut out: Vec<&Source> = Vec::new();
    for (_, used) in program.uses.iter().filter(|(user, _)| user == file) {
        for s in running_sources(program, used, seen) {
            if !out.iter().any(|o| o.name == s.name) {
                out.push(s);
            }
        }
    }
    if out.is_empty() && program.uses.is_empty() {
        // A program put together without its use graph: every source.
        return program.sources.iter().collect();
    }
    out
}

struct Builder {
    ops: Vec<Operator>,
}

impl Builder {
    fn add(&mut self, kind: OperatorKind, inputs: Vec<Input>, exchange: Exchange) -> usize {
        let id = self.ops.len();
        self.ops.push(Operator { id, kind, inputs, exchange });
        id
    }
}

fn main_of(id: usize) -> Vec<Input> {
    vec![Input { from: id, port: Port::Main }]
}

fn dataflow(program: &Program, source: &Source) -> Dataflow {
    let mut b = Builder { ops: Vec::new() };
    let src = b.add(OperatorKind::Source { source: source.clone() }, vec![], Exchange::Pipeline);
    let schema = program.schema(&source.schema).cloned().expect("checked sources name a schema");
    let valid = b.add(OperatorKind::Validate { schema }, main_of(src), Exchange::Pipeline);

    // The models reading this source's schema, with their features.
    let models: Vec<_> = program
        .models
        .iter()
        .filter(|m| program.feature_set(&m.features).is_some_and(|f| f.schema == source.schema))
        .collect();
    let mut predicted = None;
    let mut featured = Vec::new();
    for m in &models {
        let set = program.feature_set(&m.features).expect("checked").clone();
        let f = b.add(OperatorKind::Features { set: set.clone() }, main_of(valid), Exchange::Pipeline);
        featured.push((set.name.clone(), f));
        let p = b.add(
            OperatorKind::Predict { model: m.name.clone(), batch: BatchPolicy::Adaptive { max: MAX_BATCH } },
            main_of(f),
            Exchange::Pipeline,
        );
        predicted.get_or_insert((m.name.clone(), p));
    }

    // Monitors are numbered in plan order; monitor k is owned by worker k % workers.
    let mut monitor = 0;
    for d in &program.drifts {
        let input = match &d.target {
            DriftTarget::Field { schema, .. } if *schema == source.schema => Some(valid),
            DriftTarget::Feature { set, .. } => featured.iter().find(|(n, _)| n == set).map(|(_, id)| *id),
            DriftTarget::Prediction { model } => predicted.as_ref().filter(|(n, _)| n == model).map(|(_, id)| *id),
            _ => None,
        };
        let Some(input) = input else { continue };
        // Numeric targets always get PSI and KS; categorical ones PSI over categories.
        let bins = d.psi_bins().unwrap_or(10);
        let cells = d.ks_cells().unwrap_or(if d.categorical { 0 } else { 1000 });
        let c = b.add(
            OperatorKind::DriftCells {
                drift: d.name.clone(),
                target: d.target.clone(),
                cells,
                bins,
                exact: d.ks_exact(),
            },
            main_of(input),
            Exchange::Pipeline,
        );
        let w = b.add(OperatorKind::DriftWindow { drift: d.clone() }, main_of(c), Exchange::ToOwner { monitor });
        monitor += 1;
        // Every window reports all its statistics; the rules read some of them.
        let s = b.add(OperatorKind::DriftStats { drift: d.name.clone(), bins, cells }, main_of(w), Exchange::Pipeline);
        let rules = d.rules.clone();
        // A guardrail runs on the windows of the first drift it names (decided here, once).
        let guardrails = program
            .guardrails
            .iter()
            .filter(|g| g.condition.drifts().first() == Some(&d.name.as_str()))
            .cloned()
            .collect();
        b.add(OperatorKind::Rules { drift: d.name.clone(), rules, guardrails }, main_of(s), Exchange::Pipeline);
    }

    for sink in &program.sinks {
        let input = match sink.stream {
            Stream::Predictions => predicted.as_ref().map(|(_, id)| Input { from: *id, port: Port::Main }),
            Stream::DeadLetters => Some(Input { from: valid, port: Port::Rejected }),
            // Every monitor's `rules` operator feeds the alerts (SLO violations come from the run).
            Stream::Alerts => None,
        };
        let inputs = match (sink.stream, input) {
            (Stream::Alerts, _) => b
                .ops
                .iter()
                .filter(|o| matches!(o.kind, OperatorKind::Rules { .. }))
                .map(|o| Input { from: o.id, port: Port::Main })
                .collect(),
            (_, Some(input)) => vec![input],
            (_, None) => continue,
        };
        let s = b.add(
            OperatorKind::Sink { sink: sink.name.clone(), stream: sink.stream, targets: sink.targets.clone() },
            inputs,
            Exchange::Pipeline,
        );
        if sink.stream == Stream::Predictions {
            b.add(OperatorKind::Latency, main_of(s), Exchange::Pipeline);
        }
    }
    Dataflow { source: source.name.clone(), operators: b.ops }
}
