//! `housing-flow explain FILE [--json] [--workers N]`

use super::checked;
use housing_flow::plan;
use std::path::PathBuf;

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
}

pub fn run(args: &ExplainArgs) -> anyhow::Result<()> {
    let program = checked(&args.file)?.program.expect("a clean check has a program");
    let plan = plan::lower(&program, args.workers.max(1));
    if args.json {
        println!("{}", serde_json::to_string_pretty(&plan)?);
    } else {
        print!("{}", plan::explain(&plan));
    }
    Ok(())
}
