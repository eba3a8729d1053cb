//! The `housing-flow` command line.

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

mod cli;

#[derive(Parser)]
#[command(name = "housing-flow", version, about = "Real-time ML for housing prices, declared in a small language")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Parse and check `.hf` files; print every problem with file:line:col, a caret and a code.
    ///
    /// Exit status: 0 when clean, 1 when there are errors, 2 when a file cannot be read.
    Check {
        /// The files to check.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Print the dataflow plan a file compiles to: operators, exchanges, windows, sinks, models.
    Explain {
        file: PathBuf,
        /// Print the plan as JSON instead of text.
        #[arg(long)]
        json: bool,
        /// Worker threads the plan is laid out for.
        #[arg(long, default_value_t = 1)]
        workers: usize,
    },
    /// Run a pipeline until its source ends, N events, D, or Ctrl-C; print a summary.
    Run {
        file: PathBuf,
        /// Worker threads.
        #[arg(long, default_value_t = 1)]
        workers: usize,
        /// Stop after this many events in total.
        #[arg(long)]
        events: Option<u64>,
        /// Stop after this long, e.g. `30s`, `5m`.
        #[arg(long, value_parser = humantime::parse_duration)]
        duration: Option<std::time::Duration>,
        /// Events per batch.
        #[arg(long, default_value_t = 1024)]
        batch: usize,
        /// Corrupt this fraction of generated events (e.g. 0.01), to see dead letters at work.
        #[arg(long, default_value_t = 0.0)]
        inject_bad: f64,
        /// Number of processes in a timely cluster (with --process and --hostfile).
        #[arg(long, requires_all = ["process", "hostfile"])]
        processes: Option<usize>,
        /// This process's index in the cluster, from 0.
        #[arg(long, requires = "processes")]
        process: Option<usize>,
        /// A file with one `host:port` per process.
        #[arg(long, requires = "processes")]
        hostfile: Option<PathBuf>,
        /// Serve HTTP on this port instead of the one in the file's `serve http(...)`.
        #[arg(long)]
        port: Option<u16>,
        /// Shift a numeric field from an event on, to watch the drift monitors react:
        /// `FIELD*FACTOR@EVENT` or `FIELD+DELTA@EVENT`, e.g. `Avg_Area_Income*1.2@50000`.
        #[arg(long)]
        shift: Option<String>,
    },
    /// Run the pipeline headless for each worker count; print throughput, latency and scaling.
    Bench {
        file: PathBuf,
        /// Worker counts to measure, e.g. `1,2`.
        #[arg(long, value_delimiter = ',', default_value = "1,2")]
        workers: Vec<usize>,
        /// Events per run.
        #[arg(long, default_value_t = 2_000_000)]
        events: u64,
        /// Events per batch.
        #[arg(long, default_value_t = 1024)]
        batch: usize,
        /// Also write the table as JSON here.
        #[arg(long)]
        json: Option<PathBuf>,
        /// Leave the file's drift monitors and guardrails out (to measure what monitoring costs).
        #[arg(long)]
        without_drift: bool,
    },
    /// Train the file's model on its declared training data, print holdout metrics next to
    /// a linear baseline, and register a new version.
    Train {
        file: PathBuf,
        /// Train on this CSV file instead (columns mapped as the file's CSV source maps them).
        #[arg(long)]
        data: Option<PathBuf>,
        /// Which model, when the file declares several.
        #[arg(long)]
        model: Option<String>,
        /// The registry directory (default: the model's `registry:` setting).
        #[arg(long)]
        registry: Option<PathBuf>,
        /// Train only when the registry has no production version of the model yet.
        #[arg(long)]
        if_missing: bool,
    },
    /// Inspect the model registry and move its pointers: list, show, promote, rollback.
    Models(cli::models::ModelsArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Check { files } => cli::check::run(&files),
        Command::Explain { file, json, workers } => cli::explain::run(&file, json, workers),
        Command::Models(args) => cli::models::run(&args),
        Command::Run {
            file,
            workers,
            events,
            duration,
            batch,
            inject_bad,
            processes,
            process,
            hostfile,
            port,
            shift,
        } => {
            let cluster = match (processes, process, hostfile) {
                (Some(n), Some(i), Some(f)) => Some((n, i, f)),
                _ => None,
            };
            cli::run::run(&cli::run::Args { file, workers, events, duration, batch, inject_bad, cluster, port, shift })
        }
        Command::Bench { file, workers, events, batch, json, without_drift } => {
            cli::bench::run(&cli::bench::Args { file, workers, events, batch, json, without_drift })
        }
        Command::Train { file, data, model, registry, if_missing } => {
            cli::train::run(&cli::train::Args { file, data, model, registry, if_missing })
        }
    }
}
