//! The streaming engine: a plan rendered into timely dataflow workers that validate,
//! featurize, predict and write every event, accounting for each one.

pub mod batch;
pub mod drift;
pub mod injection;
pub mod jsonl;
pub mod profile;
pub mod record;
pub mod render;
pub mod run;
pub mod runtime;
pub mod session;
pub mod sink;
pub mod slo;
pub mod stats;
pub mod store;
