//! Scenarios: the pipeline a scenario `use`s runs in-process while agents drive it on one
//! clock — stream traffic (the generator's pace over time), HTTP traffic (open-model requests
//! to `/predict` over real sockets) and drift (changes to fields from a time on) — an observer
//! records every second, and the expectations are judged at the end.
//!
//! | file | job |
//! |---|---|
//! | `schedule.rs` | arrival rates over time from `traffic` patterns |
//! | `inject.rs` | the drift agent |
//! | `broker.rs` | `kafka down`: the local broker process frozen and thawed |
//! | `producer.rs` | stream traffic for a pipeline that reads Kafka |
//! | `faults.rs` | the fault injector: drops at the source, stage delays, stalled workers |
//! | `guardrail.rs` | the scenario's guardrails, judged every second: alert, shed, rollback, abort |
//! | `http_agent.rs` | the HTTP traffic agent (dropped arrivals counted, latency from due time) |
//! | `observer.rs` | the stream and the drift monitors, once a second |
//! | `expect.rs` | the expectations, with their measured values |
//! | `report.rs` | report.json, report.md, report.html |

pub mod broker;
pub mod expect;
pub mod faults;
pub mod guardrail;
pub mod http_agent;
pub mod inject;
pub mod observer;
pub mod producer;
pub mod report;
pub mod schedule;

use crate::data::generator::Generator;
use crate::data::Event;
use crate::engine::run::{RunOptions, StreamTraffic};
use crate::engine::session::{execute, Display, Outcome, Prepared};
use crate::program::{Scenario, TrafficTarget};
use crate::serve::admission::Admission;
use expect::Judged;
use http_agent::AgentSecond;
use inject::Injector;
use observer::StreamSecond;
use schedule::Schedule;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

/// Exit status of `housing-flow scenario` when an expectation fails (k6 uses 99 for failed thresholds).
pub const EXIT_EXPECTATION_FAILED: u8 = 99;

/// The stream side of a scenario: its schedule and drift, for the engine's source.
///
/// A drift at time T reaches the stream's events from the one the schedule makes due at T on
/// (by event number, not by the clock), so the same scenario drifts the same events in every run
/// and the monitors, whose windows count events, see the same windows.
#[derive(Debug)]
struct ScenarioStream {
    schedule: Schedule,
    injector: Arc<Injector>,
    /// Per injection, the event numbers it reaches: `[first, end)`, computed once.
    positions: Vec<(f64, f64)>,
}

impl ScenarioStream {
    fn new(schedule: Schedule, injector: Arc<Injector>) -> ScenarioStream {
        let position = |ms: u64| {
            if ms == u64::MAX {
                f64::INFINITY
            } else {
                schedule.cumulative(ms as f64 / 1e3).floor()
            }
        };
        let positions = injector.injections.iter().map(|i| (position(i.from_ms), position(i.until_ms))).collect();
        ScenarioStream { schedule, injector, positions }
    }
}

impl StreamTraffic for ScenarioStream {
    fn due(&self, elapsed: f64) -> f64 {
        self.schedule.cumulative(elapsed)
    }
    fn alter(&self, _elapsed_ms: u64, event: &mut Event) {
        let id = event.id as f64;
        self.injector.apply_where(
            |k, _| {
                let (from, end) = self.positions[k];
                id >= from && id < end
            },
            event.id,
            &mut event.values,
        );
    }
}

/// Everything a scenario run produced.
pub struct ScenarioRun {
    pub scenario: Scenario,
    pub model: String,
    pub outcome: Outcome,
    pub stream: Vec<StreamSecond>,
    pub http: Vec<AgentSecond>,
    pub injector: Injector,
    pub faults: faults::Injector,
    pub judged: Vec<Judged>,
    /// What the scenario's guardrails decided, in order.
    pub decisions: Vec<guardrail::Decision>,
    /// For a pipeline that reads Kafka: the events the stream traffic produced that the broker
    /// acknowledged, and those it refused.
    pub produced: Option<(u64, u64)>,
    /// Online error and interval coverage over the whole run.
    pub labelled: crate::engine::stats::Labelled,
    /// Wall-clock start, milliseconds since the Unix epoch (alerts carry wall-clock times).
    pub started_ms: u64,
}

/// The p99 an HTTP second must keep to count towards the rate the pipeline holds, unless the
/// scenario expects a tighter or looser `p99(http_latency)`.
pub const HOLDING_P99_MS: f64 = 50.0;

impl ScenarioRun {
    /// Whether every expectation held and no guardrail aborted the run.
    pub fn passed(&self) -> bool {
        self.aborted().is_none() && self.judged.iter().all(|j| j.passed)
    }

    /// The decision that aborted the run, if one did.
    pub fn aborted(&self) -> Option<&guardrail::Decision> {
        self.decisions.iter().find(|d| d.action == "abort")
    }

    /// The p99 objective for HTTP: the scenario's `expect p99(http_latency) < X`, else 50 ms.
    pub fn http_objective_ms(&self) -> f64 {
        self.scenario
            .expectations
            .iter()
            .find_map(|e| match e {
                crate::program::Expectation::Holds {
                    condition:
                        crate::program::Condition::Compare {
                            metric: crate::program::Metric::Latency { quantile, http: true },
                            value,
                            ..
                        },
                } if (*quantile - 0.99).abs() < 1e-9 => Some(*value),
                _ => None,
            })
            .unwrap_or(HOLDING_P99_MS)
    }

    /// The highest HTTP rate the pipeline answered in one second with nothing dropped or failed
    /// and p99 within the objective: (requests that second, the second). A ramp scenario's
    /// breaking point.
    pub fn http_rate_held(&self) -> Option<(u64, usize)> {
        let objective = self.http_objective_ms();
        self.http
            .iter()
            .enumerate()
            .filter(|(_, s)| {
                s.dropped == 0
                    && s.errors == 0
                    && s.shed == 0
                    && s.ok > 0
                    && (s.latency.value_at_quantile(0.99) as f64 / 1e3) <= objective
            })
            .map(|(t, s)| (s.ok, t + 1))
            .max()
    }
}

/// Runs `scenario` against a prepared pipeline whose HTTP server (if any) listens on `http` and
/// refuses what `admission` says.
pub fn run(
    prepared: &Prepared,
    scenario: &Scenario,
    http: Option<SocketAddr>,
    admission: Arc<Admission>,
    workers: usize,
    stop: Arc<AtomicBool>,
) -> Result<ScenarioRun, String> {
    let injector =
        Arc::new(Injector::new(&scenario.events, &prepared.schema, &prepared.model.model.label, scenario.seed)?);
    let patterns = |target| -> Vec<crate::program::Pattern> {
        scenario.traffic.iter().filter(|t| t.target == target).flat_map(|t| t.patterns.clone()).collect()
    };
    let stream_patterns = patterns(TrafficTarget::Stream);
    let http_patterns = patterns(TrafficTarget::Http);
    let duration = Duration::from_millis(scenario.duration_ms);
    let fault_injector = faults::Injector::new(&scenario.events, scenario.seed);
    let traffic: Option<Arc<dyn StreamTraffic>> = if stream_patterns.is_empty() {
        None
    } else {
        Some(Arc::new(ScenarioStream::new(Schedule::new(&stream_patterns), injector.clone())))
    };
    // A Kafka source gets its stream traffic from a producer; its broker may be taken down.
    let kafka = kafka_source(prepared)?;
    let broker_faults: Vec<(u64, u64)> = fault_injector
        .faults
        .iter()
        .filter(|f| f.fault == crate::program::Fault::KafkaDown)
        .map(|f| (f.from_ms, f.until_ms))
        .collect();
    let mut broker = match (&kafka, broker_faults.is_empty()) {
        (_, true) => None,
        (Some((brokers, _)), false) => Some(broker::Broker::find(&brokers.0)?),
        (None, false) => return Err("`kafka down` needs a pipeline that reads Kafka".into()),
    };
    let (traffic, kafka_traffic) = match (&kafka, traffic) {
        (Some(k), Some(t)) => (None, Some((k.clone(), t))),
        (_, t) => (t, None),
    };
    let opts = RunOptions {
        workers,
        events: None,
        batch: 1024,
        inject_bad: 0.0,
        unpaced: false,
        cluster: None,
        shift: None,
        drain: false,
        traffic,
        faults: (!fault_injector.is_empty())
            .then(|| Arc::new(fault_injector.clone()) as Arc<dyn crate::engine::run::Faults>),
    };
    let started = Instant::now();
    let http_errors = fault_injector.http_errors();
    if !http_errors.is_empty() {
        admission.inject(started, http_errors);
    }
    let started_ms = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64);
    // Ends the run: Ctrl-C (mirrored by the clock below) or a guardrail's `abort`.
    let run_stop = Arc::new(AtomicBool::new(false));
    let agent = match (http_patterns.is_empty(), http) {
        (true, _) => None,
        (false, None) => return Err("the scenario sends HTTP traffic, but the pipeline serves no HTTP".into()),
        (false, Some(addr)) => {
            let houses: Vec<Event> = Generator::new(&prepared.schema, scenario.seed ^ 0x5EED)?.rows(4_096);
            let label = prepared.schema.fields.iter().position(|f| f.name == prepared.model.model.label);
            let requests = http_agent::Requests {
                addr,
                path: "/predict".into(),
                bodies: http_agent::Bodies::Houses {
                    houses,
                    schema: prepared.schema.clone(),
                    label,
                    injector: injector.clone(),
                },
            };
            Some(http_agent::start(requests, Schedule::new(&http_patterns), duration, started, run_stop.clone()))
        }
    };
    let produced = match kafka_traffic {
        Some(((brokers, topic), traffic)) => Some(producer::start(
            brokers,
            topic,
            prepared.schema.clone(),
            scenario.seed,
            traffic,
            duration,
            started,
            run_stop.clone(),
        )?),
        None => None,
    };
    let commander =
        guardrail::Commander::new(&scenario.guardrails, admission.clone(), rollback(prepared), run_stop.clone());
    let observer_stop = Arc::new(AtomicBool::new(false));
    let observer = observer::observe(
        prepared.stats.clone(),
        prepared.drift.as_ref().map(|d| d.board.clone()),
        agent.as_ref().map(|(stats, _)| stats.clone()),
        commander,
        started,
        observer_stop.clone(),
    );
    // The clock: mirrors Ctrl-C, and takes the broker down and up on time.
    let clock = {
        let (run_stop, observer_stop) = (run_stop.clone(), observer_stop.clone());
        std::thread::spawn(move || {
            while !observer_stop.load(Ordering::Relaxed) {
                if stop.load(Ordering::Relaxed) {
                    run_stop.store(true, Ordering::Relaxed);
                }
                if let Some(b) = broker.as_mut() {
                    let ms = started.elapsed().as_millis() as u64;
                    let down = broker_faults.iter().any(|&(from, until)| ms >= from && ms < until);
                    let result = match (down, b.is_frozen()) {
                        (true, false) => b.freeze(),
                        (false, true) => b.thaw(),
                        _ => Ok(()),
                    };
                    if let Err(e) = result {
                        tracing::error!("the `kafka down` fault: {e}");
                    }
                }
                std::thread::sleep(Duration::from_millis(5));
            }
            // Dropping the broker thaws it.
            drop(broker);
        })
    };
    // The live view: one line a second.
    let outcome = execute(prepared, &opts, run_stop.clone(), Some(duration), Display::EverySecond);
    run_stop.store(true, Ordering::Relaxed);
    observer_stop.store(true, Ordering::Relaxed);
    let _ = clock.join();
    let (stream, decisions) = observer.join().unwrap_or_default();
    admission.shed(0.0);
    let http = match agent {
        Some((stats, handle)) => {
            let _ = handle.join();
            stats.seconds()
        }
        None => Vec::new(),
    };
    let produced = match produced {
        Some((counts, handle)) => {
            let _ = handle.join();
            Some(counts)
        }
        None => None,
    };
    let outcome = outcome?;
    let judged = expect::judge(scenario, &outcome, &prepared.stats, &stream, &http, &decisions, started_ms);
    Ok(ScenarioRun {
        scenario: scenario.clone(),
        model: prepared.model.model.name.clone(),
        outcome,
        stream,
        http,
        injector: (*injector).clone(),
        faults: fault_injector,
        judged,
        decisions,
        produced: produced.map(|p| (p.acknowledged.load(Ordering::Relaxed), p.refused.load(Ordering::Relaxed))),
        labelled: prepared.stats.labelled(),
        started_ms,
    })
}

/// The brokers and topic of the pipeline's source, when it reads Kafka.
fn kafka_source(prepared: &Prepared) -> Result<Option<(crate::kafka::Brokers, String)>, String> {
    for op in &prepared.dataflow.operators {
        if let crate::plan::OperatorKind::Source { source } = &op.kind {
            if let crate::program::SourceKind::Kafka { topic, brokers, .. } = &source.kind {
                return Ok(Some((crate::kafka::Brokers::resolve(brokers)?, topic.clone())));
            }
        }
    }
    Ok(None)
}

/// The scenario guardrail's `rollback`, as the pipeline's guardrails do it.
fn rollback(prepared: &Prepared) -> guardrail::Rollback {
    let (registry, handle, model) = (prepared.registry.clone(), prepared.handle.clone(), prepared.model.clone());
    Box::new(move |why: &str| crate::engine::drift::roll_back(registry.as_ref(), &handle, &model, why))
}
