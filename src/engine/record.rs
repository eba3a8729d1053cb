//! One prediction as the sinks, the prediction store and `GET /predictions` see it.

use crate::model::serving::Prediction;
use serde::{Deserialize, Serialize};

/// A stream prediction: serializes as
/// `{"id":..,"ts_ms":..,"estimated_price":..,"interval":[lo,hi],"model_version":..}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PredictionRecord {
    /// The event's id.
    pub id: u64,
    /// The event's time, milliseconds since the Unix epoch.
    pub ts_ms: i64,
    /// The model's estimate.
    pub estimated_price: f64,
    /// The lowest and highest quantile estimates; absent when the model has no quantile models.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<[f64; 2]>,
    /// The registry version that made the prediction.
    pub model_version: u32,
    /// Monotonic ingest time in nanoseconds since the run started; for latency only, so
    /// it stays out of the output, where it would mean nothing to a reader.
    #[serde(skip)]
    pub ingest_ns: u64,
    /// The event's number in the stream ([`crate::data::Event::seq`]), for windows; not output.
    #[serde(skip)]
    pub seq: u64,
}

impl PredictionRecord {
    /// A record for event `id` at `ts_ms` from a model's prediction.
    pub fn new(id: u64, ts_ms: i64, prediction: &Prediction, ingest_ns: u64) -> Self {
        PredictionRecord {
            id,
            ts_ms,
            estimated_price: prediction.estimate,
            interval: prediction.interval,
            model_version: prediction.version,
            ingest_ns,
            seq: id,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(interval: Option<[f64; 2]>) -> PredictionRecord {
        let p = Prediction { estimate: 456732.18, interval, version: 3 };
        PredictionRecord::new(7, 1_700_000_000_000, &p, 99)
    }

    #[test]
    fn serializes_the_documented_shape() {
        let json = serde_json::to_string(&record(Some([400000.5, 500000.25]))).unwrap();
        assert_eq!(
            json,
            r#"{"id":7,"ts_ms":1700000000000,"estimated_price":456732.18,"interval":[400000.5,500000.25],"model_version":3}"#
        );
    }

    #[test]
    fn omits_a_missing_interval_and_the_ingest_time() {
        let json = serde_json::to_string(&record(None)).unwrap();
        assert_eq!(json, r#"{"id":7,"ts_ms":1700000000000,"estimated_price":456732.18,"model_version":3}"#);
    }

    #[test]
    fn reads_back_what_it_writes() {
        let r = record(Some([1.0, 2.0]));
        let back: PredictionRecord = serde_json::from_str(&serde_json::to_string(&r).unwrap()).unwrap();
        assert_eq!(back, PredictionRecord { ingest_ns: 0, seq: 0, ..r });
    }

    #[test]
    fn is_clone_and_send() {
        fn assert_traits<T: Clone + Send + Sync + 'static>() {}
        assert_traits::<PredictionRecord>();
    }
}
