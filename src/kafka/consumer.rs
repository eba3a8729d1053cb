//! One worker's share of a Kafka topic: the partitions `p % peers == index`, assigned by hand
//! (no consumer-group balancing), read from the group's committed offsets (else from the
//! beginning or the end, as declared), decoded into batches, and committed once every batch
//! up to a point has been fully written.

use super::acks::Acks;
use super::config::{now_ms, partitions, Brokers, Logging, CONNECT_TIMEOUT};
use super::decode::{decode, Position};
use super::health::Health;
use crate::data::dead_letter::DeadLetter;
use crate::data::Event;
use crate::program::{KafkaStart as Start, Schema};
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::message::{Message, Timestamp};
use rdkafka::{Offset, TopicPartitionList};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long the first poll of a batch waits for a message when the topic is idle.
const IDLE_WAIT: Duration = Duration::from_millis(50);

/// How long a `--drain` share must see no new message, past the end offsets, before it ends.
const DRAIN_QUIET: Duration = Duration::from_millis(500);

/// How often settled offsets are committed (and always at the end).
const COMMIT_EVERY: Duration = Duration::from_millis(200);

/// What one poll read: events, messages that are not events, and the acks to count the
/// records written for them in.
pub struct Polled {
    pub events: Vec<Event>,
    pub rejected: Vec<DeadLetter>,
    pub acks: Arc<Acks>,
}

/// A batch on its way through the dataflow, not yet committed.
struct InFlight {
    /// The dataflow time the batch was sent at.
    epoch: u64,
    acks: Arc<Acks>,
    /// Per partition, the offset after the batch's last message.
    next: BTreeMap<i32, i64>,
}

/// One worker's partitions of one topic.
pub struct PartitionedConsumer {
    consumer: BaseConsumer<Logging>,
    source: String,
    topic: String,
    schema: Schema,
    index: usize,
    peers: usize,
    start: Start,
    owned: BTreeSet<i32>,
    health: Option<Arc<Health>>,
    in_flight: VecDeque<InFlight>,
    /// Offsets settled but not yet committed.
    settled: BTreeMap<i32, i64>,
    last_commit: Instant,
    /// Messages this worker may still read (`--events`).
    left: u64,
    /// Batches whose records the broker refused; nothing after them is committed.
    stuck: bool,
    /// Records the broker refused.
    refused: u64,
    /// With `--drain`: per owned partition, the end offset when the run started; the worker's
    /// share ends once it has read up to each.
    until: Option<BTreeMap<i32, i64>>,
    /// Per partition, the offset after the last message read.
    position: BTreeMap<i32, i64>,
    /// When the last message was read.
    last_message: Instant,
    /// Messages this worker has read.
    received: u64,
}

impl PartitionedConsumer {
    /// Connects as worker `index` of `peers` and assigns this worker's partitions.
    #[allow(clippy::too_many_arguments)]
    pub fn open(
        source: &str,
        topic: &str,
        brokers: &Brokers,
        group: &str,
        start: Start,
        schema: &Schema,
        (index, peers): (usize, usize),
        left: u64,
        drain: bool,
        health: Option<Arc<Health>>,
    ) -> Result<PartitionedConsumer, String> {
        let consumer: BaseConsumer<Logging> = brokers
            .client_config()
            .set("group.id", group)
            .set("enable.auto.commit", "false")
            .set("enable.auto.offset.store", "false")
            .set("enable.partition.eof", "false")
            .set("auto.offset.reset", if start == Start::Earliest { "earliest" } else { "latest" })
            .set("fetch.wait.max.ms", "50")
            .create_with_context(Logging::default())
            .map_err(|e| format!("source `{source}`: Kafka consumer for {}: {e}", brokers.0))?;
        let count =
            partitions(&consumer, brokers, topic, CONNECT_TIMEOUT).map_err(|e| format!("source `{source}`: {e}"))?;
        let mut me = PartitionedConsumer {
            consumer,
            source: source.to_string(),
            topic: topic.to_string(),
            schema: schema.clone(),
            index,
            peers: peers.max(1),
            start,
            owned: BTreeSet::new(),
            health,
            in_flight: VecDeque::new(),
            settled: BTreeMap::new(),
            last_commit: Instant::now(),
            left,
            stuck: false,
            refused: 0,
            until: None,
            position: BTreeMap::new(),
            last_message: Instant::now(),
            received: 0,
        };
        me.assign_up_to(count)?;
        if drain {
            let mut until = BTreeMap::new();
            for p in &me.owned {
                let (low, high) = me
                    .consumer
                    .fetch_watermarks(topic, *p, CONNECT_TIMEOUT)
                    .map_err(|e| format!("source `{source}`: end of partition {p} of `{topic}`: {e}"))?;
                // Without a committed offset the worker starts at the beginning, or at the
                // end (`start: latest`), where there is nothing to drain.
                let from = if start == Start::Latest { high } else { low };
                me.position.entry(*p).or_insert(from);
                until.insert(*p, high);
            }
            me.until = Some(until);
        }
        Ok(me)
    }

    /// The partitions this worker owns.
    pub fn owned(&self) -> &BTreeSet<i32> {
        &self.owned
    }

    /// Adds this worker's partitions among the first `count` that it does not read yet,
    /// each from its committed offset (else from where the source starts).
    fn assign_up_to(&mut self, count: usize) -> Result<(), String> {
        let new: Vec<i32> =
            (0..count as i32).filter(|p| *p as usize % self.peers == self.index && !self.owned.contains(p)).collect();
        if new.is_empty() {
            return Ok(());
        }
        let mut wanted = TopicPartitionList::new();
        for p in &new {
            wanted.add_partition(&self.topic, *p);
        }
        let committed = self
            .consumer
            .committed_offsets(wanted, CONNECT_TIMEOUT)
            .map_err(|e| format!("source `{}`: committed offsets of `{}`: {e}", self.source, self.topic))?;
        let mut assignment = TopicPartitionList::new();
        // Partitions that appear while running start at their beginning: all they hold is new.
        let fresh = if self.owned.is_empty() { self.start } else { Start::Earliest };
        for e in committed.elements() {
            let offset = match e.offset() {
                Offset::Offset(o) if o >= 0 => {
                    // Read up to here already: what `--drain` counts from.
                    self.position.insert(e.partition(), o);
                    Offset::Offset(o)
                }
                _ if fresh == Start::Earliest => Offset::Beginning,
                _ => Offset::End,
            };
            assignment
                .add_partition_offset(&self.topic, e.partition(), offset)
                .map_err(|e| format!("source `{}`: {e}", self.source))?;
        }
        self.consumer.incremental_assign(&assignment).map_err(|e| format!("source `{}`: assign: {e}", self.source))?;
        tracing::debug!(
            worker = self.index,
            "source `{}`: reading partitions {new:?} of `{}`",
            self.source,
            self.topic
        );
        self.owned.extend(new);
        Ok(())
    }

    /// Reads up to `size` messages (waiting briefly when none is there), or `None` once the
    /// share ends (`--events`, `--drain`). The [`Acks`] count the answers to the Kafka records
    /// written for these messages; [`PartitionedConsumer::sent`] must follow with the epoch
    /// they were sent at.
    pub fn next_batch(&mut self, size: usize) -> Option<Polled> {
        if self.left == 0 || self.drained() {
            return None;
        }
        if let Some(h) = self.health.as_ref().filter(|_| self.until.is_none()) {
            let count = h.partitions.load(Ordering::Acquire);
            if let Err(e) = self.assign_up_to(count) {
                tracing::warn!("{e}");
            }
        }
        let want = size.min(self.left.min(usize::MAX as u64) as usize).max(1);
        let mut batch = Polled { events: Vec::with_capacity(want), rejected: Vec::new(), acks: Arc::default() };
        let mut next = BTreeMap::new();
        let now = now_ms();
        let mut wait = IDLE_WAIT;
        while batch.events.len() + batch.rejected.len() < want {
            let Some(polled) = self.consumer.poll(wait) else { break };
            wait = Duration::ZERO;
            let message = match polled {
                Ok(m) => m,
                Err(e) => {
                    tracing::debug!(worker = self.index, "source `{}`: {e}", self.source);
                    break;
                }
            };
            let at = Position {
                partition: message.partition(),
                offset: message.offset(),
                timestamp_ms: match message.timestamp() {
                    Timestamp::CreateTime(t) | Timestamp::LogAppendTime(t) if t >= 0 => Some(t),
                    _ => None,
                },
            };
            next.insert(at.partition, at.offset + 1);
            self.position.insert(at.partition, at.offset + 1);
            self.last_message = Instant::now();
            // Arrival order, interleaved across workers: what windows counted in events use.
            let seq = self.received * self.peers as u64 + self.index as u64;
            self.received += 1;
            match decode(&self.schema, message.payload(), at, now) {
                Ok(e) => batch.events.push(Event { seq, ..e }),
                Err(d) => batch.rejected.push(DeadLetter { seq, ..*d }),
            }
        }
        self.left -= (batch.events.len() + batch.rejected.len()) as u64;
        self.in_flight.push_back(InFlight { epoch: u64::MAX, acks: batch.acks.clone(), next });
        Some(batch)
    }

    /// With `--drain`, whether every owned partition has been read to where it ended at start
    /// (a committed offset counts as read: a restarted run starts there).
    ///
    /// Some brokers report an end offset that lags what they hold (tansu 0.6 does under load),
    /// so the share also has to have seen no new message for [`DRAIN_QUIET`].
    fn drained(&self) -> bool {
        let Some(until) = &self.until else { return false };
        until.iter().all(|(p, end)| self.position.get(p).copied().unwrap_or(0) >= *end)
            && self.last_message.elapsed() >= DRAIN_QUIET
    }

    /// The batch [`PartitionedConsumer::next_batch`] returned last was sent at `epoch`.
    pub fn sent(&mut self, epoch: u64) {
        if let Some(last) = self.in_flight.back_mut() {
            last.epoch = epoch;
        }
    }

    /// Moves batches that have passed every stage (`done(epoch)`) and whose records are all
    /// acknowledged to the settled offsets, in order; commits them now and then, or now
    /// when `force`. `flush` makes the run's file sinks durable before a commit.
    pub fn settle(&mut self, done: impl Fn(u64) -> bool, force: bool, flush: impl Fn()) {
        while let Some(front) = self.in_flight.front() {
            if !done(front.epoch) || !front.acks.settled() {
                break;
            }
            if self.stuck {
                // Nothing after a refused batch is committed; forget finished batches.
                self.in_flight.pop_front();
                continue;
            }
            if front.acks.failures() > 0 {
                // Not committed: a restart reads these messages again.
                tracing::error!(
                    "source `{}`: {} record(s) of a batch were refused by Kafka ({}); offsets after them are not committed",
                    self.source,
                    front.acks.failures(),
                    front.acks.first_error().unwrap_or_default()
                );
                self.stuck = true;
                self.refused += front.acks.failures();
                continue;
            }
            let front = self.in_flight.pop_front().expect("front exists");
            self.settled.extend(front.next);
        }
        if self.settled.is_empty() || !(force || self.last_commit.elapsed() >= COMMIT_EVERY) {
            return;
        }
        flush();
        let mut offsets = TopicPartitionList::new();
        for (p, o) in &self.settled {
            let _ = offsets.add_partition_offset(&self.topic, *p, Offset::Offset(*o));
        }
        let mode = if force { CommitMode::Sync } else { CommitMode::Async };
        match self.consumer.commit(&offsets, mode) {
            Ok(()) => self.settled.clear(),
            Err(e) => tracing::debug!(worker = self.index, "source `{}`: commit: {e}; retried", self.source),
        }
        self.last_commit = Instant::now();
    }

    /// At the end: waits up to `timeout` for the outstanding batches to settle, then commits
    /// what settled. Unsettled batches stay uncommitted and are read again by the next run.
    /// Fails when the broker refused records (their offsets and all later ones stay uncommitted).
    pub fn finish(&mut self, timeout: Duration, flush: impl Fn()) -> Result<(), String> {
        let deadline = Instant::now() + timeout;
        loop {
            self.settle(|_| true, false, &flush);
            if self.in_flight.is_empty() || Instant::now() >= deadline {
                break;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        if !self.in_flight.is_empty() {
            tracing::warn!(
                "source `{}`: {} batch(es) not acknowledged by Kafka at the end; the next run reads them again",
                self.source,
                self.in_flight.len()
            );
        }
        self.settle(|_| true, true, &flush);
        match self.refused {
            0 => Ok(()),
            n => Err(format!(
                "source `{}`: Kafka refused {n} record(s) written for it; from the first such batch on, offsets were not committed, so the next run reads those events again",
                self.source
            )),
        }
    }
}
