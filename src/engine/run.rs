//! Running a plan: timely workers, each feeding its share of the source through the
//! rendered dataflow, until the source ends, `--events`, `--duration` or a signal.

use super::batch::{Batch, Spent};
pub use super::injection::{Faults, StreamTraffic};
use super::profile::OpTimer;
use super::render::{render, render_drift};
use super::runtime::Runtime;
use crate::data::csv_source::{CsvReader, Row};
use crate::data::dead_letter::DeadLetter;
use crate::data::generator::Generator;
use crate::data::shift::Shift;
use crate::data::{Event, Value};
use crate::kafka::health::{self, Health};
use crate::kafka::{Brokers, PartitionedConsumer};
use crate::plan::{Dataflow, OperatorKind};
use crate::program::{Schema, Source, SourceKind};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use timely::container::CapacityContainerBuilder;
use timely::dataflow::operators::{Input, Probe};
use timely::dataflow::{InputHandle, ProbeHandle};

/// How long to run and how.
#[derive(Clone, Debug)]
pub struct RunOptions {
    pub workers: usize,
    /// Stop after this many events in total.
    pub events: Option<u64>,
    /// Events per batch handed to the dataflow.
    pub batch: usize,
    /// Fraction of generated events to corrupt (testing dead-letter handling); 0 for none.
    pub inject_bad: f64,
    /// Ignore the source's declared `rate:` (benchmarks measure the unlimited stream).
    pub unpaced: bool,
    /// Run as one process of a timely cluster; `workers` threads in each process.
    pub cluster: Option<Cluster>,
    /// A distribution shift applied to the source from one event on (`--shift`).
    pub shift: Option<Shift>,
    /// A Kafka source ends once it has read what its partitions held at start (`--drain`).
    pub drain: bool,
    /// A scenario's stream traffic: the generated or CSV source's pace over time and the drift
    /// injected into its events; replaces the source's declared `rate:`.
    pub traffic: Option<Arc<dyn StreamTraffic>>,
    /// A scenario's faults: events dropped at the source, delays in stages, stalled workers.
    pub faults: Option<Arc<dyn Faults>>,
}

/// This process's place in a cluster of processes (timely's TCP cluster mode).
#[derive(Clone, Debug)]
pub struct Cluster {
    pub process: usize,
    /// `host:port` of every process, in process order.
    pub addresses: Vec<String>,
    /// How long to wait for the other processes to connect before giving up.
    pub connect_timeout: Duration,
}

/// Batches a worker may have in flight before it waits for them to finish (with a shared
/// counter of events, the events of this many batches of every worker).
const IN_FLIGHT: u64 = 4;

/// How long a Kafka source waits at the end for the broker to acknowledge what was written.
const KAFKA_FINISH: Duration = Duration::from_secs(30);

/// Runs `df` with `opts.workers` threads until its source is exhausted or `rt.stop` is set.
pub fn run_dataflow(df: &Dataflow, rt: Arc<Runtime>, opts: &RunOptions) -> Result<(), String> {
    let source = match df.operators.first().map(|o| &o.kind) {
        Some(OperatorKind::Source { source, .. }) => source.clone(),
        _ => return Err("the dataflow has no source".into()),
    };
    // Open the source once up front, so a missing file is an error before any thread starts.
    // A Kafka source is checked by `kafka::preflight` and gets a watcher of its broker instead.
    let health = match &source.kind {
        SourceKind::Kafka { topic, brokers, .. } => {
            let brokers = Brokers::resolve(brokers).map_err(|e| format!("source `{}`: {e}", source.name))?;
            let client = crate::kafka::config::metadata_client(&brokers)?;
            let known =
                crate::kafka::config::partitions(&client, &brokers, topic, crate::kafka::config::CONNECT_TIMEOUT)
                    .map_err(|e| format!("source `{}`: {e}", source.name))?;
            let stats = rt.stats.clone();
            let report = move |down: Option<String>| stats.set_source_down(down);
            Some(health::watch(&source.name, brokers, topic.clone(), known, report, rt.stop.clone())?)
        }
        _ => {
            Feeder::open(&source, &rt.schema, 0, 1, opts, None, None)?;
            None
        }
    };
    let Some(cluster) = opts.cluster.clone() else {
        let config = timely::Config::process(opts.workers.max(1));
        return execute_timely(config, df.clone(), source, rt, opts.clone(), Arc::new(AtomicBool::new(false)), health);
    };
    // Timely connects to the other processes before any worker starts, blocking without a
    // deadline; wait beside it so Ctrl-C, SIGTERM and a timeout still end this process.
    let config = timely::Config {
        communication: timely::CommunicationConfig::Cluster {
            threads: opts.workers.max(1),
            process: cluster.process,
            addresses: cluster.addresses.clone(),
            report: false,
            zerocopy: false,
        },
        worker: timely::WorkerConfig::default(),
    };
    let connected = Arc::new(AtomicBool::new(false));
    let stop = rt.stop.clone();
    let (tx, rx) = std::sync::mpsc::channel();
    {
        let (df, opts, connected) = (df.clone(), opts.clone(), connected.clone());
        std::thread::Builder::new()
            .name("cluster".into())
            .spawn(move || {
                let _ = tx.send(execute_timely(config, df, source, rt, opts, connected, health));
            })
            .map_err(|e| e.to_string())?;
    }
    let started = Instant::now();
    loop {
        match rx.recv_timeout(Duration::from_millis(100)) {
            Ok(result) => return result,
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => return Err("the cluster thread ended".into()),
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) if connected.load(Ordering::Relaxed) => {}
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                let others: Vec<&str> = cluster
                    .addresses
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| *i != cluster.process)
                    .map(|(_, a)| a.as_str())
                    .collect();
                if stop.load(Ordering::Relaxed) {
                    return Err(format!(
                        "stopped while waiting for the other processes of the cluster ({})",
                        others.join(", ")
                    ));
                }
                if started.elapsed() >= cluster.connect_timeout {
                    return Err(format!(
                        "the other processes of the cluster ({}) did not all connect within {} s (--connect-timeout)",
                        others.join(", "),
                        cluster.connect_timeout.as_secs_f64()
                    ));
                }
            }
        }
    }
}

/// Runs the timely workers to the end; `connected` is set once they start (after a cluster's
/// processes have all connected).
fn execute_timely(
    config: timely::Config,
    df: Dataflow,
    source: Source,
    rt: Arc<Runtime>,
    opts: RunOptions,
    connected: Arc<AtomicBool>,
    health: Option<Arc<Health>>,
) -> Result<(), String> {
    // The workers of one process take a generated source's events from a shared counter; the
    // processes of a cluster split them by worker instead.
    let shared =
        matches!(config.communication, timely::CommunicationConfig::Process(_) | timely::CommunicationConfig::Thread)
            .then(|| Arc::new(AtomicU64::new(0)));
    let guards = timely::execute(config, move |worker| {
        connected.store(true, Ordering::Relaxed);
        let (index, peers) = (worker.index(), worker.peers());
        let mut input = InputHandle::<u64, CapacityContainerBuilder<Vec<Batch>>>::new();
        let probe = ProbeHandle::new();
        let monitors = rt.drift.as_ref().map(|d| d.monitors.clone()).unwrap_or_default();
        let feeds = render_drift(worker, &df, &monitors, &rt);
        let spent = Spent::default();
        worker.dataflow::<u64, _, _>(|scope| {
            let stream = scope.input_from(&mut input);
            render(&df, stream, &rt, &feeds, &spent).probe_with(&probe);
        });
        let mut feeder = match Feeder::open(&source, &rt.schema, index, peers, &opts, health.clone(), shared.clone()) {
            Ok(f) => f,
            Err(e) => {
                tracing::error!(worker = index, "{e}");
                rt.stop.store(true, Ordering::Relaxed);
                return;
            }
        };
        let mut epoch = 0u64;
        let flush_files = || rt.sinks.iter().for_each(|s| s.flush_files());
        let started = Instant::now();
        let mut source_timer = df.operators.first().map(|o| OpTimer::new(o.id, rt.stats.profile.clone()));
        while !rt.stop.load(Ordering::Relaxed) {
            if opts.faults.as_ref().is_some_and(|f| f.stalled(index, started.elapsed().as_millis() as u64)) {
                // A stalled worker takes nothing from its source and does no dataflow work.
                std::thread::sleep(Duration::from_millis(5));
                continue;
            }
            let next = match source_timer.as_mut() {
                Some(t) => {
                    let next = t.time(0, || feeder.next_batch(opts.batch, &rt.stats, &spent));
                    t.emitted(next.events());
                    next
                }
                None => feeder.next_batch(opts.batch, &rt.stats, &spent),
            };
            let batch = match next {
                Next::Batch(b) => b,
                Next::Wait(wait) => {
                    if let Some(claimed) = feeder.claimed() {
                        input.advance_to(claimed);
                    }
                    // Park until the next events are due, waking early only for dataflow work.
                    worker.step_or_park(Some(wait));
                    continue;
                }
                Next::End => break,
            };
            let sent = batch.events.len() + batch.rejected.len();
            input.send(batch);
            if let Feeder::Kafka(consumer) = &mut feeder {
                consumer.sent(epoch);
            }
            epoch += 1;
            // The dataflow's time is the worker's batch count, or for events taken from a
            // shared counter, the counter: every event a worker takes later is at or above it,
            // and a worker that takes more batches than another is not held to its count. In
            // flight are then the events of as many batches of this one's size of every worker.
            let (now, behind) = match feeder.claimed() {
                Some(claimed) => (claimed, IN_FLIGHT * (sent.max(1) * peers) as u64),
                None => (epoch, IN_FLIGHT),
            };
            input.advance_to(now);
            while probe.less_than(&now.saturating_sub(behind)) {
                worker.step();
            }
            worker.step();
            if let Feeder::Kafka(consumer) = &mut feeder {
                consumer.settle(|e| !probe.less_equal(&e), false, flush_files);
            }
        }
        input.close();
        // Every batch through the main dataflow first, so the feeds have all their values; then
        // the feeds close and the last windows are evaluated.
        while !probe.done() {
            worker.step();
        }
        if let Feeder::Kafka(consumer) = &mut feeder {
            if let Err(e) = consumer.finish(KAFKA_FINISH, flush_files) {
                tracing::error!("{e}");
                rt.stats.record_source_error(e);
            }
        }
        for f in &feeds {
            f.borrow_mut().close();
        }
        while worker.step() {}
        drop(source_timer);
        rt.stats.profile.add_worker_nanos(started.elapsed().as_nanos() as u64);
    })?;
    let results = guards.join();
    for r in results {
        r.map_err(|e| format!("a worker failed: {e}"))?;
    }
    Ok(())
}

/// One worker's share of a source.
enum Feeder {
    Generate {
        generator: Generator,
        claims: Claims,
        end: u64,
        pace: Option<Pace>,
        bad: Option<Corruptor>,
        shift: Option<Shift>,
        traffic: Option<Arc<dyn StreamTraffic>>,
        faults: Option<Arc<dyn Faults>>,
    },
    Csv {
        reader: Box<CsvReader<std::fs::File>>,
        left: u64,
        pace: Option<Pace>,
        shift: Option<Shift>,
    },
    Kafka(Box<PartitionedConsumer>),
}

/// Which event numbers a worker generates next.
enum Claims {
    /// Every `step`-th number from `next`: the workers of a cluster, which share no memory.
    Strided { next: u64, step: u64 },
    /// Runs of consecutive numbers taken from a counter the process's workers share, so a
    /// worker with less else to do (fewer drift monitors to evaluate) takes more events, and
    /// each worker's windows hold runs of events instead of every other one.
    Shared(Arc<AtomicU64>),
}

impl Claims {
    /// The next at most `n` event numbers below `end` this worker generates, ascending; empty
    /// once the source is exhausted.
    fn take(&mut self, n: usize, end: u64) -> impl Iterator<Item = u64> {
        let n = n as u64;
        let (start, stop, step) = match self {
            Claims::Strided { next, step } => {
                let start = *next;
                *next = start.saturating_add(n.saturating_mul(*step));
                (start, (*next).min(end), *step)
            }
            Claims::Shared(counter) => {
                let start = counter.fetch_add(n, Ordering::Relaxed).min(end);
                (start, start.saturating_add(n).min(end), 1)
            }
        };
        (start..stop).step_by(step as usize)
    }

    /// Whether no event below `end` is left to take.
    fn exhausted(&self, end: u64) -> bool {
        match self {
            Claims::Strided { next, .. } => *next >= end,
            Claims::Shared(counter) => counter.load(Ordering::Relaxed) >= end,
        }
    }
}

/// Holds a worker to its share of a declared rate. Events go out in small batches at most
/// every [`PACE_TICK`]; in between the worker parks (steps only if the dataflow has work),
/// instead of spinning through empty steps.
struct Pace {
    started: Instant,
    per_second: f64,
    /// A scenario's schedule instead of a constant rate: this worker's share of `due`.
    schedule: Option<(Arc<dyn StreamTraffic>, f64)>,
    sent: u64,
    /// When events were last let out.
    released: Option<Instant>,
}

/// How often a paced source lets out the events that have come due: the latency a paced
/// event may wait at the source, against the cost of a dataflow step per batch.
pub const PACE_TICK: Duration = Duration::from_millis(5);

impl Pace {
    fn new(rate: Option<f64>, peers: usize) -> Option<Pace> {
        rate.map(|r| Pace {
            started: Instant::now(),
            per_second: r / peers as f64,
            schedule: None,
            sent: 0,
            released: None,
        })
    }

    /// A pace that follows a scenario's schedule.
    fn scheduled(traffic: Arc<dyn StreamTraffic>, peers: usize) -> Pace {
        Pace {
            started: Instant::now(),
            per_second: 0.0,
            schedule: Some((traffic, 1.0 / peers as f64)),
            sent: 0,
            released: None,
        }
    }

    /// How many events may go now (at most `want`), or how long to wait until some may. Events
    /// are let out once per [`PACE_TICK`], all those due together, or at once when a full
    /// batch is due.
    fn allow(&mut self, want: usize) -> Result<usize, Duration> {
        let elapsed = self.started.elapsed().as_secs_f64();
        let due = match &self.schedule {
            Some((traffic, share)) => (traffic.due(elapsed) * share) as u64,
            None => (elapsed * self.per_second) as u64,
        };
        // A full batch goes at once (high rates); smaller ones wait for the tick.
        let full = due.saturating_sub(self.sent) >= want as u64;
        if let Some(since) = self.released.map(|r| r.elapsed()).filter(|e| *e < PACE_TICK && !full) {
            return Err(PACE_TICK - since);
        }
        if due <= self.sent {
            if self.schedule.is_some() {
                return Err(PACE_TICK);
            }
            let next = (self.sent + 1) as f64 / self.per_second - elapsed;
            return Err(Duration::from_secs_f64(next.clamp(0.0, PACE_TICK.as_secs_f64())));
        }
        let n = ((due - self.sent) as usize).min(want);
        self.sent += n as u64;
        self.released = Some(Instant::now());
        Ok(n)
    }
}

/// What a worker's source has next.
enum Next {
    Batch(Batch),
    /// Nothing is due before this long (a paced source).
    Wait(Duration),
    End,
}

impl Next {
    /// Events (and source rejections) it carries.
    fn events(&self) -> usize {
        match self {
            Next::Batch(b) => b.events.len() + b.rejected.len(),
            _ => 0,
        }
    }
}

impl Feeder {
    fn open(
        source: &Source,
        schema: &Schema,
        index: usize,
        peers: usize,
        opts: &RunOptions,
        health: Option<Arc<Health>>,
        shared: Option<Arc<AtomicU64>>,
    ) -> Result<Feeder, String> {
        let limit = opts.events;
        match &source.kind {
            SourceKind::Generate { seed, rate, rows } => {
                let end = match (rows, limit) {
                    (Some(r), Some(l)) => (*r).min(l),
                    (Some(r), None) => *r,
                    (None, Some(l)) => l,
                    (None, None) => u64::MAX,
                };
                Ok(Feeder::Generate {
                    generator: Generator::new(schema, *seed)?,
                    claims: match shared {
                        Some(counter) => Claims::Shared(counter),
                        None => Claims::Strided { next: index as u64, step: peers as u64 },
                    },
                    end,
                    pace: match &opts.traffic {
                        Some(t) => Some(Pace::scheduled(t.clone(), peers)),
                        None => Pace::new(rate.filter(|_| !opts.unpaced), peers),
                    },
                    bad: Corruptor::new(schema, opts.inject_bad),
                    shift: opts.shift.clone(),
                    traffic: opts.traffic.clone(),
                    faults: opts.faults.clone(),
                })
            }
            SourceKind::Csv { path, columns, delimiter, rate } => {
                let reader = CsvReader::open(Path::new(path), schema, columns, *delimiter)
                    .map_err(|e| format!("source `{}`: {e}", source.name))?
                    .share(peers as u64, index as u64);
                // `--events N` bounds the total; each worker takes its share of it.
                let left = limit.map_or(u64::MAX, |l| l / peers as u64 + u64::from((index as u64) < l % peers as u64));
                Ok(Feeder::Csv {
                    reader: Box::new(reader),
                    left,
                    pace: match &opts.traffic {
                        Some(t) => Some(Pace::scheduled(t.clone(), peers)),
                        None => Pace::new(rate.filter(|_| !opts.unpaced), peers),
                    },
                    shift: opts.shift.clone(),
                })
            }
            SourceKind::Kafka { topic, brokers, start, .. } => {
                let brokers = Brokers::resolve(brokers).map_err(|e| format!("source `{}`: {e}", source.name))?;
                let group = source.kafka_group().unwrap_or_default();
                let left = limit.map_or(u64::MAX, |l| l / peers as u64 + u64::from((index as u64) < l % peers as u64));
                let consumer = PartitionedConsumer::open(
                    &source.name,
                    topic,
                    &brokers,
                    &group,
                    *start,
                    schema,
                    (index, peers),
                    left,
                    opts.drain,
                    health,
                )?;
                Ok(Feeder::Kafka(Box::new(consumer)))
            }
        }
    }

    /// For events taken from a counter shared with the other workers, the counter: no event
    /// this worker takes later is below it.
    fn claimed(&self) -> Option<u64> {
        match self {
            Feeder::Generate { claims: Claims::Shared(counter), end, .. } => {
                Some(counter.load(Ordering::Relaxed).min(*end))
            }
            _ => None,
        }
    }

    /// The next batch of up to `size` events of this worker's share, a wait when a paced share
    /// has nothing due, or its end. A read error ends the share
    /// and is recorded in `stats` (the events before it are kept and go on through the run).
    fn next_batch(&mut self, size: usize, stats: &super::stats::Stats, spent: &Spent) -> Next {
        match self {
            Feeder::Generate { generator, claims, end, pace, bad, shift, traffic, faults } => {
                if claims.exhausted(*end) {
                    return Next::End;
                }
                let allowed = match pace.as_mut().map_or(Ok(size), |p| p.allow(size)) {
                    Ok(n) => n,
                    Err(wait) => return Next::Wait(wait),
                };
                let mut events = Vec::with_capacity(allowed);
                let mut reuse = spent.take(allowed);
                let elapsed_ms = pace.as_ref().map_or(0, |p| p.started.elapsed().as_millis() as u64);
                for index in claims.take(allowed, *end) {
                    let mut e = match reuse.pop() {
                        Some(mut e) => {
                            generator.event_into(index, &mut e);
                            e
                        }
                        None => generator.event(index),
                    };
                    if let Some(s) = shift {
                        s.apply(&mut e);
                    }
                    if let Some(t) = traffic {
                        t.alter(elapsed_ms, &mut e);
                    }
                    if faults.as_ref().is_some_and(|f| f.drop_at_source(elapsed_ms, e.id)) {
                        stats.dropped_by_fault.fetch_add(1, Ordering::Relaxed);
                        stats.events_in.fetch_add(1, Ordering::Relaxed);
                        continue;
                    }
                    if let Some(bad) = bad {
                        bad.apply(&mut e);
                    }
                    events.push(e);
                }
                spent.put_back(reuse);
                if events.is_empty() && claims.exhausted(*end) {
                    return Next::End;
                }
                Next::Batch(Batch::new(events))
            }
            Feeder::Csv { reader, left, pace, shift } => {
                if *left == 0 {
                    return Next::End;
                }
                let allowed = match pace.as_mut().map_or(Ok(size), |p| p.allow(size)) {
                    Ok(n) => n.min(*left as usize),
                    Err(wait) => return Next::Wait(wait),
                };
                let mut batch = Batch::new(Vec::with_capacity(allowed));
                let mut taken = 0;
                while taken < allowed {
                    match reader.next_row() {
                        Ok(Some(Row::Event(mut e))) => {
                            if let Some(s) = shift {
                                s.apply(&mut e);
                            }
                            batch.events.push(e)
                        }
                        Ok(Some(Row::Rejected(r))) => batch.rejected.push(DeadLetter::from_csv(&r)),
                        Ok(None) => {
                            *left = 0;
                            break;
                        }
                        Err(e) => {
                            tracing::error!("CSV source: {e}; the rows read before it go on through the run");
                            stats.record_source_error(format!("CSV source: {e}"));
                            *left = 0;
                            break;
                        }
                    }
                    taken += 1;
                }
                *left = left.saturating_sub(taken as u64);
                if batch.events.is_empty() && batch.rejected.is_empty() && *left == 0 {
                    Next::End
                } else {
                    Next::Batch(batch)
                }
            }
            Feeder::Kafka(consumer) => match consumer.next_batch(size) {
                Some(polled) => {
                    let mut batch = Batch::new(polled.events);
                    batch.rejected = polled.rejected;
                    batch.acks = Some(polled.acks);
                    Next::Batch(batch)
                }
                None => Next::End,
            },
        }
    }
}

/// Corrupts a deterministic share of generated events, in four ways that validation must
/// catch: a NaN, a value out of range, a missing required value, text where a number belongs.
pub struct Corruptor {
    /// Out of 2^32.
    threshold: u64,
    /// Required numeric fields, with their ranges.
    fields: Vec<(usize, Option<(f64, f64)>)>,
}

impl Corruptor {
    pub fn new(schema: &Schema, fraction: f64) -> Option<Corruptor> {
        let fields: Vec<_> = schema
            .fields
            .iter()
            .enumerate()
            .filter(|(_, f)| f.ty.is_numeric() && !f.optional)
            .map(|(i, f)| (i, f.range))
            .collect();
        (fraction > 0.0 && !fields.is_empty())
            .then(|| Corruptor { threshold: (fraction.min(1.0) * 4_294_967_296.0) as u64, fields })
    }

    /// Whether and how event `id` is corrupted depends only on its id, so every worker
    /// count corrupts the same events.
    pub fn apply(&self, e: &mut Event) {
        let h = splitmix(e.id);
        if h & 0xFFFF_FFFF >= self.threshold {
            return;
        }
        let kind = (h >> 32) % 4;
        let (index, range) = self.fields[((h >> 40) as usize) % self.fields.len()];
        e.values[index] = match kind {
            0 => Value::Num(f64::NAN),
            1 => Value::Num(range.map_or(f64::INFINITY, |(_, hi)| hi * 2.0 + 1.0)),
            2 => Value::Missing,
            _ => Value::Text("not a number".into()),
        };
    }
}

fn splitmix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Workers taking runs from one counter get every number below the end exactly once, each
    /// run ascending; strided workers get the numbers of their residue.
    #[test]
    fn claims_cover_every_event_once() {
        let counter = Arc::new(AtomicU64::new(0));
        let mut workers = [Claims::Shared(counter.clone()), Claims::Shared(counter)];
        let mut seen = Vec::new();
        for round in 0.. {
            let w = &mut workers[round % 2];
            if w.exhausted(1000) {
                break;
            }
            // Uneven asks, as workers of uneven speed make.
            let run: Vec<u64> = w.take(1 + (round * 37) % 100, 1000).collect();
            assert!(run.windows(2).all(|p| p[1] == p[0] + 1), "a run is consecutive: {run:?}");
            seen.extend(run);
        }
        seen.sort_unstable();
        assert_eq!(seen, (0..1000).collect::<Vec<_>>());

        let mut strided = Claims::Strided { next: 1, step: 3 };
        let mut got = Vec::new();
        while !strided.exhausted(20) {
            got.extend(strided.take(2, 20));
        }
        assert_eq!(got, vec![1, 4, 7, 10, 13, 16, 19]);
    }
}
