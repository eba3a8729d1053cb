//! Broker addresses, the client settings every Kafka client here shares, the context that
//! sends librdkafka's errors through `tracing` (once per streak, not once per retry), and the
//! check that every broker a plan names answers before any work starts.

use crate::plan::{Dataflow, OperatorKind};
use crate::program::{Setting, SinkTarget, SourceKind};
use rdkafka::client::ClientContext;
use rdkafka::config::{ClientConfig, RDKafkaLogLevel};
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext};
use rdkafka::error::KafkaError;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// How long a broker has to answer the first metadata request before it counts as unreachable.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// A resolved `brokers:` setting: `host:port[,host:port...]`.
#[derive(Clone, Debug, PartialEq)]
pub struct Brokers(pub String);

impl Brokers {
    /// Resolves `env("VAR", "default")` now.
    pub fn resolve(setting: &Setting) -> Result<Brokers, String> {
        match setting {
            Setting::Value(v) => Ok(Brokers(v.clone())),
            Setting::Env { var, default } => match std::env::var(var) {
                Ok(v) if !v.trim().is_empty() => Ok(Brokers(v)),
                _ => default
                    .clone()
                    .map(Brokers)
                    .ok_or_else(|| format!("`brokers`: ${var} is not set and has no default")),
            },
        }
    }

    /// A client configuration with these brokers and quick reconnects (an outage ends as soon
    /// as the broker is back, not after a long backoff).
    pub fn client_config(&self) -> ClientConfig {
        let mut c = ClientConfig::new();
        c.set("bootstrap.servers", &self.0)
            .set("reconnect.backoff.ms", "100")
            .set("reconnect.backoff.max.ms", "1000")
            .set("socket.keepalive.enable", "true")
            .set_log_level(RDKafkaLogLevel::Warning);
        c
    }
}

/// librdkafka's errors and logs through `tracing`: an error is logged when it first appears
/// (or changes), then counted, so a broker outage is one warning, not one per retry.
#[derive(Default)]
pub struct Logging {
    last: std::sync::Mutex<Option<String>>,
    repeats: AtomicU64,
}

impl ClientContext for Logging {
    fn log(&self, level: RDKafkaLogLevel, fac: &str, log_message: &str) {
        match level {
            RDKafkaLogLevel::Emerg | RDKafkaLogLevel::Alert | RDKafkaLogLevel::Critical | RDKafkaLogLevel::Error => {
                tracing::debug!(target: "housing_flow::kafka", "librdkafka {fac}: {log_message}")
            }
            _ => tracing::trace!(target: "housing_flow::kafka", "librdkafka {fac}: {log_message}"),
        }
    }

    fn error(&self, error: KafkaError, reason: &str) {
        let text = format!("{error}: {reason}");
        let mut last = self.last.lock().unwrap_or_else(|p| p.into_inner());
        if last.as_deref() == Some(text.as_str()) {
            self.repeats.fetch_add(1, Ordering::Relaxed);
            return;
        }
        tracing::warn!(target: "housing_flow::kafka", "Kafka: {text}");
        *last = Some(text);
    }
}

impl ConsumerContext for Logging {}

impl Logging {
    /// Forgets the last error, so the next one is logged again (after a recovery).
    pub fn recovered(&self) {
        *self.last.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }
}

/// Milliseconds since the Unix epoch, now.
pub fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

/// The number of partitions of `topic`, asking the brokers with `client`; an error names
/// the brokers and says whether they did not answer or the topic does not exist.
pub fn partitions<C: ConsumerContext>(
    client: &BaseConsumer<C>,
    brokers: &Brokers,
    topic: &str,
    timeout: Duration,
) -> Result<usize, String> {
    let metadata = client.fetch_metadata(Some(topic), timeout).map_err(|e| {
        format!("cannot reach the Kafka broker at {} within {} s: {e}", brokers.0, timeout.as_secs_f64())
    })?;
    let Some(t) = metadata.topics().iter().find(|t| t.name() == topic) else {
        return Err(format!("the Kafka broker at {} knows no topic `{topic}`", brokers.0));
    };
    if let Some(e) = t.error() {
        return Err(format!("topic `{topic}` at {}: {:?} (create it first)", brokers.0, e));
    }
    if t.partitions().is_empty() {
        return Err(format!("topic `{topic}` at {} has no partitions (create it first)", brokers.0));
    }
    Ok(t.partitions().len())
}

/// A metadata-only client for `brokers`.
pub fn metadata_client(brokers: &Brokers) -> Result<BaseConsumer<Logging>, String> {
    brokers
        .client_config()
        .create_with_context(Logging::default())
        .map_err(|e| format!("Kafka client for {}: {e}", brokers.0))
}

/// Checks, before any training or reading, that every Kafka topic `df` reads or writes is on
/// a broker that answers within [`CONNECT_TIMEOUT`]; the error names the source or sink, the
/// address tried and the topic.
pub fn preflight(df: &Dataflow) -> Result<(), String> {
    let mut topics: Vec<(String, &Setting, &str)> = Vec::new();
    for op in &df.operators {
        match &op.kind {
            OperatorKind::Source { source } => {
                if let SourceKind::Kafka { topic, brokers, .. } = &source.kind {
                    topics.push((format!("source `{}`", source.name), brokers, topic));
                }
            }
            OperatorKind::Sink { sink, targets, .. } => {
                for t in targets {
                    if let SinkTarget::Kafka { topic, brokers } = t {
                        topics.push((format!("sink `{sink}`"), brokers, topic));
                    }
                }
            }
            _ => {}
        }
    }
    for (what, setting, topic) in topics {
        let brokers = Brokers::resolve(setting).map_err(|e| format!("{what}: {e}"))?;
        let client = metadata_client(&brokers).map_err(|e| format!("{what}: {e}"))?;
        partitions(&client, &brokers, topic, CONNECT_TIMEOUT).map_err(|e| format!("{what}: {e}"))?;
    }
    Ok(())
}
