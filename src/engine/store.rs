//! The in-memory prediction store behind `GET /predictions`: the `keep` most recent
//! predictions, shared by every worker thread and the HTTP server.
//!
//! One mutex guards a ring buffer plus an index of *runs*: stretches of the ring whose ids
//! strictly ascend. A worker's batch of a generated, CSV or Kafka share is one run, and runs
//! that go on ascending merge, so a store of 100k predictions has a handful. Adding a batch
//! costs copying its records in and extending a run, with no per-record hashing (a hash index
//! of 100k ids cost a few cache misses per record, 5–7% of a stream); a lookup by id checks
//! the runs whose id range holds it, newest first, by binary search. Workers insert whole
//! batches, so the lock is taken once per batch, not per prediction.

use super::record::PredictionRecord;
use std::collections::VecDeque;
use std::sync::{Mutex, MutexGuard};

/// The `keep` most recent predictions, by arrival, found by id in O(runs · log run).
pub struct PredictionStore {
    keep: usize,
    inner: Mutex<Inner>,
}

struct Inner {
    /// Oldest at the front; `ring[i]` has sequence number `first_seq + i`.
    ring: VecDeque<PredictionRecord>,
    /// Sequence number of `ring[0]`; counts every record ever pushed before it.
    first_seq: u64,
    /// The ring cut into stretches of strictly ascending ids, oldest first, covering it.
    runs: VecDeque<Run>,
}

/// A stretch of the ring whose ids strictly ascend.
#[derive(Clone, Copy, Debug)]
struct Run {
    /// Sequence number of its first record.
    first_seq: u64,
    len: usize,
    /// Its lowest and highest id (the first record's and the last's; the lowest may be an
    /// evicted record's, which only widens the range checked).
    lo: u64,
    hi: u64,
}

impl PredictionStore {
    /// A store keeping at most `keep` predictions (0 keeps none, but still counts them).
    pub fn new(keep: usize) -> Self {
        // Grown on demand: a large `keep` costs memory only once predictions arrive.
        let inner = Inner { ring: VecDeque::new(), first_seq: 0, runs: VecDeque::new() };
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
            inner.runs.clear();
        }
        let overflow = (inner.ring.len() + records.len() - skip).saturating_sub(self.keep);
        inner.evict_front(overflow);
        let records = &records[skip..];
        let first = inner.first_seq + inner.ring.len() as u64;
        inner.ring.extend(records.iter().cloned());
        for (seq, r) in (first..).zip(records) {
            match inner.runs.back_mut() {
                // The runs cover the ring, so the last one ends where this record goes.
                Some(run) if run.hi < r.id => {
                    run.hi = r.id;
                    run.len += 1;
                }
                _ => inner.runs.push_back(Run { first_seq: seq, len: 1, lo: r.id, hi: r.id }),
            }
        }
    }

    /// The newest kept prediction for event `id`.
    pub fn get(&self, id: u64) -> Option<PredictionRecord> {
        let inner = self.lock();
        inner.runs.iter().rev().filter(|run| run.lo <= id && id <= run.hi).find_map(|run| {
            let start = (run.first_seq - inner.first_seq) as usize;
            let end = start + run.len;
            let (a, b) = inner.ring.as_slices();
            let front = &a[start.min(a.len())..end.min(a.len())];
            let back = &b[start.saturating_sub(a.len())..end.saturating_sub(a.len())];
            // Ids ascend along the run, across the ring's two slices too.
            let found =
                |part: &[PredictionRecord]| part.binary_search_by_key(&id, |r| r.id).ok().map(|k| part[k].clone());
            found(back).or_else(|| found(front))
        })
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
    /// Drops the `n` oldest records, and the runs they leave empty.
    fn evict_front(&mut self, n: usize) {
        let n = n.min(self.ring.len());
        self.ring.drain(..n);
        self.first_seq += n as u64;
        while let Some(run) = self.runs.front_mut() {
            let end = run.first_seq + run.len as u64;
            if end <= self.first_seq {
                self.runs.pop_front();
            } else {
                run.len = (end - self.first_seq) as usize;
                run.first_seq = self.first_seq;
                break;
            }
        }
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
        // One run: the ids ascend across batches.
        assert_eq!(store.inner.lock().unwrap().runs.len(), 1);
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

    proptest::proptest! {
        /// Against the definition: the newest of the last `keep` records pushed with that id,
        /// for batches of ascending, repeated and falling ids of any sizes.
        #[test]
        fn get_finds_the_newest_kept_record_with_the_id(
            keep in 0usize..60,
            batches in proptest::collection::vec(
                (proptest::collection::vec(0u64..40, 0..25), proptest::bool::ANY),
                1..30,
            ),
        ) {
            let store = PredictionStore::new(keep);
            let mut pushed: Vec<PredictionRecord> = Vec::new();
            for (n, (mut ids, ascending)) in batches.into_iter().enumerate() {
                if ascending {
                    ids.sort_unstable();
                }
                // The place in the stream tells records with the same id apart.
                let batch: Vec<PredictionRecord> = ids
                    .iter()
                    .enumerate()
                    .map(|(k, &id)| PredictionRecord { estimated_price: (pushed.len() + k) as f64, model_version: n as u32, ..record(id) })
                    .collect();
                store.push_batch(&batch);
                pushed.extend(batch);
                let kept = &pushed[pushed.len().saturating_sub(keep)..];
                for id in 0..40 {
                    let want = kept.iter().rev().find(|r| r.id == id).cloned();
                    proptest::prop_assert_eq!(store.get(id), want, "id {}", id);
                }
                proptest::prop_assert_eq!(store.len(), kept.len());
                proptest::prop_assert_eq!(store.recent(keep, None), kept.iter().rev().cloned().collect::<Vec<_>>());
            }
        }
    }
}
