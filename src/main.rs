//! The `housing-flow` command line: one subcommand per module in `cli/`.

use clap::{Parser, Subcommand};
use std::process::ExitCode;

mod cli;

#[derive(Parser)]
#[command(name = "housing-flow", version, about = "Real-time ML for housing prices, declared in a small language")]
struct Cli {
    #[command(flatten)]
    global: cli::GlobalArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Parse and check `.hf` files; print every problem with file:line:col, a caret and a code.
    ///
    /// Exit status: 0 when clean, 1 when there are errors, 2 when a file cannot be read.
    Check(cli::check::CheckArgs),
    /// Print the dataflow plan a file compiles to: operators, exchanges, windows, sinks, models.
    Explain(cli::explain::ExplainArgs),
    /// Run a pipeline until its source ends, N events, D, or Ctrl-C; print a summary.
    Run(cli::run::RunArgs),
    /// Run the pipeline headless for each worker count; print throughput, latency and scaling.
    Bench(cli::bench::BenchArgs),
    /// Train the file's model on its declared training data, print holdout metrics next to
    /// a linear baseline, and register a new version.
    Train(cli::train::TrainArgs),
    /// Inspect the model registry and move its pointers: list, show, promote, rollback.
    Models(cli::models::ModelsArgs),
    /// Stream the file's generated or CSV events into a Kafka topic as JSON.
    Produce(cli::produce::ProduceArgs),
    /// Run the file's auctions: bidder personas trade its listings on the model's estimates;
    /// print a summary per bias level and write the reports.
    Auction(cli::auction::AuctionArgs),
    /// Run the file's scenarios: the pipeline in-process, traffic and drift agents on one
    /// clock, expectations judged at the end; write the reports.
    ///
    /// Exit status: 0 when every expectation holds, 99 when one fails, 1 on errors.
    Scenario(cli::scenario::ScenarioArgs),
    /// Send open-model HTTP load (the scenarios' traffic agent) to any URL: requests start on
    /// schedule whatever the server's speed; late arrivals are dropped and counted.
    Load(cli::load::LoadArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    cli::init(&cli.global);
    // Commands that print and end die quietly when their reader goes away (`| head`); the
    // long-running ones keep Rust's default so a closed socket is an error, not a signal.
    if !matches!(cli.command, Command::Run(_) | Command::Bench(_) | Command::Produce(_) | Command::Load(_)) {
        cli::die_on_broken_pipe();
    }
    let result = match &cli.command {
        Command::Check(args) => cli::check::run(args),
        Command::Explain(args) => cli::explain::run(args),
        Command::Run(args) => cli::run::run(args),
        Command::Bench(args) => cli::bench::run(args),
        Command::Train(args) => cli::train::run(args),
        Command::Models(args) => cli::models::run(args),
        Command::Produce(args) => cli::produce::run(args),
        Command::Auction(args) => cli::auction::run(args),
        Command::Scenario(args) => cli::scenario::run(args),
        Command::Load(args) => cli::load::run(args),
    };
    cli::exit_code(result)
}
