//! Golden tests for diagnostics: every top-level `tests/diagnostics/bad/X.hf` must have
//! diagnostics (errors, or warnings for the `W` codes), and their rendering must equal
//! `X.stderr` byte for byte.
//!
//! Files in subfolders (`bad/support/`) are helpers that cases `use`; they are not cases.
//!
//! To accept the current output as the new expectation:
//!
//! ```text
//! BLESS=1 cargo test --release --test diagnostics
//! ```

use housing_flow::check::{check_file, Checked};
use housing_flow::diagnostics::{render_all, Code, Diagnostic, SourceMap};
use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// The case folder, relative to the crate root (cargo runs tests from there).
const BAD: &str = "tests/diagnostics/bad";

/// Every case, sorted by name, as paths relative to the crate root.
fn cases() -> Vec<PathBuf> {
    // Rendered file names are relative paths, so they do not depend on where the crate lives.
    std::env::set_current_dir(env!("CARGO_MANIFEST_DIR")).expect("the crate root exists");
    let mut out: Vec<PathBuf> = std::fs::read_dir(BAD)
        .unwrap_or_else(|e| panic!("cannot list {BAD}: {e}"))
        .map(|entry| entry.expect("a readable directory entry").path())
        .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == "hf"))
        .collect();
    out.sort();
    out
}

fn golden_path(case: &Path) -> PathBuf {
    case.with_extension("stderr")
}

fn check(case: &Path) -> Checked {
    check_file(case).unwrap_or_else(|e| panic!("{}: cannot read the case: {e}", case.display()))
}

fn blessing() -> bool {
    std::env::var("BLESS").is_ok_and(|v| v == "1")
}

/// Problems with the diagnostics themselves, independent of the golden text.
fn sanity(case: &Path, map: &SourceMap, ds: &[Diagnostic]) -> Vec<String> {
    let mut problems = Vec::new();
    if ds.is_empty() {
        problems.push(format!("{}: expected at least one diagnostic, got none", case.display()));
    }
    for d in ds {
        let code = d.code.as_str();
        if !Code::ALL.contains(&d.code) || code.len() != 5 || !(code.starts_with('E') || code.starts_with('W')) {
            problems.push(format!("{}: diagnostic without a proper code: {d:?}", case.display()));
        }
        if d.message.trim().is_empty() {
            problems.push(format!("{}: [{code}] has an empty message", case.display()));
        }
        let spans = std::iter::once(&d.span).chain(d.secondary.iter().map(|(s, _)| s));
        for span in spans {
            let in_file = span.file < map.len() && {
                let text = &map.get(span.file).text;
                span.start <= span.end
                    && span.end <= text.len()
                    && text.is_char_boundary(span.start)
                    && text.is_char_boundary(span.end)
            };
            if !in_file {
                problems.push(format!(
                    "{}: [{code}] {:?} has a span outside its file: {span:?}",
                    case.display(),
                    d.message
                ));
            }
        }
    }
    problems
}

/// A line diff (longest common subsequence): `-` lines are expected only, `+` lines actual only.
fn diff(expected: &str, actual: &str) -> String {
    let a: Vec<&str> = expected.lines().collect();
    let b: Vec<&str> = actual.lines().collect();
    // lcs[i][j]: length of the longest common subsequence of a[i..] and b[j..].
    let mut lcs = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lcs[i][j] = if a[i] == b[j] { lcs[i + 1][j + 1] + 1 } else { lcs[i + 1][j].max(lcs[i][j + 1]) };
        }
    }
    let mut out = String::new();
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && a[i] == b[j] {
            let _ = writeln!(out, "   {}", a[i]);
            i += 1;
            j += 1;
        } else if i < a.len() && (j == b.len() || lcs[i + 1][j] >= lcs[i][j + 1]) {
            let _ = writeln!(out, "-  {}", a[i]);
            i += 1;
        } else {
            let _ = writeln!(out, "+  {}", b[j]);
            j += 1;
        }
    }
    if expected.ends_with('\n') != actual.ends_with('\n') {
        let _ = writeln!(out, "(the files differ in their final newline)");
    }
    out
}

#[test]
fn bad_files_match_their_golden_diagnostics() {
    let cases = cases();
    assert!(cases.len() >= 30, "expected at least 30 cases in {BAD}, found {}", cases.len());
    let bless = blessing();
    let mut failures = Vec::new();
    for case in &cases {
        let checked = check(case);
        failures.extend(sanity(case, &checked.map, &checked.diagnostics));
        let actual = render_all(&checked.map, &checked.diagnostics, false);
        let golden = golden_path(case);
        if bless {
            std::fs::write(&golden, &actual).unwrap_or_else(|e| panic!("cannot write {}: {e}", golden.display()));
            continue;
        }
        match std::fs::read_to_string(&golden) {
            Ok(expected) if expected == actual => {}
            Ok(expected) => failures.push(format!(
                "{}: the diagnostics differ from {} (- expected, + actual):\n{}",
                case.display(),
                golden.display(),
                diff(&expected, &actual)
            )),
            Err(e) => failures.push(format!(
                "{}: cannot read {} ({e}); run with BLESS=1 to create it. The diagnostics are:\n{actual}",
                case.display(),
                golden.display()
            )),
        }
    }
    // A golden file whose case was renamed or removed.
    for entry in std::fs::read_dir(BAD).expect("the case folder exists") {
        let path = entry.expect("a readable directory entry").path();
        if path.extension().is_some_and(|x| x == "stderr") && !path.with_extension("hf").is_file() {
            if bless {
                std::fs::remove_file(&path).unwrap_or_else(|e| panic!("cannot remove {}: {e}", path.display()));
            } else {
                failures.push(format!("{}: a golden file without a case; remove it", path.display()));
            }
        }
    }
    if !failures.is_empty() {
        panic!("{} problem(s) in the diagnostics golden tests:\n\n{}", failures.len(), failures.join("\n\n"));
    }
}

#[test]
fn every_code_is_covered_by_a_case() {
    let mut seen = BTreeSet::new();
    for case in cases() {
        let checked = check(&case);
        // What `run` refuses is reported by `run` (tests/cli.rs), not by `check`.
        for d in checked.diagnostics.iter().chain(&checked.unavailable) {
            seen.insert(d.code.as_str());
        }
    }
    let missing: Vec<String> = Code::ALL
        .iter()
        .filter(|c| !seen.contains(c.as_str()))
        .map(|c| format!("{} ({})", c.as_str(), c.summary()))
        .collect();
    assert!(missing.is_empty(), "no case in {BAD} produces these codes:\n  {}", missing.join("\n  "));
}

/// Cases fail for their own mistakes only: the pipeline they `use` is valid.
#[test]
fn the_shared_support_pipeline_checks_clean() {
    cases();
    let checked = check(Path::new("tests/diagnostics/bad/support/pipeline.hf"));
    assert!(checked.diagnostics.is_empty(), "{}", render_all(&checked.map, &checked.diagnostics, false));
}

#[test]
fn diff_marks_changed_lines() {
    let d = diff("a\nb\nc\n", "a\nx\nc\n");
    assert_eq!(d, "   a\n-  b\n+  x\n   c\n");
}
