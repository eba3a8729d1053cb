//! `housing-flow check FILE...`

use super::{checked, Exit, EXIT_FAILURE, EXIT_UNREADABLE};
use housing_flow::diagnostics::{render_all, Severity};
use std::path::PathBuf;

/// Arguments of `check`.
#[derive(clap::Args, Debug)]
pub struct CheckArgs {
    /// The files to check.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
}

pub fn run(args: &CheckArgs) -> anyhow::Result<()> {
    // Unreadable (2) outranks errors (1).
    let mut worst = 0u8;
    for f in &args.files {
        match checked(f) {
            Ok(c) => {
                if !c.unavailable.is_empty() {
                    // Not errors of the file: what `run` will refuse until the engine has it.
                    let notes: Vec<_> = c
                        .unavailable
                        .iter()
                        .cloned()
                        .map(|d| housing_flow::diagnostics::Diagnostic { severity: Severity::Warning, ..d })
                        .collect();
                    eprint!("{}", render_all(&c.map, &notes, super::color()));
                }
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
            Err(e) => match e.downcast_ref::<Exit>() {
                Some(Exit(code)) => worst = worst.max(*code),
                None => return Err(e),
            },
        }
    }
    match worst {
        0 => Ok(()),
        EXIT_UNREADABLE => Err(Exit(EXIT_UNREADABLE).into()),
        _ => Err(Exit(EXIT_FAILURE).into()),
    }
}
