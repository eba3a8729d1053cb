//! The stream traffic of a scenario whose pipeline reads Kafka: generated events, paced by the
//! schedule and drifted as the scenario says, produced to the source's topic as JSON (the
//! schema's fields plus `id` and `ts`, keyed by id), as `housing-flow produce` writes them.
//! While the broker is down the producer keeps what is due and delivers it when the broker is
//! back (it never drops a record).

use crate::data::dead_letter::event_json;
use crate::data::generator::Generator;
use crate::engine::run::StreamTraffic;
use crate::kafka::producer::Record;
use crate::kafka::{Acks, Brokers, KafkaProducer};
use crate::program::Schema;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What the producer did.
#[derive(Debug, Default)]
pub struct Produced {
    /// Events handed to the producer.
    pub sent: AtomicU64,
    /// Events the broker acknowledged, once the producer has flushed.
    pub acknowledged: AtomicU64,
    /// Events the broker refused.
    pub refused: AtomicU64,
}

/// Produces until `duration` has passed or `stop` is set, then waits up to 30 s for the
/// broker to acknowledge everything.
#[allow(clippy::too_many_arguments)]
pub fn start(
    brokers: Brokers,
    topic: String,
    schema: Schema,
    seed: u64,
    traffic: Arc<dyn StreamTraffic>,
    duration: Duration,
    started: Instant,
    stop: Arc<AtomicBool>,
) -> Result<(Arc<Produced>, std::thread::JoinHandle<()>), String> {
    let producer = KafkaProducer::connect(&brokers, &topic)?;
    let generator = Generator::new(&schema, seed)?;
    let out = Arc::new(Produced::default());
    let produced = out.clone();
    let handle = std::thread::Builder::new()
        .name("kafka-traffic".into())
        .spawn(move || {
            let acks = Arc::new(Acks::default());
            let mut sent = 0u64;
            loop {
                let elapsed = started.elapsed();
                if elapsed >= duration || stop.load(Ordering::Relaxed) {
                    break;
                }
                let due = traffic.due(elapsed.as_secs_f64()) as u64;
                while sent < due {
                    let mut event = generator.event(sent);
                    traffic.alter(elapsed.as_millis() as u64, &mut event);
                    let mut json = event_json(&schema, &event);
                    json["id"] = event.id.into();
                    json["ts"] = event.ts_ms.into();
                    let value = serde_json::to_vec(&json).unwrap_or_default();
                    let key = event.id.to_string();
                    producer.send(&Record { key: key.as_bytes(), value: &value, headers: &[] }, &acks);
                    sent += 1;
                    produced.sent.store(sent, Ordering::Relaxed);
                }
                std::thread::sleep(Duration::from_millis(1));
            }
            if let Err(e) = producer.flush(Duration::from_secs(30)) {
                tracing::warn!("scenario traffic to `{}`: {e}", producer.topic);
            }
            let acknowledged: u64 = producer.delivered().values().map(|(n, _)| n).sum();
            produced.acknowledged.store(acknowledged, Ordering::Relaxed);
            produced.refused.store(acks.failures(), Ordering::Relaxed);
        })
        .map_err(|e| format!("cannot start the Kafka traffic thread: {e}"))?;
    Ok((out, handle))
}
