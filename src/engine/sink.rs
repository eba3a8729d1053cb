//! An opened `sink` declaration: its in-memory store, its JSON-lines files, stdout; written by
//! every worker, failures logged once per streak and counted.

use super::dead_letter::DeadLetter;
use super::jsonl::JsonlWriter;
use super::record::PredictionRecord;
use super::store::PredictionStore;
use crate::program::{SinkTarget, Stream};
use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// One `sink` declaration, opened.
pub struct SinkRuntime {
    pub name: String,
    pub stream: Stream,
    pub store: Option<Arc<PredictionStore>>,
    files: Vec<Mutex<JsonlWriter>>,
    stdout: bool,
    /// Batches whose write failed; the first failure of a streak is logged, the rest counted.
    failed_batches: AtomicU64,
    failing: AtomicBool,
}

impl SinkRuntime {
    /// Opens every target of a sink. Kafka targets are refused until the Kafka sink exists.
    pub fn open(name: &str, stream: Stream, targets: &[SinkTarget]) -> Result<Self, String> {
        let mut sink = SinkRuntime {
            name: name.to_string(),
            stream,
            store: None,
            files: Vec::new(),
            stdout: false,
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
                SinkTarget::Kafka { topic, .. } => {
                    return Err(format!("sink `{name}`: writing to Kafka (topic `{topic}`) is not supported yet"))
                }
            }
        }
        Ok(sink)
    }

    pub fn write_predictions(&self, records: &[PredictionRecord]) {
        if records.is_empty() {
            return;
        }
        if let Some(store) = &self.store {
            store.push_batch(records);
        }
        self.write_all(records);
    }

    /// Writes alerts (drift rules, guardrails, SLO violations) to the sink's files.
    pub fn write_alerts<T: serde::Serialize>(&self, alerts: &[T]) {
        if !alerts.is_empty() {
            self.write_all(alerts);
        }
    }

    pub fn write_dead_letters(&self, letters: &[DeadLetter]) {
        if !letters.is_empty() {
            self.write_all(letters);
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
        match self.failed_batches.load(Ordering::Relaxed) {
            0 => Ok(()),
            n => Err(std::io::Error::other(format!("{n} batch(es) could not be written"))),
        }
    }
}
