//! JSON-lines files for file sinks and dead letters.
//!
//! One file per sink (`out/predictions.jsonl`), shared by all workers as
//! [`SharedJsonl`] (`Arc<Mutex<JsonlWriter>>`): users expect one file, not one per worker.
//! Each item is serialized into a scratch buffer first and written as a whole line under
//! the lock, so lines from different workers never interleave and a serialization error
//! never leaves half a line. Workers write a batch per lock ([`JsonlWriter::write_all`]).

use crate::program::Rotation;
use serde::Serialize;
use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// A JSON-lines writer shared by worker threads.
pub type SharedJsonl = Arc<Mutex<JsonlWriter>>;

/// A buffered JSON-lines file: one serialized item per line, flushed and fsynced on
/// [`finish`](JsonlWriter::finish) and on drop.
pub struct JsonlWriter {
    path: PathBuf,
    out: BufWriter<File>,
    /// Reused per item so serializing allocates only while lines keep growing.
    scratch: Vec<u8>,
    lines: u64,
    /// Lines written since the last fsync: drop syncs only when there is something to sync.
    dirty: bool,
    /// When to start a new file, and the current file's size and age.
    rotate: Option<Rotation>,
    bytes: u64,
    opened: std::time::Instant,
}

/// Big enough that a batch of predictions is a few syscalls, not one per line.
const BUFFER: usize = 256 * 1024;

impl JsonlWriter {
    /// Creates (or truncates) the file at `path`, creating its parent directories.
    pub fn create(path: impl AsRef<Path>) -> io::Result<Self> {
        Self::open(path.as_ref(), false)
    }

    /// Opens the file at `path` for appending (creating it and its parent directories),
    /// for outputs that should accumulate across runs, such as dead letters.
    pub fn append(path: impl AsRef<Path>) -> io::Result<Self> {
        Self::open(path.as_ref(), true)
    }

    fn open(path: &Path, append: bool) -> io::Result<Self> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|e| with_path(e, "create directory", parent))?;
        }
        let mut options = OpenOptions::new();
        if append {
            options.append(true).create(true);
        } else {
            options.write(true).create(true).truncate(true);
        }
        let file = options.open(path).map_err(|e| with_path(e, "open", path))?;
        Ok(JsonlWriter {
            path: path.to_path_buf(),
            out: BufWriter::with_capacity(BUFFER, file),
            scratch: Vec::new(),
            lines: 0,
            dirty: false,
            rotate: None,
            bytes: 0,
            opened: std::time::Instant::now(),
        })
    }

    /// Rotates the file by size and/or age, keeping `rotate.keep` old files (`path.1` the newest).
    pub fn rotating(mut self, rotate: Option<Rotation>) -> Self {
        self.rotate = rotate;
        self
    }

    /// Starts a new file when the current one is full or old enough: the current file is
    /// synced and renamed to `.1`, the older ones shift up, and the oldest beyond `keep` goes.
    fn rotate_if_due(&mut self) -> io::Result<()> {
        let Some(r) = &self.rotate else { return Ok(()) };
        let full = r.max_bytes.is_some_and(|max| self.bytes >= max);
        let old = r.every_ms.is_some_and(|ms| self.opened.elapsed().as_millis() as u64 >= ms);
        if !(full || old) || self.bytes == 0 {
            return Ok(());
        }
        let keep = r.keep.max(1);
        self.finish()?;
        let numbered = |k: u32| PathBuf::from(format!("{}.{k}", self.path.display()));
        let _ = std::fs::remove_file(numbered(keep));
        for k in (1..keep).rev() {
            let from = numbered(k);
            if from.exists() {
                std::fs::rename(&from, numbered(k + 1)).map_err(|e| with_path(e, "rotate", &from))?;
            }
        }
        std::fs::rename(&self.path, numbered(1)).map_err(|e| with_path(e, "rotate", &self.path))?;
        let file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&self.path)
            .map_err(|e| with_path(e, "open", &self.path))?;
        self.out = BufWriter::with_capacity(BUFFER, file);
        self.bytes = 0;
        self.opened = std::time::Instant::now();
        Ok(())
    }

    /// Wraps the writer for sharing across worker threads.
    pub fn shared(self) -> SharedJsonl {
        Arc::new(Mutex::new(self))
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Lines written by this writer.
    pub fn lines(&self) -> u64 {
        self.lines
    }

    /// Writes `item` as one line (buffered).
    pub fn write<T: Serialize + ?Sized>(&mut self, item: &T) -> io::Result<()> {
        self.scratch.clear();
        serde_json::to_writer(&mut self.scratch, item).map_err(io::Error::other)?;
        self.scratch.push(b'\n');
        self.rotate_if_due()?;
        self.out.write_all(&self.scratch).map_err(|e| with_path(e, "write", &self.path))?;
        self.lines += 1;
        self.bytes += self.scratch.len() as u64;
        self.dirty = true;
        Ok(())
    }

    /// Writes each item as one line (buffered); stops at the first error.
    pub fn write_all<'a, T: Serialize + 'a>(&mut self, items: impl IntoIterator<Item = &'a T>) -> io::Result<()> {
        items.into_iter().try_for_each(|item| self.write(item))
    }

    /// Hands buffered lines to the OS (no fsync): readers of the file see them.
    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush().map_err(|e| with_path(e, "flush", &self.path))
    }

    /// Flushes and fsyncs, so every line written so far survives a crash. Writing after
    /// `finish` is allowed; it needs another `finish` (or the drop) to be durable.
    pub fn finish(&mut self) -> io::Result<()> {
        self.flush()?;
        self.out.get_ref().sync_all().map_err(|e| with_path(e, "sync", &self.path))?;
        self.dirty = false;
        Ok(())
    }
}

impl Drop for JsonlWriter {
    fn drop(&mut self) {
        if self.dirty {
            if let Err(e) = self.finish() {
                // Drop cannot return the error; a shutdown that cares calls `finish` first.
                tracing::error!("{e}");
            }
        }
    }
}

fn with_path(e: io::Error, what: &str, path: &Path) -> io::Error {
    io::Error::new(e.kind(), format!("cannot {what} {}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::record::PredictionRecord;
    use std::collections::BTreeSet;

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("housing-flow-jsonl-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    fn record(id: u64) -> PredictionRecord {
        PredictionRecord {
            id,
            ts_ms: id as i64,
            estimated_price: 123_456.789 + id as f64,
            interval: Some([100_000.0, 150_000.0]),
            model_version: 2,
            ingest_ns: 0,
            seq: id,
        }
    }

    #[test]
    fn lines_from_four_threads_never_interleave() {
        let dir = temp_dir("threads");
        let path = dir.join("nested/out/predictions.jsonl");
        let shared = JsonlWriter::create(&path).unwrap().shared();
        const PER_THREAD: u64 = 25_000;
        let threads: Vec<_> = (0..4u64)
            .map(|t| {
                let shared = shared.clone();
                std::thread::spawn(move || {
                    let all: Vec<PredictionRecord> = (0..PER_THREAD).map(|i| record(t * PER_THREAD + i)).collect();
                    // Batches per lock, as workers do, and single writes, as the HTTP path might.
                    for (n, batch) in all.chunks(97).enumerate() {
                        let mut w = shared.lock().unwrap();
                        if n % 2 == 0 {
                            w.write_all(batch).unwrap();
                        } else {
                            batch.iter().for_each(|r| w.write(r).unwrap());
                        }
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let mut writer = Arc::try_unwrap(shared).ok().unwrap().into_inner().unwrap();
        writer.finish().unwrap();
        assert_eq!(writer.lines(), 4 * PER_THREAD);
        drop(writer);

        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.ends_with('\n'));
        let mut ids = BTreeSet::new();
        let mut lines = 0;
        for line in text.lines() {
            let r: PredictionRecord = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
            assert_eq!(r, PredictionRecord { seq: 0, ..record(r.id) });
            ids.insert(r.id);
            lines += 1;
        }
        assert_eq!(lines, 4 * PER_THREAD);
        assert_eq!(ids, (0..4 * PER_THREAD).collect());
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn drop_flushes_and_create_truncates() {
        let dir = temp_dir("drop");
        let path = dir.join("dead_letters.jsonl");
        {
            let mut w = JsonlWriter::create(&path).unwrap();
            w.write(&serde_json::json!({"a": 1})).unwrap();
            w.write(&serde_json::json!({"a": 2})).unwrap();
        }
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "{\"a\":1}\n{\"a\":2}\n");
        {
            let mut w = JsonlWriter::append(&path).unwrap();
            w.write(&serde_json::json!({"a": 3})).unwrap();
        }
        assert_eq!(std::fs::read_to_string(&path).unwrap().lines().count(), 3);
        JsonlWriter::create(&path).unwrap().finish().unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_failed_serialization_writes_nothing() {
        struct Fails;
        impl Serialize for Fails {
            fn serialize<S: serde::Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
                Err(serde::ser::Error::custom("no"))
            }
        }
        let dir = temp_dir("fails");
        let path = dir.join("x.jsonl");
        let mut w = JsonlWriter::create(&path).unwrap();
        assert!(w.write(&Fails).is_err());
        w.write(&1).unwrap();
        w.finish().unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "1\n");
        assert_eq!(w.lines(), 1);
        drop(w);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn errors_name_the_path() {
        let dir = temp_dir("errors");
        std::fs::create_dir_all(&dir).unwrap();
        let blocker = dir.join("file");
        std::fs::write(&blocker, "").unwrap();
        let err = JsonlWriter::create(blocker.join("x.jsonl")).err().unwrap();
        assert!(err.to_string().contains(&blocker.display().to_string()), "{err}");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn rotates_by_size_and_keeps_the_newest_files() {
        let dir = std::env::temp_dir().join(format!("hf-jsonl-rotate-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let path = dir.join("p.jsonl");
        let rotate = Rotation { max_bytes: Some(100), every_ms: None, keep: 2 };
        let mut w = JsonlWriter::create(&path).unwrap().rotating(Some(rotate));
        // 40 lines of 11 bytes (`{"n":1000}` and a newline): a new file every 10 lines.
        for n in 1000..1040 {
            w.write(&serde_json::json!({ "n": n })).unwrap();
        }
        w.finish().unwrap();
        let lines = |p: &Path| -> Vec<u64> {
            std::fs::read_to_string(p)
                .unwrap()
                .lines()
                .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["n"].as_u64().unwrap())
                .collect()
        };
        // The newest lines in the file itself, the previous ones in .1, then .2; .3 is gone.
        assert_eq!(lines(&path), (1030..1040).collect::<Vec<_>>());
        assert_eq!(lines(&dir.join("p.jsonl.1")), (1020..1030).collect::<Vec<_>>());
        assert_eq!(lines(&dir.join("p.jsonl.2")), (1010..1020).collect::<Vec<_>>());
        assert!(!dir.join("p.jsonl.3").exists());
        assert_eq!(w.lines(), 40, "every line was written");
        let _ = std::fs::remove_dir_all(dir);
    }
}
