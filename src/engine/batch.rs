//! What flows through a worker's dataflow: batches of events, carried from stage to stage.

use super::record::PredictionRecord;
use crate::data::dead_letter::DeadLetter;
use crate::data::Event;
use crate::kafka::Acks;
use crate::model::serving::ServingModel;
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
        }
    }
}
