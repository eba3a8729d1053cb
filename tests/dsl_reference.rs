//! Keeps `dsl/README.md`, the language reference, honest:
//!
//! - every ```` ```hf ```` block is a complete file that checks without a diagnostic;
//! - every ```` ```hf-error ```` block produces at least one diagnostic (other than an unreadable file);
//! - an `hf-error` block followed by a ```` ```text ```` block that starts with `error[` shows the
//!   real output: the block, checked as `bad.hf`, renders exactly to that text;
//! - there is an `hf` example of every declaration keyword, and the code table lists every code.
//!
//! Blocks are checked in memory as `dsl/example_LINE.hf`, next to the real `pipelines/*.hf`
//! files, so `use "../pipelines/main.hf"` resolves as it would on disk.

use housing_flow::check::{check_with, normalize, Checked, MemoryFiles};
use housing_flow::diagnostics::{render_all, Code};
use housing_flow::syntax::parse_module;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

const README: &str = "dsl/README.md";

/// The file name used for the rendered diagnostics example in the README.
const RENDERED_NAME: &str = "bad.hf";

const KEYWORDS: &[&str] = &housing_flow::syntax::DECL_KEYWORDS;

/// A fenced code block of the README.
struct Block {
    /// The info string after the opening fence (`hf`, `hf-error`, `text`, ...).
    tag: String,
    /// 1-based line of the block's first content line in README.md.
    line: usize,
    text: String,
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn readme() -> String {
    let path = root().join(README);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// Every fenced block, in order. An unclosed fence is a failure of its own.
fn blocks(readme: &str) -> Vec<Block> {
    let mut out = Vec::new();
    let mut open: Option<(String, usize, Vec<&str>)> = None;
    for (i, line) in readme.lines().enumerate() {
        let trimmed = line.trim_start();
        match &mut open {
            None => {
                if let Some(info) = trimmed.strip_prefix("```") {
                    let tag = info.split_whitespace().next().unwrap_or("").to_string();
                    open = Some((tag, i + 2, Vec::new()));
                }
            }
            Some((_, _, body)) => {
                if trimmed.trim_end() == "```" {
                    let (tag, line, body) = open.take().expect("a block is open");
                    let mut text = body.join("\n");
                    text.push('\n');
                    out.push(Block { tag, line, text });
                } else {
                    body.push(line);
                }
            }
        }
    }
    if let Some((tag, line, _)) = open {
        panic!("{README}:{}: the ```{tag} block is never closed", line - 1);
    }
    out
}

/// The real pipeline and scenario files, so examples can `use` them.
fn project_files() -> MemoryFiles {
    let mut files = MemoryFiles::default();
    for dir in ["pipelines", "scenarios"] {
        let Ok(entries) = std::fs::read_dir(root().join(dir)) else { continue };
        for entry in entries {
            let path = entry.expect("a readable directory entry").path();
            if path.extension().is_some_and(|x| x == "hf") {
                let text =
                    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
                let name = Path::new(dir).join(path.file_name().expect("a file name"));
                files.0.insert(normalize(&name), text);
            }
        }
    }
    assert!(
        files.0.contains_key(&normalize(Path::new("pipelines/main.hf"))),
        "pipelines/main.hf is missing; the examples use it"
    );
    files
}

/// Checks `text` as the file `name`, with the project's files beside it.
fn check_as(name: &str, text: &str) -> Checked {
    let mut files = project_files();
    files.0.insert(normalize(Path::new(name)), text.to_string());
    check_with(&files, Path::new(name)).expect("the example is in memory")
}

fn example_name(b: &Block) -> String {
    format!("dsl/example_{}.hf", b.line)
}

#[test]
fn hf_examples_check_clean() {
    let all = blocks(&readme());
    let examples: Vec<&Block> = all.iter().filter(|b| b.tag == "hf").collect();
    assert!(!examples.is_empty(), "{README} has no ```hf examples");
    let mut failures = Vec::new();
    for b in &examples {
        let checked = check_as(&example_name(b), &b.text);
        if !checked.diagnostics.is_empty() {
            failures.push(format!(
                "{README}:{}: this ```hf example does not check clean:\n{}",
                b.line,
                render_all(&checked.map, &checked.diagnostics, false)
            ));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

/// ```hf-warning examples check (no errors) and show at least one warning: conditions on
/// metrics that only scenarios measure, for instance.
#[test]
fn hf_warning_examples_check_with_warnings_only() {
    let all = blocks(&readme());
    let examples: Vec<&Block> = all.iter().filter(|b| b.tag == "hf-warning").collect();
    assert!(!examples.is_empty(), "{README} has no ```hf-warning examples");
    for b in &examples {
        let checked = check_as(&example_name(b), &b.text);
        let rendered = render_all(&checked.map, &checked.diagnostics, false);
        assert!(checked.program.is_some(), "{README}:{}: errors:\n{rendered}", b.line);
        assert!(!checked.diagnostics.is_empty(), "{README}:{}: no warning; tag it ```hf", b.line);
    }
}

#[test]
fn hf_error_examples_fail() {
    let all = blocks(&readme());
    let bad: Vec<&Block> = all.iter().filter(|b| b.tag == "hf-error").collect();
    assert!(!bad.is_empty(), "{README} has no ```hf-error examples");
    let mut failures = Vec::new();
    for b in &bad {
        let checked = check_as(&example_name(b), &b.text);
        if checked.diagnostics.is_empty() {
            failures.push(format!("{README}:{}: this ```hf-error example checks clean", b.line));
        } else if checked.diagnostics.iter().all(|d| d.code == Code::UnreadableFile) {
            failures.push(format!(
                "{README}:{}: this ```hf-error example fails only because a file cannot be read:\n{}",
                b.line,
                render_all(&checked.map, &checked.diagnostics, false)
            ));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn rendered_diagnostics_match_the_checker() {
    let all = blocks(&readme());
    let mut compared = 0;
    let mut failures = Vec::new();
    for pair in all.windows(2) {
        let (bad, shown) = (&pair[0], &pair[1]);
        if bad.tag != "hf-error" || shown.tag != "text" || !shown.text.starts_with("error[") {
            continue;
        }
        compared += 1;
        let checked = check_as(RENDERED_NAME, &bad.text);
        let actual = render_all(&checked.map, &checked.diagnostics, false);
        if actual != shown.text {
            failures.push(format!(
                "{README}:{}: the output shown for the example at line {} is out of date.\n\
                 It should read (checked as `{RENDERED_NAME}`):\n{actual}",
                shown.line, bad.line
            ));
        }
    }
    assert!(compared > 0, "{README} shows no rendered diagnostics after an ```hf-error example");
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn every_declaration_has_an_example() {
    let all = blocks(&readme());
    let mut seen = BTreeSet::new();
    for b in all.iter().filter(|b| b.tag == "hf") {
        let (module, _) = parse_module(&b.text, 0);
        seen.extend(module.decls.iter().map(|d| d.keyword()));
    }
    let missing: Vec<&&str> = KEYWORDS.iter().filter(|k| !seen.contains(**k)).collect();
    assert!(missing.is_empty(), "{README} has no ```hf example declaring: {missing:?}");
}

#[test]
fn every_diagnostic_code_is_listed() {
    let text = readme();
    let missing: Vec<&str> =
        Code::ALL.iter().map(|c| c.as_str()).filter(|c| !text.contains(&format!("| `{c}` |"))).collect();
    assert!(missing.is_empty(), "the code table of {README} lacks: {missing:?}");
}
