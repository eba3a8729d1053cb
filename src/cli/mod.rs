//! One module per subcommand.

pub mod bench;
pub mod check;
pub mod explain;
pub mod http;
pub mod models;
pub mod run;
pub mod train;

use housing_flow::check::{check_file, Checked};
use housing_flow::diagnostics::render_all;
use std::io::IsTerminal;
use std::path::Path;
use std::process::ExitCode;

/// Exit status for files that cannot be read.
pub const EXIT_UNREADABLE: u8 = 2;

/// Checks a file; on problems prints them to stderr and returns the exit code to use.
pub fn checked_or_exit(path: &Path) -> Result<Checked, ExitCode> {
    let checked = match check_file(path) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error[E0001]: cannot read `{}`: {e}", path.display());
            return Err(ExitCode::from(EXIT_UNREADABLE));
        }
    };
    if !checked.diagnostics.is_empty() {
        let color = std::io::stderr().is_terminal();
        eprint!("{}", render_all(&checked.map, &checked.diagnostics, color));
        let unreadable = checked.diagnostics.iter().any(|d| d.code == housing_flow::diagnostics::Code::UnreadableFile);
        return Err(ExitCode::from(if unreadable { EXIT_UNREADABLE } else { 1 }));
    }
    Ok(checked)
}
