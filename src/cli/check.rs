//! `housing-flow check FILE...`

use super::checked_or_exit;
use std::path::PathBuf;
use std::process::ExitCode;

pub fn run(files: &[PathBuf]) -> ExitCode {
    let mut worst = ExitCode::SUCCESS;
    let mut worst_rank = 0;
    for f in files {
        match checked_or_exit(f) {
            Ok(c) => {
                let p = c.program.as_ref().expect("a clean check has a program");
                println!(
                    "ok: {} ({} file{}, {} schema, {} source, {} features, {} model, {} drift, {} sink, {} scenario, {} auction)",
                    f.display(),
                    p.files.len(),
                    if p.files.len() == 1 { "" } else { "s" },
                    p.schemas.len(),
                    p.sources.len(),
                    p.features.len(),
                    p.models.len(),
                    p.drifts.len(),
                    p.sinks.len(),
                    p.scenarios.len(),
                    p.auctions.len(),
                );
            }
            Err(code) => {
                // Unreadable (2) outranks errors (1).
                let rank = if code == ExitCode::from(super::EXIT_UNREADABLE) { 2 } else { 1 };
                if rank > worst_rank {
                    worst_rank = rank;
                    worst = code;
                }
            }
        }
    }
    worst
}
