//! Writing records to a topic: `acks=all`, no idempotence (the broker used in tests does not
//! support it), librdkafka retrying without a deadline, and backpressure when its queue is
//! full: `send` waits for room instead of dropping the record.

use super::acks::Acks;
use super::config::{metadata_client, partitions, Brokers, Logging, CONNECT_TIMEOUT};
use rdkafka::client::ClientContext;
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::Message;
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{BaseRecord, DeliveryResult, Producer, ProducerContext, ThreadedProducer};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Routes librdkafka's errors to [`Logging`] and each delivery report to its batch's [`Acks`];
/// counts delivered records and bytes per partition.
#[derive(Default)]
pub struct Delivery {
    logging: Logging,
    delivered: Mutex<BTreeMap<i32, (u64, u64)>>,
}

impl ClientContext for Delivery {
    fn log(&self, level: RDKafkaLogLevel, fac: &str, log_message: &str) {
        self.logging.log(level, fac, log_message)
    }

    fn error(&self, error: KafkaError, reason: &str) {
        self.logging.error(error, reason)
    }
}

impl ProducerContext for Delivery {
    type DeliveryOpaque = Arc<Acks>;

    fn delivery(&self, result: &DeliveryResult<'_>, acks: Arc<Acks>) {
        match result {
            Ok(message) => {
                let bytes = message.payload_len() as u64 + message.key().map_or(0, |k| k.len() as u64);
                let mut delivered = self.delivered.lock().unwrap_or_else(|p| p.into_inner());
                let tally = delivered.entry(message.partition()).or_default();
                tally.0 += 1;
                tally.1 += bytes;
                drop(delivered);
                acks.acknowledged();
                self.logging.recovered();
            }
            Err((e, _)) => acks.failed(e.to_string()),
        }
    }
}

/// A producer to one topic.
pub struct KafkaProducer {
    producer: ThreadedProducer<Delivery>,
    pub topic: String,
    pub brokers: Brokers,
}

/// One record: key, value and headers (name, value).
pub struct Record<'a> {
    pub key: &'a [u8],
    pub value: &'a [u8],
    pub headers: &'a [(&'a str, &'a [u8])],
}

impl KafkaProducer {
    /// Connects to `brokers` and checks `topic` exists there (within [`CONNECT_TIMEOUT`]).
    pub fn connect(brokers: &Brokers, topic: &str) -> Result<KafkaProducer, String> {
        partitions(&metadata_client(brokers)?, brokers, topic, CONNECT_TIMEOUT)?;
        let producer = brokers
            .client_config()
            .set("acks", "all")
            .set("enable.idempotence", "false")
            // Retry until delivered: an outage delays records, it does not drop them.
            .set("message.timeout.ms", "0")
            .set("linger.ms", "5")
            .set("batch.num.messages", "10000")
            .set("queue.buffering.max.messages", "200000")
            .set("retry.backoff.ms", "100")
            .set("retry.backoff.max.ms", "1000")
            .create_with_context(Delivery::default())
            .map_err(|e| format!("Kafka producer for {}: {e}", brokers.0))?;
        Ok(KafkaProducer { producer, topic: topic.to_string(), brokers: brokers.clone() })
    }

    /// Hands one record to the producer, its answer counted in `acks`. When the producer's
    /// queue is full this waits for room (backpressure); it never drops the record.
    pub fn send(&self, record: &Record<'_>, acks: &Arc<Acks>) {
        let mut headers = OwnedHeaders::new_with_capacity(record.headers.len());
        for (key, value) in record.headers {
            headers = headers.insert(Header { key, value: Some(*value) });
        }
        let mut pending = BaseRecord::with_opaque_to(&self.topic, acks.clone())
            .key(record.key)
            .payload(record.value)
            .headers(headers);
        acks.sent();
        let mut waited = None;
        loop {
            match self.producer.send(pending) {
                Ok(()) => return,
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                    let since = *waited.get_or_insert_with(Instant::now);
                    if since.elapsed() > Duration::from_secs(5) {
                        tracing::warn!(
                            "Kafka topic `{}`: the producer queue has been full for 5 s; waiting for the broker at {}",
                            self.topic,
                            self.brokers.0
                        );
                        waited = Some(Instant::now());
                    }
                    pending = back;
                    std::thread::sleep(Duration::from_millis(1));
                }
                Err((e, _)) => {
                    acks.failed(format!("topic `{}`: {e}", self.topic));
                    return;
                }
            }
        }
    }

    /// Waits up to `timeout` for every record handed over to be answered.
    pub fn flush(&self, timeout: Duration) -> Result<(), String> {
        self.producer.flush(timeout).map_err(|e| format!("Kafka topic `{}`: {e}", self.topic))
    }

    /// Records delivered so far and their bytes (key and value), per partition.
    pub fn delivered(&self) -> BTreeMap<i32, (u64, u64)> {
        self.producer.context().delivered.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Records handed over and not yet answered.
    pub fn in_flight(&self) -> i32 {
        self.producer.in_flight_count()
    }
}
