//! `housing-flow run FILE [--workers N] [--events N] [--duration D]`

use super::{runnable, Exit, EXIT_UNREADABLE};
use anyhow::Context;
use housing_flow::data::shift::Shift;
use housing_flow::engine::run::{Cluster, RunOptions};
use housing_flow::engine::session::{execute, prepare, Display, Outcome, Prepared};
use housing_flow::plan::{self, OperatorKind};
use housing_flow::program::SourceKind;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Arguments of `run`.
#[derive(clap::Args, Debug)]
pub struct RunArgs {
    pub file: PathBuf,
    /// Worker threads.
    #[arg(long, default_value_t = 1)]
    pub workers: usize,
    /// Stop after this many events in total.
    #[arg(long)]
    pub events: Option<u64>,
    /// Stop after this long, e.g. `30s`, `5m`.
    #[arg(long, value_parser = humantime::parse_duration)]
    pub duration: Option<Duration>,
    /// Events per batch.
    #[arg(long, default_value_t = 1024)]
    pub batch: usize,
    /// Corrupt this fraction of generated events (e.g. 0.01), to see dead letters at work.
    #[arg(long, default_value_t = 0.0)]
    pub inject_bad: f64,
    /// Number of processes in a timely cluster (with --process and --hostfile).
    #[arg(long, requires_all = ["process", "hostfile"])]
    pub processes: Option<usize>,
    /// This process's index in the cluster, from 0.
    #[arg(long, requires = "processes")]
    pub process: Option<usize>,
    /// A file with one `host:port` per process.
    #[arg(long, requires = "processes")]
    pub hostfile: Option<PathBuf>,
    /// How long a cluster process waits for the others (and, for processes other than 0,
    /// for process 0 to train the model when the registry has none).
    #[arg(long, value_parser = humantime::parse_duration, default_value = "60s")]
    pub connect_timeout: Duration,
    /// Serve HTTP on this port instead of the one in the file's `serve http(...)` (0: any free port).
    #[arg(long)]
    pub port: Option<u16>,
    /// Shift a numeric field from an event on, to watch the drift monitors react:
    /// `FIELD*FACTOR@EVENT` or `FIELD+DELTA@EVENT`, e.g. `Avg_Area_Income*1.2@50000`.
    #[arg(long)]
    pub shift: Option<String>,
    /// A Kafka source stops once it has read every message its partitions held when the run
    /// started (from the committed offsets), instead of waiting for more.
    #[arg(long)]
    pub drain: bool,
}

pub fn run(args: &RunArgs) -> anyhow::Result<()> {
    let program = runnable(&args.file, "run")?.program.expect("a clean check has a program");
    let cluster = match (args.processes, args.process, &args.hostfile) {
        (Some(n), Some(i), Some(f)) => Some(cluster(n, i, f, args.connect_timeout)?),
        _ => None,
    };
    let mut plan = plan::lower(&program, args.workers.max(1));
    let mut port = args.port;
    if let Some(c) = &cluster {
        // Per-process files and ports: processes started in one folder never clash.
        plan = plan.for_process(c.process);
        port = port.map(|p| if p == 0 { 0 } else { p.saturating_add(c.process as u16) });
    }
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    if let Err(e) = ctrlc::set_handler(move || flag.store(true, Ordering::Relaxed)) {
        tracing::warn!("cannot handle Ctrl-C: {e}");
    }
    if args.inject_bad > 0.0 {
        let generated = plan.dataflows.iter().flat_map(|d| &d.operators).any(|o| {
            matches!(&o.kind, OperatorKind::Source { source, .. } if matches!(source.kind, SourceKind::Generate { .. }))
        });
        if !generated {
            anyhow::bail!(
                "--inject-bad corrupts generated events, and `{}` reads no `generate(...)` source; nothing was started",
                args.file.display()
            );
        }
    }
    if args.drain {
        let kafka = plan.dataflows.iter().flat_map(|d| &d.operators).any(|o| {
            matches!(&o.kind, OperatorKind::Source { source, .. } if matches!(source.kind, SourceKind::Kafka { .. }))
        });
        if !kafka {
            anyhow::bail!(
                "--drain reads a Kafka source to its end, and `{}` reads none; nothing was started",
                args.file.display()
            );
        }
    }
    if !(0.0..=1.0).contains(&args.inject_bad) {
        anyhow::bail!("--inject-bad is a fraction between 0 and 1, not {}", args.inject_bad);
    }
    if let Some(c) = cluster.as_ref().filter(|c| c.process > 0) {
        // Process 0 trains a missing model; the others wait for it rather than train their own.
        wait_for_production(&plan, c.connect_timeout, &stop)?;
    }
    let prepared = prepare(&plan, true).map_err(anyhow::Error::msg)?;
    let shift = match args.shift.as_deref().map(|s| Shift::parse(&prepared.schema, s)).transpose() {
        Ok(s) => s,
        Err(e) => {
            tracing::error!("--shift {e}");
            return Err(Exit(EXIT_UNREADABLE).into());
        }
    };
    let opts = RunOptions {
        traffic: None,
        faults: None,
        drain: args.drain,
        shift,
        workers: args.workers.max(1),
        events: args.events,
        batch: args.batch,
        inject_bad: args.inject_bad,
        unpaced: false,
        cluster,
    };
    if let Some(serve) = &plan.serve {
        let addr =
            super::http::start(&prepared, serve, port, stop.clone(), Default::default()).map_err(anyhow::Error::msg)?;
        tracing::info!("serving http://{addr}");
    }
    let result = execute(&prepared, &opts, stop.clone(), args.duration, Display::Line);
    // The run is over: stop serving too.
    stop.store(true, Ordering::Relaxed);
    let out = result.map_err(anyhow::Error::msg)?;
    print_summary(&out, &prepared);
    if !out.accounted() {
        anyhow::bail!("some events were not accounted for");
    }
    if let Some(e) = out.source_error {
        anyhow::bail!("the source ended early: {e} (the {} events before it were processed)", out.events_in);
    }
    Ok(())
}

fn print_summary(o: &Outcome, p: &Prepared) {
    let reasons: Vec<String> = o.reasons.iter().map(|(k, v)| format!("{k} {v}")).collect();
    println!(
        "summary: {} events in {:.2} s ({:.0} events/s) with {} worker(s)",
        o.events_in,
        o.seconds,
        o.events_per_second(),
        o.workers
    );
    println!(
        "  predictions {}   dead letters {}{}",
        o.predictions,
        o.dead_letters,
        if reasons.is_empty() { String::new() } else { format!(" ({})", reasons.join(", ")) }
    );
    println!(
        "  events in = predictions + dead letters: {} = {} + {} {}",
        o.events_in,
        o.predictions,
        o.dead_letters,
        if o.accounted() { "✓" } else { "✗ EVENTS UNACCOUNTED FOR" }
    );
    if !o.throughput.is_empty() {
        let rates: Vec<f64> = o.throughput.iter().map(|(_, r)| *r).collect();
        let (lo, hi) = rates.iter().fold((f64::MAX, 0f64), |(a, b), &r| (a.min(r), b.max(r)));
        println!("  throughput per second: min {lo:.0}, max {hi:.0} events/s over {} s", rates.len());
    }
    println!("  latency ingest→sink: p50 {:.3} ms  p99 {:.3} ms  p999 {:.3} ms", o.p50_ms, o.p99_ms, o.p999_ms);
    println!(
        "  model {} v{} (last prediction), {:?} predictor",
        p.model.model.name, o.model_version, p.model.model.predictor
    );
    if let Some(rss) = o.peak_rss {
        println!("  peak RSS {:.1} MiB", rss as f64 / (1024.0 * 1024.0));
    }
    if let Some(board) = &o.drift {
        print_drift(board);
    }
    for s in &o.slos {
        let state = match s.violated {
            Some(true) => "VIOLATED",
            Some(false) => "met",
            None => "unknown (no value)",
        };
        let value = s.value.map_or("-".to_string(), |v| format!("{v:.3}"));
        println!(
            "  slo `{}`: {state} at the end; {} {value} over the last {} s; violated in {} of {} evaluations",
            s.slo,
            s.metric,
            housing_flow::engine::slo::WINDOW.as_secs(),
            s.violations,
            s.evaluations
        );
    }
}

/// A statistic as the summary prints it: four decimals, or three significant digits in
/// exponent form for the very small and the very large (p-values, distances in dollars).
fn statistic_text(v: Option<f64>) -> String {
    match v {
        None => "-".to_string(),
        Some(v) if v != 0.0 && !(1e-3..1e5).contains(&v.abs()) => format!("{v:.3e}"),
        Some(v) => format!("{v:.4}"),
    }
}

/// One line per drift monitor: its last window, the worst PSI and KS seen, late values, alerts.
fn print_drift(board: &housing_flow::drift::BoardSnapshot) {
    let f = |x: Option<f64>| x.map_or("-".to_string(), |v| format!("{v:.4}"));
    for d in &board.drifts {
        let last = d.last.as_ref();
        // Every registered statistic of the last window, by its key.
        let statistics: Vec<String> = match last {
            Some(w) => w.statistics.iter().map(|(key, v)| format!("{key} {}", statistic_text(v))).collect(),
            // In a cluster, a process reports only the monitors its workers own.
            None => vec!["no window evaluated in this process".to_string()],
        };
        println!(
            "  drift {} on {} {}: {} windows; last (events {}..{}, n {}) {}; max psi {} max ks {}; late {}; alerts {}",
            d.name,
            d.target,
            d.window,
            d.windows,
            last.map_or(0, |w| w.start),
            last.map_or(0, |w| w.end),
            last.map_or(0, |w| w.statistics.n),
            statistics.join(" "),
            f(d.max_psi),
            f(d.max_ks_d),
            d.late_events,
            d.alerts.values().sum::<u64>()
        );
    }
    for a in board.alerts.iter().take(20) {
        println!(
            "  alert {}: `{}` at {:.4} on window {} ({}..{}) → {}",
            a.drift, a.rule, a.value, a.window.index, a.window.start, a.window.end, a.outcome
        );
    }
    if board.alerts_total > 20 {
        println!("  … {} alerts in all", board.alerts_total);
    }
}

/// Reads a hostfile (one `host:port` per line, `#` comments) and checks it fits the flags.
fn cluster(processes: usize, process: usize, hostfile: &std::path::Path, timeout: Duration) -> anyhow::Result<Cluster> {
    let text = std::fs::read_to_string(hostfile).with_context(|| format!("cannot read `{}`", hostfile.display()))?;
    let addresses: Vec<String> = text
        .lines()
        .map(|l| l.split('#').next().unwrap_or("").trim())
        .filter(|l| !l.is_empty())
        .map(String::from)
        .collect();
    if addresses.len() != processes {
        anyhow::bail!("`{}` lists {} address(es), but --processes is {processes}", hostfile.display(), addresses.len());
    }
    if process >= processes {
        anyhow::bail!("--process {process} is not below --processes {processes}");
    }
    Ok(Cluster { process, addresses, connect_timeout: timeout })
}

/// Waits until every model of the plan has a production version, or fails after `timeout`
/// or on Ctrl-C/SIGTERM.
fn wait_for_production(plan: &plan::Plan, timeout: Duration, stop: &AtomicBool) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    let mut told = false;
    for m in &plan.models {
        let registry = housing_flow::registry::open(&m.model.registry)?;
        while registry.production(m.model.registered_name()).ok().flatten().is_none() {
            if !told {
                tracing::info!("waiting for process 0 to train `{}` in {}", m.model.name, m.model.registry);
                told = true;
            }
            if stop.load(Ordering::Relaxed) {
                anyhow::bail!("stopped while waiting for a production version of `{}`", m.model.name);
            }
            if started.elapsed() >= timeout {
                anyhow::bail!(
                    "no production version of `{}` in {} after {} s; train one with `housing-flow train`",
                    m.model.name,
                    m.model.registry,
                    timeout.as_secs_f64()
                );
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }
    Ok(())
}
