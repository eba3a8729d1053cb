//! `housing-flow run FILE [--workers N] [--events N] [--duration D]`

use super::checked_or_exit;
use housing_flow::data::shift::Shift;
use housing_flow::engine::run::{Cluster, RunOptions};
use housing_flow::engine::session::{execute, prepare, Display, Outcome, Prepared};
use housing_flow::plan;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

pub struct Args {
    pub file: PathBuf,
    pub workers: usize,
    pub events: Option<u64>,
    pub duration: Option<Duration>,
    pub batch: usize,
    pub inject_bad: f64,
    /// `--processes N --process I --hostfile F`: one process of a timely cluster.
    pub cluster: Option<(usize, usize, PathBuf)>,
    /// Serve HTTP on this port instead of the file's.
    pub port: Option<u16>,
    /// `--shift FIELD*FACTOR@EVENT`: shift the source's distribution mid-run.
    pub shift: Option<String>,
}

pub fn run(args: &Args) -> ExitCode {
    let checked = match checked_or_exit(&args.file) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let plan = plan::lower(&checked.program.expect("a clean check has a program"), args.workers.max(1));
    let prepared = match prepare(&plan, &args.file, true) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(1);
        }
    };
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    if let Err(e) = ctrlc::set_handler(move || flag.store(true, Ordering::Relaxed)) {
        eprintln!("warning: cannot handle Ctrl-C: {e}");
    }
    let shift = match args.shift.as_deref().map(|s| Shift::parse(&prepared.schema, s)).transpose() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: --shift {e}");
            return ExitCode::from(2);
        }
    };
    let opts = RunOptions {
        shift,
        workers: args.workers.max(1),
        events: args.events,
        batch: args.batch,
        inject_bad: args.inject_bad,
        unpaced: false,
        cluster: match &args.cluster {
            None => None,
            Some((processes, process, hostfile)) => match cluster(*processes, *process, hostfile) {
                Ok(c) => Some(c),
                Err(e) => {
                    eprintln!("error: {e}");
                    return ExitCode::from(1);
                }
            },
        },
    };
    if let Some(serve) = &plan.serve {
        match super::http::start(&prepared, serve, args.port, stop.clone()) {
            Ok(addr) => eprintln!("serving http://{addr}"),
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(1);
            }
        }
    }
    let result = execute(&prepared, &opts, stop.clone(), args.duration, Display::Line);
    // The run is over: stop serving too.
    stop.store(true, Ordering::Relaxed);
    match result {
        Ok(out) => {
            print_summary(&out, &prepared);
            if out.accounted() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
    }
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
}

/// One line per drift monitor: its last window, the worst PSI and KS seen, late values, alerts.
fn print_drift(board: &housing_flow::drift::BoardSnapshot) {
    let f = |x: Option<f64>| x.map_or("-".to_string(), |v| format!("{v:.4}"));
    let p = |x: Option<f64>| x.map_or("-".to_string(), |v| format!("{v:.3e}"));
    for d in &board.drifts {
        let last = d.last.as_ref();
        println!(
            "  drift {} on {} {}: {} windows; last (events {}..{}, n {}) psi {} ks {} p {}; max psi {} max ks {}; late {}; alerts {}",
            d.name,
            d.target,
            d.window,
            d.windows,
            last.map_or(0, |w| w.start),
            last.map_or(0, |w| w.end),
            last.map_or(0, |w| w.statistics.n),
            f(last.and_then(|w| w.statistics.psi)),
            f(last.and_then(|w| w.statistics.ks_d)),
            p(last.and_then(|w| w.statistics.ks_p)),
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
fn cluster(processes: usize, process: usize, hostfile: &std::path::Path) -> Result<Cluster, String> {
    let text = std::fs::read_to_string(hostfile).map_err(|e| format!("cannot read `{}`: {e}", hostfile.display()))?;
    let addresses: Vec<String> = text
        .lines()
        .map(|l| l.split('#').next().unwrap_or("").trim())
        .filter(|l| !l.is_empty())
        .map(String::from)
        .collect();
    if addresses.len() != processes {
        return Err(format!(
            "`{}` lists {} address(es), but --processes is {processes}",
            hostfile.display(),
            addresses.len()
        ));
    }
    if process >= processes {
        return Err(format!("--process {process} is not below --processes {processes}"));
    }
    Ok(Cluster { process, addresses })
}
