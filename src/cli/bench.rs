//! `housing-flow bench FILE --workers 1,2 [--events N] [--json OUT] [--paced] [--without-drift]`

use super::runnable;
use anyhow::Context;
use housing_flow::engine::run::RunOptions;
use housing_flow::engine::session::{execute, prepare, Display, Outcome};
use housing_flow::plan;
use serde_json::json;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

/// Arguments of `bench`.
#[derive(clap::Args, Debug)]
pub struct BenchArgs {
    pub file: PathBuf,
    /// Worker counts to measure, e.g. `1,2`.
    #[arg(long, value_delimiter = ',', default_value = "1,2")]
    pub workers: Vec<usize>,
    /// Events per run.
    #[arg(long, default_value_t = 2_000_000)]
    pub events: u64,
    /// Events per batch.
    #[arg(long, default_value_t = 1024)]
    pub batch: usize,
    /// Also write the table as JSON here.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Leave the file's drift monitors and guardrails out (to measure what monitoring costs).
    #[arg(long)]
    pub without_drift: bool,
    /// Keep the source's declared `rate:` (to measure what a paced stream costs in CPU).
    #[arg(long)]
    pub paced: bool,
}

/// CPU time (user + system) this process has used so far, from getrusage.
fn cpu_seconds() -> f64 {
    // SAFETY: getrusage only writes the struct it is given.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) } != 0 {
        return f64::NAN;
    }
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    secs(usage.ru_utime) + secs(usage.ru_stime)
}

pub fn run(args: &BenchArgs) -> anyhow::Result<()> {
    let checked = runnable(&args.file, "bench")?;
    let mut program = checked.program.expect("a clean check has a program");
    if args.without_drift {
        program.drifts.clear();
        program.guardrails.clear();
    }
    let mut outcomes: Vec<Outcome> = Vec::new();
    let mut cpu: Vec<f64> = Vec::new();
    for &w in &args.workers {
        let plan = plan::lower(&program, w.max(1));
        // Headless and (unless --paced) unpaced: no files written and no `rate:`, so the
        // figures measure the pipeline, not the disk or the declared pace.
        let prepared = prepare(&plan, false).map_err(anyhow::Error::msg)?;
        reset_peak_rss();
        let opts = RunOptions {
            traffic: None,
            faults: None,
            drain: false,
            workers: w.max(1),
            events: Some(args.events),
            batch: args.batch,
            inject_bad: 0.0,
            unpaced: !args.paced,
            cluster: None,
            shift: None,
        };
        let before = cpu_seconds();
        let outcome = execute(&prepared, &opts, Arc::new(AtomicBool::new(false)), None, Display::Bar(args.events))
            .map_err(anyhow::Error::msg)?;
        cpu.push((cpu_seconds() - before) / (outcome.events_in.max(1) as f64 / 1e6));
        outcomes.push(outcome);
    }
    print_table(&outcomes, &cpu);
    if let Some(path) = &args.json {
        let base = outcomes.first().map_or(1.0, Outcome::events_per_second);
        let rows: Vec<_> = outcomes
            .iter()
            .zip(&cpu)
            .map(|(o, cpu)| {
                json!({
                    "cpu_seconds_per_million": cpu,
                    "workers": o.workers,
                    "events": o.events_in,
                    "seconds": o.seconds,
                    "events_per_second": o.events_per_second(),
                    "p50_ms": o.p50_ms,
                    "p99_ms": o.p99_ms,
                    "p999_ms": o.p999_ms,
                    "peak_rss_bytes": o.peak_rss,
                    "scaling": o.events_per_second() / base,
                    "predictions": o.predictions,
                    "dead_letters": o.dead_letters,
                    "throughput": o.throughput,
                })
            })
            .collect();
        let doc = json!({ "file": args.file.display().to_string(), "paced": args.paced, "runs": rows });
        std::fs::write(path, serde_json::to_string_pretty(&doc)?)
            .with_context(|| format!("cannot write `{}`", path.display()))?;
    }
    if !outcomes.iter().all(Outcome::accounted) {
        anyhow::bail!("some events were not accounted for");
    }
    if let Some(e) = outcomes.iter().find_map(|o| o.source_error.clone()) {
        anyhow::bail!("the source ended early: {e}");
    }
    Ok(())
}

/// Lets the next run's peak RSS be its own (Linux: writing 5 to clear_refs resets VmHWM).
fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

fn print_table(outcomes: &[Outcome], cpu: &[f64]) {
    let base = outcomes.first().map_or(1.0, Outcome::events_per_second);
    println!(
        "{:>7} {:>11} {:>8} {:>12} {:>8} {:>8} {:>8} {:>9} {:>8} {:>9}",
        "workers", "events", "seconds", "events/s", "p50 ms", "p99 ms", "p999 ms", "peak RSS", "scaling", "CPU s/M"
    );
    for (o, cpu) in outcomes.iter().zip(cpu) {
        println!(
            "{:>7} {:>11} {:>8.2} {:>12.0} {:>8.3} {:>8.3} {:>8.3} {:>8.0}M {:>7.2}× {:>9.2}",
            o.workers,
            o.events_in,
            o.seconds,
            o.events_per_second(),
            o.p50_ms,
            o.p99_ms,
            o.p999_ms,
            o.peak_rss.unwrap_or(0) as f64 / (1024.0 * 1024.0),
            o.events_per_second() / base,
            cpu
        );
    }
}
