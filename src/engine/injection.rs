//! What a scenario injects into a run: the stream's pace and drift over time, and faults.
//! The engine calls these hooks; `scenario` implements them.

use crate::data::Event;
use std::time::Duration;

/// Stream traffic a scenario drives a source with.
pub trait StreamTraffic: Send + Sync + std::fmt::Debug {
    /// Events due, in all, by `elapsed` seconds after the run started.
    fn due(&self, elapsed: f64) -> f64;
    /// Changes an event as the scenario's drift says at `elapsed_ms` after the start.
    fn alter(&self, elapsed_ms: u64, event: &mut Event);
}

/// Faults a scenario injects into a run. Every draw depends only on the seed and what it is for.
pub trait Faults: Send + Sync + std::fmt::Debug {
    /// Whether the source drops this event now (it is counted, never silently lost).
    fn drop_at_source(&self, elapsed_ms: u64, id: u64) -> bool;
    /// How long `stage` holds a batch now; `draw` tells batches apart.
    fn delay(&self, stage: crate::program::Stage, elapsed_ms: u64, draw: u64) -> Option<Duration>;
    /// Whether worker `worker` is stalled now.
    fn stalled(&self, worker: usize, elapsed_ms: u64) -> bool;
}
