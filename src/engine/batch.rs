//! What flows through a worker's dataflow: batches of events, carried from stage to stage.

use super::record::PredictionRecord;
use crate::data::dead_letter::DeadLetter;
use crate::data::Event;
use crate::kafka::Acks;
use crate::model::serving::ServingModel;
use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Instant;

/// One batch: events as the source produced them, then split, featurized and predicted.
/// Moving one batch through the stages costs one message per stage, not one per event.
#[derive(Clone)]
pub struct Batch {
    /// When the source produced the batch: latency is measured from here.
    pub ingest: Instant,
    /// Events still on their way to a prediction.
    pub events: Vec<Event>,
    /// Events that failed (at the source, in validation, or in the model), with why.
    pub rejected: Vec<DeadLetter>,
    /// The model snapshot used for this batch's features and predictions.
    pub model: Option<Arc<ServingModel>>,
    /// Feature rows, row-major, one per event.
    pub rows: Vec<f64>,
    pub predictions: Vec<PredictionRecord>,
    /// The broker answers due for the Kafka records this batch produces, when its source
    /// commits offsets only after them (a Kafka source).
    pub acks: Option<Arc<Acks>>,
    /// How far its events reach, once asked.
    reach: std::cell::OnceCell<Reach>,
}

impl Batch {
    pub fn new(events: Vec<Event>) -> Self {
        Batch {
            ingest: Instant::now(),
            events,
            rejected: Vec::new(),
            model: None,
            rows: Vec::new(),
            predictions: Vec::new(),
            acks: None,
            reach: std::cell::OnceCell::new(),
        }
    }

    /// How far the batch's events reach: what every drift monitor asks. Computed when first
    /// asked: the drift stages ask after prediction, when no event moves to the rejects any
    /// more.
    pub fn reach(&self) -> Reach {
        *self.reach.get_or_init(|| Reach {
            seq: self.events.iter().map(|e| e.seq).chain(self.rejected.iter().map(|d| d.seq)).max(),
            ts: self.events.iter().map(|e| e.ts_ms).max(),
            ascending: self.events.windows(2).all(|w| w[0].seq < w[1].seq),
        })
    }
}

/// How far a batch's events reach.
#[derive(Clone, Copy, Debug)]
pub struct Reach {
    /// The highest event number among its events and rejects.
    pub seq: Option<u64>,
    /// The newest event time among its events.
    pub ts: Option<i64>,
    /// Whether its events' numbers ascend (a generated or CSV share; not several Kafka
    /// partitions).
    pub ascending: bool,
}

/// A worker's spent events: the last stage gives them back, and the source writes the next
/// events into their buffers (`Generator::event_into`) instead of allocating two per event,
/// which the worker would otherwise free a batch later.
#[derive(Clone, Default)]
pub struct Spent(Rc<RefCell<Vec<Event>>>);

/// Spent events kept for reuse, at most: a few batches' worth.
const SPENT_KEPT: usize = 8192;

impl Spent {
    /// Takes `events` (leaving the vector empty), keeping what fits.
    pub fn give(&self, events: &mut Vec<Event>) {
        let mut kept = self.0.borrow_mut();
        let room = SPENT_KEPT.saturating_sub(kept.len());
        if events.len() > room {
            events.truncate(room);
        }
        kept.append(events);
    }

    /// Up to `n` spent events.
    pub fn take(&self, n: usize) -> Vec<Event> {
        let mut kept = self.0.borrow_mut();
        let from = kept.len().saturating_sub(n);
        kept.split_off(from)
    }

    /// Gives back events taken and not used.
    pub fn put_back(&self, mut events: Vec<Event>) {
        self.give(&mut events);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn events(n: usize) -> Vec<Event> {
        (0..n as u64).map(|id| Event { id, seq: id, ts_ms: 0, values: Vec::new() }).collect()
    }

    #[test]
    fn spent_events_are_kept_up_to_a_bound_and_taken_back() {
        let spent = Spent::default();
        let mut batch = events(10);
        spent.give(&mut batch);
        assert!(batch.is_empty());
        assert_eq!(spent.take(4).len(), 4);
        let rest = spent.take(100);
        assert_eq!(rest.len(), 6);
        spent.put_back(rest);
        spent.give(&mut events(SPENT_KEPT + 50));
        assert_eq!(spent.take(usize::MAX).len(), SPENT_KEPT, "no more than the bound is kept");
        assert!(spent.take(1).is_empty());
    }
}
