//! One module per subcommand, each with its `#[derive(Args)]` struct; here the flags every
//! command takes, the log subscriber, colours, and the one way a command fails.

pub mod auction;
pub mod bench;
pub mod check;
pub mod explain;
pub mod http;
pub mod load;
pub mod logging;
pub mod models;
pub mod produce;
pub mod run;
pub mod scenario;
pub mod train;

use housing_flow::check::{check_file, Checked};
use housing_flow::diagnostics::{render_all, Code};
use std::io::IsTerminal;
use std::path::Path;
use std::process::ExitCode;
use std::sync::OnceLock;

/// Exit status when a command fails.
pub const EXIT_FAILURE: u8 = 1;
/// Exit status for files that cannot be read and for bad flags.
pub const EXIT_UNREADABLE: u8 = 2;

/// Flags every command takes.
#[derive(clap::Args, Debug)]
pub struct GlobalArgs {
    /// More log output: -v debug, -vv trace (`RUST_LOG` overrides both).
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    /// Less log output: errors only.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Log lines as text for people or as JSON objects for machines.
    #[arg(long, value_enum, default_value_t = logging::LogFormat::Text, global = true)]
    pub log_format: logging::LogFormat,
    /// Colours in diagnostics and logs; `auto` means when stderr is a terminal and `NO_COLOR` is unset.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto, global = true)]
    pub color: ColorChoice,
}

/// When to colour what goes to stderr.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

static COLOR: OnceLock<bool> = OnceLock::new();

/// Whether stderr gets colours.
pub fn color() -> bool {
    *COLOR.get().unwrap_or(&false)
}

fn resolve_color(choice: ColorChoice) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()) && std::io::stderr().is_terminal()
        }
    }
}

/// Sets the colour choice and installs the log subscriber; call once, first.
pub fn init(global: &GlobalArgs) {
    let color = resolve_color(global.color);
    let _ = COLOR.set(color);
    logging::init(global, color);
}

/// Lets the default SIGPIPE action end the process when stdout's reader is gone, instead of
/// `println!` panicking with a backtrace.
pub fn die_on_broken_pipe() {
    // SAFETY: resetting a signal's disposition to its default at start, before any thread.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

/// A failure already shown to the user (diagnostics, a table with the problem in it): the
/// command only needs to end with this exit status.
#[derive(Debug, thiserror::Error)]
#[error("exit status {0}")]
pub struct Exit(pub u8);

/// Turns a command's result into the exit status, logging the error with its causes.
pub fn exit_code(result: anyhow::Result<()>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            if let Some(Exit(code)) = e.downcast_ref::<Exit>() {
                return ExitCode::from(*code);
            }
            tracing::error!("{e:#}");
            ExitCode::from(EXIT_FAILURE)
        }
    }
}

/// Checks a file for a command that runs it: besides [`checked`], refuses (before any work)
/// a file that declares something the engine cannot run yet, naming each such declaration.
pub fn runnable(path: &Path, command: &str) -> anyhow::Result<Checked> {
    let checked = checked(path)?;
    if let Some(s) = checked.program.as_ref().and_then(|p| p.scenarios.first()).filter(|_| command != "scenario") {
        tracing::error!(
            "`{}` declares scenario `{}`: run it with `housing-flow scenario {}`; `{command}` runs pipelines, and nothing was started",
            path.display(),
            s.name,
            path.display()
        );
        return Err(Exit(EXIT_FAILURE).into());
    }
    if let Some(a) = checked.program.as_ref().and_then(|p| p.auctions.first()).filter(|_| command != "scenario") {
        tracing::error!(
            "`{}` declares auction `{}`: run it with `housing-flow auction {}`; `{command}` runs pipelines, and nothing was started",
            path.display(),
            a.name,
            path.display()
        );
        return Err(Exit(EXIT_FAILURE).into());
    }
    if !checked.unavailable.is_empty() {
        eprint!("{}", render_all(&checked.map, &checked.unavailable, color()));
        tracing::error!("`{command}` cannot run `{}` yet; nothing was started", path.display());
        return Err(Exit(EXIT_FAILURE).into());
    }
    Ok(checked)
}

/// Checks a file; on problems prints them to stderr and fails with the exit status to use.
/// Warnings are printed and the check passes.
pub fn checked(path: &Path) -> anyhow::Result<Checked> {
    let checked = match check_file(path) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error[E0001]: cannot read `{}`: {e}", path.display());
            return Err(Exit(EXIT_UNREADABLE).into());
        }
    };
    if !checked.diagnostics.is_empty() {
        eprint!("{}", render_all(&checked.map, &checked.diagnostics, color()));
    }
    if checked.program.is_none() {
        let unreadable = checked.diagnostics.iter().any(|d| d.code == Code::UnreadableFile);
        return Err(Exit(if unreadable { EXIT_UNREADABLE } else { EXIT_FAILURE }).into());
    }
    Ok(checked)
}
