//! Turns diagnostics into text: `file:line:col`, the source line, carets under the span,
//! the code and the hint (codespan-reporting).

use super::{Diagnostic, SourceMap};
use codespan_reporting::diagnostic::{Diagnostic as Report, Label};
use codespan_reporting::term::{self, termcolor::Buffer, Config};

fn to_report(d: &Diagnostic) -> Report<usize> {
    let mut labels = vec![Label::primary(d.span.file, d.span.range()).with_message(&d.label)];
    for (span, text) in &d.secondary {
        labels.push(Label::secondary(span.file, span.range()).with_message(text));
    }
    let mut report = Report::error().with_code(d.code.as_str()).with_message(&d.message).with_labels(labels);
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

/// Every diagnostic, then a one-line count.
pub fn render_all(map: &SourceMap, ds: &[Diagnostic], color: bool) -> String {
    let mut out = String::new();
    for d in ds {
        out.push_str(&render(map, d, color));
    }
    let n = ds.len();
    out.push_str(&format!("error: {n} problem{} found\n", if n == 1 { "" } else { "s" }));
    out
}
