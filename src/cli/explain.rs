//! `housing-flow explain FILE [--json]`

use super::checked_or_exit;
use housing_flow::plan;
use std::path::Path;
use std::process::ExitCode;

pub fn run(file: &Path, json: bool, workers: usize) -> ExitCode {
    let checked = match checked_or_exit(file) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let program = checked.program.expect("a clean check has a program");
    let plan = plan::lower(&program, workers.max(1));
    if json {
        println!("{}", serde_json::to_string_pretty(&plan).expect("plans serialize"));
    } else {
        print!("{}", plan::explain(&plan));
    }
    ExitCode::SUCCESS
}
