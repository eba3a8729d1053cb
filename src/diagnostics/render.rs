//! Turns diagnostics into text: `file:line:col`, the source line, carets under the span,
//! the code and the hint (codespan-reporting).

use super::{Diagnostic, Severity, SourceMap};
use codespan_reporting::diagnostic::{Diagnostic as Report, Label};
use codespan_reporting::term::{self, termcolor::Buffer, Config};

fn to_report(d: &Diagnostic) -> Report<usize> {
    let mut labels = vec![Label::primary(d.span.file, d.span.range()).with_message(&d.label)];
    for (span, text) in &d.secondary {
        labels.push(Label::secondary(span.file, span.range()).with_message(text));
    }
    let report = match d.severity {
        Severity::Error => Report::error(),
        Severity::Warning => Report::warning(),
    };
    let mut report = report.with_code(d.code.as_str()).with_message(&d.message).with_labels(labels);
    if let Some(hint) = &d.hint {
        report = report.with_notes(vec![format!("hint: {hint}")]);
    }
    report
}

/// One diagnostic as text; `color` adds terminal colors.
pub fn render(map: &SourceMap, d: &Diagnostic, color: bool) -> String {
    let mut buf = if color { Buffer::ansi() } else { Buffer::no_color() };
    let config = Config::default();
    // The map holds every file a span can name, so emitting cannot fail on lookup.
    if term::emit(&mut buf, &config, map, &to_report(d)).is_err() {
        return format!("error[{}]: {}\n", d.code.as_str(), d.message);
    }
    String::from_utf8_lossy(buf.as_slice()).into_owned()
}

/// Every diagnostic, then a one-line count of the errors (or of the warnings, when there
/// are only warnings).
pub fn render_all(map: &SourceMap, ds: &[Diagnostic], color: bool) -> String {
    let mut out = String::new();
    for d in ds {
        out.push_str(&render(map, d, color));
    }
    let errors = ds.iter().filter(|d| d.is_error()).count();
    let plural = |n: usize| if n == 1 { "" } else { "s" };
    if errors > 0 {
        out.push_str(&format!("error: {errors} problem{} found\n", plural(errors)));
    } else if !ds.is_empty() {
        out.push_str(&format!("warning: {} warning{}\n", ds.len(), plural(ds.len())));
    }
    out
}
