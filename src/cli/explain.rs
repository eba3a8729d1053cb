//! `housing-flow explain FILE [--json] [--workers N] [--analyze [--events N]]`

use super::{checked, runnable};
use housing_flow::engine::run::RunOptions;
use housing_flow::engine::session::{execute, prepare, Display, Outcome};
use housing_flow::plan::{self, Dataflow};
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

/// Arguments of `explain`.
#[derive(clap::Args, Debug)]
pub struct ExplainArgs {
    pub file: PathBuf,
    /// Print the plan as JSON instead of text.
    #[arg(long)]
    pub json: bool,
    /// Worker threads the plan is laid out for.
    #[arg(long, default_value_t = 1)]
    pub workers: usize,
    /// Run the pipeline headless (unpaced, no files) and show, per operator, its batches,
    /// events in and out, time per event and share of the workers' time.
    #[arg(long)]
    pub analyze: bool,
    /// Events the `--analyze` run streams.
    #[arg(long, default_value_t = 1_000_000, requires = "analyze")]
    pub events: u64,
}

pub fn run(args: &ExplainArgs) -> anyhow::Result<()> {
    let workers = args.workers.max(1);
    if args.analyze {
        return analyze(args, workers);
    }
    let program = checked(&args.file)?.program.expect("a clean check has a program");
    let plan = plan::lower(&program, workers);
    if args.json {
        println!("{}", serde_json::to_string_pretty(&plan)?);
    } else {
        print!("{}", plan::explain(&plan));
    }
    Ok(())
}

fn analyze(args: &ExplainArgs, workers: usize) -> anyhow::Result<()> {
    let program = runnable(&args.file, "explain --analyze")?.program.expect("a clean check has a program");
    let plan = plan::lower(&program, workers);
    let prepared = prepare(&plan, false).map_err(anyhow::Error::msg)?;
    let opts = RunOptions {
        traffic: None,
        faults: None,
        drain: false,
        workers,
        events: Some(args.events),
        batch: 1024,
        inject_bad: 0.0,
        unpaced: true,
        cluster: None,
        shift: None,
    };
    let outcome = execute(&prepared, &opts, Arc::new(AtomicBool::new(false)), None, Display::Bar(args.events))
        .map_err(anyhow::Error::msg)?;
    print!("{}", plan::explain(&plan));
    println!();
    print!("{}", analysis(&prepared.dataflow, &outcome, &prepared.stats.profile));
    Ok(())
}

/// The per-operator table of a finished run.
fn analysis(df: &Dataflow, o: &Outcome, profile: &housing_flow::engine::profile::Profile) -> String {
    use std::fmt::Write;
    let ops = profile.ops();
    let total = profile.worker_nanos().max(1) as f64;
    let events = o.events_in.max(1) as f64;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "analyze: {} events with {} worker(s) in {:.2} s ({:.0} events/s); worker time {:.2} s",
        o.events_in,
        o.workers,
        o.seconds,
        o.events_per_second(),
        total / 1e9
    );
    let _ = writeln!(
        out,
        "{:<4} {:<14} {:>9} {:>11} {:>11} {:>10} {:>7}",
        "#", "operator", "batches", "events in", "events out", "ns/event", "share"
    );
    let mut timed = 0u64;
    for op in &df.operators {
        match ops.get(&op.id) {
            Some(p) => {
                timed += p.nanos;
                let _ = writeln!(
                    out,
                    "#{:<3} {:<14} {:>9} {:>11} {:>11} {:>10.1} {:>6.1}%",
                    op.id,
                    op.kind.name(),
                    p.batches,
                    p.events_in,
                    p.events_out,
                    p.nanos as f64 / events,
                    100.0 * p.nanos as f64 / total
                );
            }
            None => {
                let _ = writeln!(
                    out,
                    "#{:<3} {:<14} (runs in the monitors' dataflow: counted in `other`)",
                    op.id,
                    op.kind.name()
                );
            }
        }
    }
    let other = (total - timed as f64).max(0.0);
    let _ = writeln!(
        out,
        "     {:<48} {:>10.1} {:>6.1}%",
        "other: timely scheduling, exchanges, monitor dataflows",
        other / events,
        100.0 * other / total
    );
    out
}
