//! Events: one housing record, its fields in schema order.

pub mod csv_source;
pub mod dead_letter;
pub mod generator;
pub mod invalid;
pub mod load;
pub mod shift;
pub mod validate;

use serde::{Deserialize, Serialize};

/// One field's value.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Value {
    Missing,
    Num(f64),
    Bool(bool),
    Text(String),
}

impl Value {
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Num(x) => Some(*x),
            Value::Bool(b) => Some(if *b { 1.0 } else { 0.0 }),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Text(s) => Some(s),
            _ => None,
        }
    }

    pub fn is_missing(&self) -> bool {
        matches!(self, Value::Missing)
    }
}

/// One event: an id, its number in the stream, an event time, and the schema's fields in order.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub id: u64,
    /// The event's number in the stream, the position windows counted in events use: arrival
    /// order interleaved across workers (event `k` of worker `w` of `W` is `k·W + w`). Equal to
    /// the id for generated events and CSV rows; a Kafka message's id says where it is stored.
    #[serde(default)]
    pub seq: u64,
    /// Event time, milliseconds since the Unix epoch.
    pub ts_ms: i64,
    pub values: Vec<Value>,
}
