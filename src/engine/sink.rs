//! An opened `sink` declaration: its in-memory store, its JSON-lines files, stdout, its Kafka
//! topics; written by every worker, failures logged once per streak and counted.
//!
//! Kafka records: predictions as their JSON line, keyed by event id; dead letters with the
//! bytes received as value (their JSON when there are none; cut to 900 kB, with a
//! `truncated_from` header, when longer), keyed by event id, with the headers `reason`,
//! `field` and `message`.

use super::jsonl::JsonlWriter;
use super::record::PredictionRecord;
use super::store::PredictionStore;
use crate::data::dead_letter::DeadLetter;
use crate::kafka::producer::Record;
use crate::kafka::{Acks, Brokers, KafkaProducer};
use crate::program::{SinkTarget, Stream};
use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// The longest dead-letter value sent to Kafka; longer ones are cut to this, with a
/// `truncated_from` header holding the full length.
pub const DEAD_LETTER_MAX_BYTES: usize = 900_000;

/// One `sink` declaration, opened.
pub struct SinkRuntime {
    pub name: String,
    pub stream: Stream,
    pub store: Option<Arc<PredictionStore>>,
    files: Vec<Mutex<JsonlWriter>>,
    stdout: bool,
    kafka: Vec<KafkaProducer>,
    /// Counts answers to records of batches that carry no acks of their own.
    untracked: Arc<Acks>,
    /// Batches whose write failed; the first failure of a streak is logged, the rest counted.
    failed_batches: AtomicU64,
    failing: AtomicBool,
}

impl SinkRuntime {
    /// Opens every target of a sink (a Kafka topic must exist and its broker answer).
    pub fn open(name: &str, stream: Stream, targets: &[SinkTarget]) -> Result<Self, String> {
        let mut sink = SinkRuntime {
            name: name.to_string(),
            stream,
            store: None,
            files: Vec::new(),
            stdout: false,
            kafka: Vec::new(),
            untracked: Arc::new(Acks::default()),
            failed_batches: AtomicU64::new(0),
            failing: AtomicBool::new(false),
        };
        for t in targets {
            match t {
                SinkTarget::Memory { keep } => sink.store = Some(Arc::new(PredictionStore::new(*keep as usize))),
                SinkTarget::File { path, rotate } => sink.files.push(Mutex::new(
                    JsonlWriter::create(path)
                        .map_err(|e| format!("sink `{name}`: cannot create `{path}`: {e}"))?
                        .rotating(rotate.clone()),
                )),
                SinkTarget::Stdout => sink.stdout = true,
                SinkTarget::Kafka { topic, brokers } => {
                    let brokers = Brokers::resolve(brokers).map_err(|e| format!("sink `{name}`: {e}"))?;
                    sink.kafka
                        .push(KafkaProducer::connect(&brokers, topic).map_err(|e| format!("sink `{name}`: {e}"))?);
                }
            }
        }
        Ok(sink)
    }

    /// Writes a batch's predictions; Kafka answers are counted in `acks` (when given).
    pub fn write_predictions(&self, records: &[PredictionRecord], acks: Option<&Arc<Acks>>) {
        if records.is_empty() {
            return;
        }
        if let Some(store) = &self.store {
            store.push_batch(records);
        }
        self.write_all(records);
        let acks = acks.unwrap_or(&self.untracked);
        for producer in &self.kafka {
            for r in records {
                let key = r.id.to_string();
                let value = serde_json::to_vec(r).unwrap_or_default();
                producer.send(&Record { key: key.as_bytes(), value: &value, headers: &[] }, acks);
            }
        }
    }

    /// Writes alerts (drift rules, guardrails, SLO violations) to the sink's files.
    pub fn write_alerts<T: serde::Serialize>(&self, alerts: &[T]) {
        if !alerts.is_empty() {
            self.write_all(alerts);
        }
    }

    /// Writes a batch's dead letters; Kafka answers are counted in `acks` (when given).
    pub fn write_dead_letters(&self, letters: &[DeadLetter], acks: Option<&Arc<Acks>>) {
        if letters.is_empty() {
            return;
        }
        self.write_all(letters);
        let acks = acks.unwrap_or(&self.untracked);
        for producer in &self.kafka {
            for d in letters {
                let key = d.id.to_string();
                let json;
                let value = match &d.bytes {
                    Some(bytes) => bytes.as_slice(),
                    None => {
                        json = serde_json::to_vec(&d.raw).unwrap_or_default();
                        json.as_slice()
                    }
                };
                let field = d.field.as_deref().unwrap_or("");
                // Brokers refuse records over about 1 MB by default; a dead letter must still
                // get through, so a longer value is cut, saying how long it was.
                let full = value.len().to_string();
                let mut headers: Vec<(&str, &[u8])> = vec![
                    ("reason", d.reason.as_bytes()),
                    ("field", field.as_bytes()),
                    ("message", d.message.as_bytes()),
                ];
                let value = if value.len() > DEAD_LETTER_MAX_BYTES {
                    headers.push(("truncated_from", full.as_bytes()));
                    &value[..DEAD_LETTER_MAX_BYTES]
                } else {
                    value
                };
                producer.send(&Record { key: key.as_bytes(), value, headers: &headers }, acks);
            }
        }
    }

    /// Flushes the files' buffers to the operating system (before offsets are committed).
    pub fn flush_files(&self) {
        for f in &self.files {
            if let Err(e) = f.lock().expect("sink lock").flush() {
                tracing::debug!("sink `{}`: flush: {e}", self.name);
            }
        }
    }

    fn write_all<T: serde::Serialize>(&self, items: &[T]) {
        for f in &self.files {
            let mut w = f.lock().expect("sink lock");
            let written = items.iter().try_for_each(|item| w.write(item));
            // A failing disk is reported when it starts failing and when it recovers; the run
            // goes on, and the failed batches are counted and reported at the end.
            match written {
                Err(e) => {
                    self.failed_batches.fetch_add(1, Ordering::Relaxed);
                    if !self.failing.swap(true, Ordering::Relaxed) {
                        tracing::error!("sink `{}`: {e}; later failures are counted, not logged", self.name);
                    }
                }
                Ok(()) => {
                    if self.failing.swap(false, Ordering::Relaxed) {
                        tracing::warn!("sink `{}` writes again", self.name);
                    }
                }
            }
        }
        if self.stdout {
            let mut out = std::io::stdout().lock();
            for item in items {
                if let Ok(line) = serde_json::to_string(item) {
                    let _ = writeln!(out, "{line}");
                }
            }
        }
    }

    /// Flushes and syncs the files: nothing written is lost at shutdown. Fails when a file
    /// cannot be flushed, or when batches could not be written during the run.
    pub fn finish(&self) -> std::io::Result<()> {
        for f in &self.files {
            f.lock().expect("sink lock").finish()?;
        }
        for producer in &self.kafka {
            // Records still queued (a source without acks of its own): give them a moment.
            producer.flush(std::time::Duration::from_secs(10)).map_err(std::io::Error::other)?;
        }
        if self.untracked.failures() > 0 {
            let why = self.untracked.first_error().unwrap_or_default();
            return Err(std::io::Error::other(format!(
                "{} Kafka record(s) were refused: {why}",
                self.untracked.failures()
            )));
        }
        match self.failed_batches.load(Ordering::Relaxed) {
            0 => Ok(()),
            n => Err(std::io::Error::other(format!("{n} batch(es) could not be written"))),
        }
    }
}
