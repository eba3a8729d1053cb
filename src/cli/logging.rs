//! The log subscriber: warnings and errors reach stderr as `warning: ...` lines (or JSON
//! objects with `--log-format json`); `RUST_LOG` chooses what else, `-v`/`-q` when it is unset.

use super::GlobalArgs;
use std::fmt;
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::EnvFilter;

/// How log lines are written.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    /// `warning: message key=value`, for people.
    Text,
    /// One JSON object per line (timestamp, level, target, fields), for machines.
    Json,
}

/// What is logged when `RUST_LOG` is unset.
pub fn default_filter(verbose: u8, quiet: bool) -> &'static str {
    match (quiet, verbose) {
        (true, _) => "error",
        (false, 0) => "warn,housing_flow=info",
        (false, 1) => "info,housing_flow=debug",
        (false, _) => "debug,housing_flow=trace",
    }
}

/// Installs the global subscriber (once; later calls do nothing).
pub fn init(global: &GlobalArgs, color: bool) {
    let filter = match std::env::var("RUST_LOG") {
        Ok(s) if !s.trim().is_empty() => EnvFilter::try_new(&s).unwrap_or_else(|e| {
            eprintln!("warning: RUST_LOG `{s}` is not a valid filter ({e}); using the default");
            EnvFilter::new(default_filter(global.verbose, global.quiet))
        }),
        _ => EnvFilter::new(default_filter(global.verbose, global.quiet)),
    };
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_ansi(color);
    let _ = match global.log_format {
        LogFormat::Json => builder.json().with_current_span(false).try_init(),
        LogFormat::Text => builder.event_format(Plain { color, targets: global.verbose > 0 }).try_init(),
    };
}

/// `level: message key=value`, the way compilers print warnings; with `-v` the target too.
struct Plain {
    color: bool,
    targets: bool,
}

impl<S, N> FormatEvent<S, N> for Plain
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(&self, ctx: &FmtContext<'_, S, N>, mut writer: Writer<'_>, event: &Event<'_>) -> fmt::Result {
        let meta = event.metadata();
        let (label, ansi) = match *meta.level() {
            Level::ERROR => ("error", "1;31"),
            Level::WARN => ("warning", "1;33"),
            Level::INFO => ("info", "1;32"),
            Level::DEBUG => ("debug", "1;34"),
            Level::TRACE => ("trace", "1;35"),
        };
        if self.color {
            write!(writer, "\x1b[{ansi}m{label}\x1b[0m: ")?;
        } else {
            write!(writer, "{label}: ")?;
        }
        if self.targets {
            write!(writer, "[{}] ", meta.target())?;
        }
        ctx.field_format().format_fields(writer.by_ref(), event)?;
        writeln!(writer)
    }
}

#[cfg(test)]
mod tests {
    use super::default_filter;

    #[test]
    fn verbosity_widens_and_quiet_narrows_the_default() {
        assert_eq!(default_filter(0, true), "error");
        assert!(default_filter(0, false).starts_with("warn"));
        assert!(default_filter(1, false).contains("housing_flow=debug"));
        assert!(default_filter(3, false).contains("housing_flow=trace"));
    }
}
