//! Checked program → dataflow plan: the operators each worker runs, where records
//! are exchanged between workers, the windows, models and sinks. Plain serde data:
//! `explain` prints it and the engine renders it, without looking at the AST again.

mod explain;
mod lower;

pub use explain::explain;
pub use lower::lower;

use crate::program::{
    Auction, Condition, Drift, DriftRule, DriftTarget, FeatureSet, Guardrail, Model, Scenario, Schema, Serve,
    SinkTarget, Source, Stream,
};
use serde::{Deserialize, Serialize};

/// Everything a run needs.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Plan {
    pub workers: usize,
    /// The files the plan came from, the entry first.
    pub files: Vec<String>,
    /// One dataflow per source that runs.
    pub dataflows: Vec<Dataflow>,
    pub models: Vec<ModelPlan>,
    pub serve: Option<Serve>,
    pub slos: Vec<Condition>,
    pub guardrails: Vec<Guardrail>,
    pub scenarios: Vec<Scenario>,
    pub auctions: Vec<Auction>,
}

impl Plan {
    /// The plan as process `process` of a cluster runs it: each process writes its own
    /// files (`out/predictions.jsonl` → `out/predictions.p1.jsonl`) and serves HTTP on the
    /// declared port plus its index (`--port 0` stays "any free port"), so processes
    /// started in one folder never clash.
    pub fn for_process(mut self, process: usize) -> Plan {
        for df in &mut self.dataflows {
            for op in &mut df.operators {
                if let OperatorKind::Sink { targets, .. } = &mut op.kind {
                    for t in targets {
                        if let SinkTarget::File { path, .. } = t {
                            *path = per_process_path(path, process);
                        }
                    }
                }
            }
        }
        if let Some(serve) = &mut self.serve {
            if serve.port != 0 {
                serve.port = serve.port.saturating_add(process as u16);
            }
        }
        self
    }
}

/// `out/predictions.jsonl` → `out/predictions.p1.jsonl` (`.p1` before the extension).
pub fn per_process_path(path: &str, process: usize) -> String {
    let p = std::path::Path::new(path);
    let stem = p.file_stem().map_or(String::new(), |s| s.to_string_lossy().into_owned());
    let name = match p.extension() {
        Some(ext) => format!("{stem}.p{process}.{}", ext.to_string_lossy()),
        None => format!("{stem}.p{process}"),
    };
    p.with_file_name(name).display().to_string()
}

/// The operators fed by one source, in topological order.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Dataflow {
    pub source: String,
    pub operators: Vec<Operator>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Operator {
    /// Index in [`Dataflow::operators`].
    pub id: usize,
    pub kind: OperatorKind,
    /// Operators whose output this one reads (with the port, for operators with several outputs).
    pub inputs: Vec<Input>,
    /// How input records reach this operator's workers.
    pub exchange: Exchange,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Input {
    pub from: usize,
    pub port: Port,
}

/// An operator's outputs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Port {
    Main,
    /// Events that failed validation.
    Rejected,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Exchange {
    /// Records stay on the worker that produced them.
    Pipeline,
    /// A drift monitor's updates all go to the worker that owns it: worker `monitor % workers`.
    ToOwner { monitor: usize },
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "op")]
pub enum OperatorKind {
    /// Reads events; each worker its own share (generator event numbers or CSV rows modulo the
    /// workers, Kafka partitions modulo the workers).
    Source { source: Source },
    /// Checks each event against its schema; bad events leave on the `rejected` port.
    Validate { schema: Schema },
    /// Computes the feature vector with the compiled feature code.
    Features { set: FeatureSet },
    /// Batched inference with the registry's production model.
    Predict { model: String, batch: BatchPolicy },
    /// Maps each batch's values to cells of the baseline and pre-aggregates them per window.
    DriftCells {
        drift: String,
        target: DriftTarget,
        cells: u32,
        bins: u32,
        /// `ks(exact)`: also two cells per training value.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        exact: bool,
    },
    /// The window as a differential collection of cell counts, in the monitors' dataflow whose
    /// time is the window index: +n when values enter, the same counts negated `size/every`
    /// windows later when they leave (both put in by the feeds). Updates go to the worker that
    /// owns the monitor.
    DriftWindow { drift: Drift },
    /// Accumulates the updates into counts per cell as the frontier passes each window index,
    /// and derives every registered statistic from them (PSI over `bins` bins; the grid ones
    /// over `cells` cells, none when 0).
    DriftStats { drift: String, bins: u32, cells: u32 },
    /// Evaluates rules and guardrails per window; emits alerts and registry actions. The plan
    /// decides here, once, which drift each guardrail runs on (the first it names).
    Rules { drift: String, rules: Vec<DriftRule>, guardrails: Vec<Guardrail> },
    /// Writes records to every target of a sink.
    Sink { sink: String, stream: Stream, targets: Vec<SinkTarget> },
    /// Records ingest-to-sink latency into a histogram per worker, merged at the end.
    Latency,
}

impl OperatorKind {
    /// A short name for listings.
    /// The drift monitor this operator belongs to: `drift-window`, `drift-stats` and `rules` run
    /// in the monitors' dataflow (timed by window index), fed by the main dataflow's
    /// `drift-cells`.
    pub fn monitor(&self) -> Option<&str> {
        match self {
            OperatorKind::DriftWindow { drift } => Some(&drift.name),
            OperatorKind::DriftStats { drift, .. } | OperatorKind::Rules { drift, .. } => Some(drift),
            _ => None,
        }
    }

    /// Whether the operator runs in the main dataflow, timed by batch: not a monitor's operator,
    /// nor an `alerts` sink (fed by the monitors' `rules` operators).
    pub fn in_main_dataflow(&self) -> bool {
        self.monitor().is_none() && !matches!(self, OperatorKind::Sink { stream: Stream::Alerts, .. })
    }

    pub fn name(&self) -> &'static str {
        match self {
            OperatorKind::Source { .. } => "source",
            OperatorKind::Validate { .. } => "validate",
            OperatorKind::Features { .. } => "features",
            OperatorKind::Predict { .. } => "predict",
            OperatorKind::DriftCells { .. } => "drift-cells",
            OperatorKind::DriftWindow { .. } => "drift-window",
            OperatorKind::DriftStats { .. } => "drift-stats",
            OperatorKind::Rules { .. } => "rules",
            OperatorKind::Sink { .. } => "sink",
            OperatorKind::Latency => "latency",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum BatchPolicy {
    /// Batch whatever is available at each step, up to `max` rows.
    Adaptive { max: usize },
}

/// A model with everything needed to train, load and serve it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ModelPlan {
    pub model: Model,
    pub features: FeatureSet,
    pub schema: Schema,
}

#[cfg(test)]
mod tests;
