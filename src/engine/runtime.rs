//! What all workers of a run share: the model handle, the sinks, the counters, the stop flag.

use super::drift::{DriftRuntime, RulesContext};
pub use super::sink::SinkRuntime;
use super::stats::Stats;
use crate::model::serving::ModelHandle;
use crate::program::Schema;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Instant;

/// Shared by every worker of one run.
pub struct Runtime {
    pub started: Instant,
    /// The schema of the source being run.
    pub schema: Schema,
    pub model: Arc<ModelHandle>,
    pub sinks: Vec<Arc<SinkRuntime>>,
    pub stats: Arc<Stats>,
    /// Set by Ctrl-C, SIGTERM or the duration limit; sources stop producing.
    pub stop: Arc<AtomicBool>,
    /// Drift monitors, when the pipeline declares any.
    pub drift: Option<Arc<DriftRuntime>>,
    /// A scenario's faults (stage delays).
    pub faults: Option<Arc<dyn super::injection::Faults>>,
}

impl Runtime {
    /// Holds the batch as a scenario's `latency(stage: ...)` fault says, if one is active.
    pub fn fault_delay(&self, stage: crate::program::Stage, draw: u64) {
        if let Some(d) =
            self.faults.as_ref().and_then(|f| f.delay(stage, self.started.elapsed().as_millis() as u64, draw))
        {
            std::thread::sleep(d);
        }
    }
}

impl Runtime {
    /// What a drift monitor's rules stage needs, when the run has drift monitors.
    pub fn rules_context(&self) -> Option<RulesContext> {
        Some(RulesContext {
            drift: self.drift.clone()?,
            handle: self.model.clone(),
            stats: self.stats.clone(),
            started: self.started,
        })
    }
}
