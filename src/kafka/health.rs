//! A Kafka source's broker, watched: once a second a metadata request says whether the
//! broker answers and how many partitions the topic has. A broker that stops answering is
//! reported down (the run shows it in `/readyz` and `housing_flow_source_up`) with one
//! warning; its return is reported too. Workers read the partition count to pick up new
//! partitions.

use super::config::{metadata_client, partitions, Brokers};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// How often the broker is asked.
pub const INTERVAL: Duration = Duration::from_secs(1);

/// What the watcher last saw.
#[derive(Debug)]
pub struct Health {
    /// Partitions of the topic (never decreases).
    pub partitions: AtomicUsize,
}

/// Starts watching `topic` at `brokers` for source `name`, until `stop`; `known` is the
/// partition count found at start. `report` hears why the source is down when it goes down
/// (and while it stays down), and `None` when it is back.
pub fn watch(
    name: &str,
    brokers: Brokers,
    topic: String,
    known: usize,
    report: impl Fn(Option<String>) + Send + 'static,
    stop: Arc<AtomicBool>,
) -> Result<Arc<Health>, String> {
    let health = Arc::new(Health { partitions: AtomicUsize::new(known) });
    let client = metadata_client(&brokers)?;
    let (shared, name) = (health.clone(), name.to_string());
    std::thread::Builder::new()
        .name("kafka-health".into())
        .spawn(move || {
            let mut down = false;
            while !stop.load(Ordering::Relaxed) {
                match partitions(&client, &brokers, &topic, INTERVAL) {
                    Ok(n) => {
                        if down {
                            tracing::info!("source `{name}`: the Kafka broker at {} answers again", brokers.0);
                            report(None);
                            down = false;
                        }
                        if shared.partitions.fetch_max(n, Ordering::AcqRel) < n {
                            tracing::info!("source `{name}`: topic `{topic}` now has {n} partitions");
                        }
                    }
                    Err(e) => {
                        if !down {
                            tracing::warn!("source `{name}`: {e}; waiting for it");
                            down = true;
                        }
                        report(Some(format!("source `{name}`: {e}")));
                    }
                }
                std::thread::sleep(INTERVAL);
            }
        })
        .map_err(|e| e.to_string())?;
    Ok(health)
}
