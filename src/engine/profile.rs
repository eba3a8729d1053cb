//! Where a worker's time goes, per plan operator: batches, events in and out, and the time
//! spent in the operator's own code. Each stage counts into its own [`OpTimer`] (no sharing on
//! the hot path) and publishes when the dataflow is dropped; `explain --analyze` prints it.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// One operator's counts (summed over workers).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct OpProfile {
    pub batches: u64,
    pub events_in: u64,
    pub events_out: u64,
    pub nanos: u64,
}

impl OpProfile {
    fn add(&mut self, o: &OpProfile) {
        self.batches += o.batches;
        self.events_in += o.events_in;
        self.events_out += o.events_out;
        self.nanos += o.nanos;
    }
}

/// Every operator's counts, and the workers' total running time.
#[derive(Debug, Default)]
pub struct Profile {
    ops: Mutex<BTreeMap<usize, OpProfile>>,
    worker_nanos: AtomicU64,
}

impl Profile {
    /// Adds one worker's counts for operator `id`.
    pub fn add(&self, id: usize, p: &OpProfile) {
        self.ops.lock().unwrap_or_else(|e| e.into_inner()).entry(id).or_default().add(p);
    }

    /// Adds one worker's running time.
    pub fn add_worker_nanos(&self, nanos: u64) {
        self.worker_nanos.fetch_add(nanos, Ordering::Relaxed);
    }

    /// Counts by operator id.
    pub fn ops(&self) -> BTreeMap<usize, OpProfile> {
        self.ops.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The workers' running time, summed.
    pub fn worker_nanos(&self) -> u64 {
        self.worker_nanos.load(Ordering::Relaxed)
    }
}

/// One worker's counter for one operator; publishes into the [`Profile`] when dropped.
pub struct OpTimer {
    id: usize,
    local: OpProfile,
    profile: Arc<Profile>,
}

impl OpTimer {
    pub fn new(id: usize, profile: Arc<Profile>) -> Self {
        OpTimer { id, local: OpProfile::default(), profile }
    }

    /// Runs `f`, counting one batch of `events_in` events and its time.
    pub fn time<T>(&mut self, events_in: usize, f: impl FnOnce() -> T) -> T {
        let start = Instant::now();
        let out = f();
        self.local.nanos += start.elapsed().as_nanos() as u64;
        self.local.batches += 1;
        self.local.events_in += events_in as u64;
        out
    }

    /// Counts the events the last batch left with.
    pub fn emitted(&mut self, events_out: usize) {
        self.local.events_out += events_out as u64;
    }
}

impl Drop for OpTimer {
    fn drop(&mut self) {
        if self.local.batches > 0 {
            self.profile.add(self.id, &self.local);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timers_publish_their_counts_when_dropped_and_sum_over_workers() {
        let profile = Arc::new(Profile::default());
        let mut workers: Vec<OpTimer> = (0..2).map(|_| OpTimer::new(3, profile.clone())).collect();
        for t in &mut workers {
            let kept = t.time(10, || 7usize);
            assert_eq!(kept, 7);
            t.emitted(kept);
            t.time(5, || ());
            t.emitted(5);
        }
        assert!(profile.ops().is_empty(), "nothing is published before the drop");
        drop(workers);
        let p = profile.ops()[&3];
        assert_eq!((p.batches, p.events_in, p.events_out), (4, 30, 24));
    }
}
