//! Kafka: the partitioned source, the prediction and dead-letter sinks, the producer behind
//! `housing-flow produce`, and the broker checks they share (rdkafka).
//!
//! Delivery is at least once. A worker owns the partitions `p % workers == index` (by global
//! worker index in a cluster), assigned by hand from the offsets committed for the source's
//! group; it commits a batch's offsets only once the batch has gone through every sink and
//! every Kafka record it produced has been acknowledged by the broker (`acks=all`). A crash
//! therefore replays at most the uncommitted batches, with the same ids.

pub mod acks;
pub mod config;
pub mod consumer;
pub mod decode;
pub mod health;
pub mod producer;

pub use acks::Acks;
pub use config::{preflight, Brokers};
pub use consumer::PartitionedConsumer;
pub use producer::KafkaProducer;
