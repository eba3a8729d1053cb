//! The in-memory prediction store behind `GET /predictions`: the `keep` most recent
//! predictions, shared by every worker thread and the HTTP server.
//!
//! One mutex guards a ring buffer plus an id index. Workers insert whole batches, so the
//! lock is taken once per batch, not per prediction, and held only for copying records in;
//! that keeps contention low without the complexity of sharding (which would also make
//! "the newest N" a merge across shards).

use super::record::PredictionRecord;
use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::{Mutex, MutexGuard};

/// The `keep` most recent predictions, by arrival, with O(1) lookup by id.
pub struct PredictionStore {
    keep: usize,
    inner: Mutex<Inner>,
}

struct Inner {
    /// Oldest at the front; `ring[i]` has sequence number `first_seq + i`.
    ring: VecDeque<PredictionRecord>,
    /// Sequence number of `ring[0]`; counts every record ever pushed before it.
    first_seq: u64,
    /// id → sequence number of the newest kept record with that id.
    index: HashMap<u64, u64, BuildHasherDefault<IdHasher>>,
}

impl PredictionStore {
    /// A store keeping at most `keep` predictions (0 keeps none, but still counts them).
    pub fn new(keep: usize) -> Self {
        // Grown on demand: a large `keep` costs memory only once predictions arrive.
        let inner = Inner { ring: VecDeque::new(), first_seq: 0, index: HashMap::default() };
        PredictionStore { keep, inner: Mutex::new(inner) }
    }

    /// The most predictions kept.
    pub fn keep(&self) -> usize {
        self.keep
    }

    /// Adds a batch in order, evicting the oldest beyond `keep`.
    pub fn push_batch(&self, records: &[PredictionRecord]) {
        if records.is_empty() {
            return;
        }
        let mut inner = self.lock();
        // A batch larger than `keep` evicts everything kept and its own first `skip`
        // records: count those, without copying them in only to drop them.
        let skip = records.len().saturating_sub(self.keep);
        if skip > 0 {
            inner.first_seq += (inner.ring.len() + skip) as u64;
            inner.ring.clear();
            inner.index.clear();
        }
        let overflow = (inner.ring.len() + records.len() - skip).saturating_sub(self.keep);
        for _ in 0..overflow {
            inner.evict_front();
        }
        for record in &records[skip..] {
            let seq = inner.first_seq + inner.ring.len() as u64;
            inner.index.insert(record.id, seq);
            inner.ring.push_back(record.clone());
        }
    }

    /// The newest kept prediction for event `id`.
    pub fn get(&self, id: u64) -> Option<PredictionRecord> {
        let inner = self.lock();
        let seq = *inner.index.get(&id)?;
        inner.ring.get((seq - inner.first_seq) as usize).cloned()
    }

    /// Up to `limit` predictions, newest first, only those with `ts_ms >= since_ts_ms`
    /// when given. Scans from the newest, so a small `limit` is cheap; event times need
    /// not arrive in order, hence a scan rather than a search.
    pub fn recent(&self, limit: usize, since_ts_ms: Option<i64>) -> Vec<PredictionRecord> {
        let inner = self.lock();
        let since = since_ts_ms.unwrap_or(i64::MIN);
        inner.ring.iter().rev().filter(|r| r.ts_ms >= since).take(limit).cloned().collect()
    }

    /// How many predictions are kept now (at most `keep`).
    pub fn len(&self) -> usize {
        self.lock().ring.len()
    }

    /// Whether no prediction is kept.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How many predictions were ever pushed, kept or evicted.
    pub fn total_seen(&self) -> u64 {
        let inner = self.lock();
        inner.first_seq + inner.ring.len() as u64
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic elsewhere while holding the lock leaves the store consistent (every
        // mutation is a whole push or pop), so keep serving rather than propagate it.
        self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Inner {
    fn evict_front(&mut self) {
        if let Some(old) = self.ring.pop_front() {
            // Only drop the index entry if it still points here: a newer record with the
            // same id owns it otherwise.
            if self.index.get(&old.id) == Some(&self.first_seq) {
                self.index.remove(&old.id);
            }
            self.first_seq += 1;
        }
    }
}

/// A hasher for u64 ids: one multiply (Fibonacci hashing) instead of SipHash, which
/// matters on the insert path; the multiply spreads sequential ids into the high bits
/// the table uses. Ids are not attacker-chosen keys of an unbounded table (it holds at
/// most `keep` entries), so DoS resistance is not needed.
#[derive(Default)]
struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0 ^ n).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn record(id: u64) -> PredictionRecord {
        PredictionRecord {
            id,
            ts_ms: 1_000 + id as i64,
            estimated_price: id as f64,
            interval: None,
            model_version: 1,
            ingest_ns: 0,
            seq: id,
        }
    }

    fn records(ids: std::ops::Range<u64>) -> Vec<PredictionRecord> {
        ids.map(record).collect()
    }

    #[test]
    fn stays_bounded_and_evicts_the_oldest() {
        let keep = 1_000;
        let store = PredictionStore::new(keep);
        for chunk in records(0..10 * keep as u64).chunks(37) {
            store.push_batch(chunk);
        }
        assert_eq!(store.len(), keep);
        assert_eq!(store.total_seen(), 10 * keep as u64);
        assert_eq!(store.get(0), None);
        assert_eq!(store.get(9 * keep as u64 - 1), None);
        assert_eq!(store.get(9 * keep as u64), Some(record(9 * keep as u64)));
        assert_eq!(store.get(10 * keep as u64 - 1), Some(record(10 * keep as u64 - 1)));
        assert_eq!(store.inner.lock().unwrap().index.len(), keep);
    }

    #[test]
    fn a_batch_larger_than_keep_keeps_its_tail() {
        let store = PredictionStore::new(10);
        store.push_batch(&records(0..5));
        store.push_batch(&records(5..30));
        assert_eq!(store.len(), 10);
        assert_eq!(store.total_seen(), 30);
        assert_eq!(store.get(19), None);
        assert_eq!(store.get(20), Some(record(20)));
        assert_eq!(store.recent(3, None), records(27..30).into_iter().rev().collect::<Vec<_>>());
        store.push_batch(&records(30..31));
        assert_eq!(store.get(20), None);
        assert_eq!(store.get(30), Some(record(30)));
        assert_eq!(store.total_seen(), 31);
    }

    #[test]
    fn recent_is_newest_first_and_filters_by_time() {
        let store = PredictionStore::new(100);
        store.push_batch(&records(0..50));
        let ids = |rs: Vec<PredictionRecord>| rs.iter().map(|r| r.id).collect::<Vec<_>>();
        assert_eq!(ids(store.recent(3, None)), [49, 48, 47]);
        assert_eq!(ids(store.recent(100, Some(1_045))), [49, 48, 47, 46, 45]);
        assert!(store.recent(0, None).is_empty());
        assert!(store.recent(10, Some(5_000)).is_empty());
    }

    #[test]
    fn a_repeated_id_finds_the_newest_and_survives_the_older_eviction() {
        let store = PredictionStore::new(3);
        store.push_batch(&[record(1)]);
        let newer = PredictionRecord { estimated_price: 2.0, ..record(1) };
        store.push_batch(&[record(2), newer.clone()]);
        assert_eq!(store.get(1), Some(newer.clone()));
        // Evicts the first record 1; the newer one must still be found.
        store.push_batch(&[record(3)]);
        assert_eq!(store.get(1), Some(newer));
        store.push_batch(&[record(4), record(5)]);
        assert_eq!(store.get(1), None);
    }

    #[test]
    fn keep_zero_counts_but_stores_nothing() {
        let store = PredictionStore::new(0);
        store.push_batch(&records(0..10));
        assert!(store.is_empty());
        assert_eq!(store.total_seen(), 10);
        assert_eq!(store.get(3), None);
    }

    #[test]
    fn concurrent_writers_and_readers() {
        let keep = 5_000;
        let store = Arc::new(PredictionStore::new(keep));
        let writers: Vec<_> = (0..4u64)
            .map(|w| {
                let store = store.clone();
                std::thread::spawn(move || {
                    for chunk in records(w * 100_000..w * 100_000 + 20_000).chunks(256) {
                        store.push_batch(chunk);
                    }
                })
            })
            .collect();
        let reader = {
            let store = store.clone();
            std::thread::spawn(move || {
                for i in 0..2_000 {
                    assert!(store.len() <= keep);
                    assert!(store.recent(50, None).len() <= 50);
                    if let Some(r) = store.get(i) {
                        assert_eq!(r.id, i);
                    }
                }
            })
        };
        for w in writers {
            w.join().unwrap();
        }
        reader.join().unwrap();
        assert_eq!(store.len(), keep);
        assert_eq!(store.total_seen(), 80_000);
        for r in store.recent(keep, None) {
            assert_eq!(store.get(r.id), Some(r));
        }
    }
}
