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
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Check { files } => cli::check::run(&files),
        Command::Explain { file, json, workers } => cli::explain::run(&file, json, workers),
    }
}
