//! The README runs as written. Every shell example (a code block of `$ command` lines, each
//! followed by the output it shows) is run in order in one fresh folder holding copies of
//! `pipelines/` and `scenarios/`, with the binary first on PATH:
//!
//! - each command must exit 0, or non-zero when its shown output has an `error` line;
//! - the shown output lines must appear in the real output (stderr, then stdout), in order,
//!   compared by shape: every number stands for any number, runs of spaces for one, and a
//!   line starting with `…` stands for any lines;
//! - a code block with the info string `hf NAME` is written to the folder as `NAME` first;
//! - `<!-- while: COMMAND -->` before a block runs COMMAND in the background until the block
//!   is done (after it prints `serving http://`);
//! - a command ending in `&` runs in the background and must exit 0 by the end of its block;
//! - `<!-- kafka -->` before a block starts a tansu broker on a free port for the block and
//!   sets `KAFKA_BROKERS` to its address in the block's commands (which the README has the
//!   reader export for their own broker).
//! - `<!-- mlflow -->` before a block starts an MLflow tracking server on a free port for the
//!   block and sets `MLFLOW_TRACKING_URI` to it (skipped, saying so, when `HF_NO_MLFLOW=1`).

mod common;

use common::{bin, root, temp_dir, Running};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

/// One runnable example.
#[derive(Debug)]
struct Example {
    /// Line in README.md, for messages.
    line: usize,
    /// Runs in the background while the block runs.
    while_running: Option<String>,
    /// A Kafka broker for the block, its address in `KAFKA_BROKERS`.
    kafka: bool,
    /// An MLflow tracking server for the block, its URL in `MLFLOW_TRACKING_URI`.
    mlflow: bool,
    commands: Vec<(String, Vec<String>)>,
}

/// Files and examples of a markdown text, in order.
enum Item {
    File(String, String),
    Example(Example),
}

fn items(text: &str) -> Vec<Item> {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    let mut i = 0;
    let mut pending_while = None;
    let mut pending_kafka = false;
    let mut pending_mlflow = false;
    while i < lines.len() {
        let line = lines[i];
        if line == "<!-- mlflow -->" {
            pending_mlflow = true;
            i += 1;
            continue;
        }
        if line == "<!-- kafka -->" {
            pending_kafka = true;
            i += 1;
            continue;
        }
        if let Some(cmd) = line.strip_prefix("<!-- while: ").and_then(|l| l.strip_suffix(" -->")) {
            pending_while = Some(cmd.to_string());
            i += 1;
            continue;
        }
        let Some(info) = line.strip_prefix("```") else {
            i += 1;
            continue;
        };
        let start = i + 1;
        let mut end = start;
        while end < lines.len() && !lines[end].starts_with("```") {
            end += 1;
        }
        let body = &lines[start..end.min(lines.len())];
        if let Some(name) = info.strip_prefix("hf ") {
            out.push(Item::File(name.trim().to_string(), body.join("\n") + "\n"));
        } else if body.first().is_some_and(|l| l.starts_with("$ ")) {
            let mut commands: Vec<(String, Vec<String>)> = Vec::new();
            for l in body {
                match l.strip_prefix("$ ") {
                    Some(c) => commands.push((c.to_string(), Vec::new())),
                    None => commands.last_mut().unwrap().1.push(l.to_string()),
                }
            }
            // A command continued on the next lines (an open quote) is joined back.
            let mut joined: Vec<(String, Vec<String>)> = Vec::new();
            for (cmd, output) in commands {
                let mut cmd = cmd;
                let mut output = output;
                while cmd.matches('\'').count() % 2 == 1 && !output.is_empty() {
                    cmd = format!("{cmd}\n{}", output.remove(0));
                }
                joined.push((cmd, output));
            }
            out.push(Item::Example(Example {
                line: start,
                while_running: pending_while.take(),
                kafka: std::mem::take(&mut pending_kafka),
                mlflow: std::mem::take(&mut pending_mlflow),
                commands: joined,
            }));
        }
        pending_while = None;
        i = end + 1;
    }
    out
}

/// A line reduced to its shape: numbers become `#`, runs of whitespace one space.
fn shape(line: &str) -> String {
    let mut out = String::new();
    let mut chars = line.trim().chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_ascii_digit() {
            while chars.peek().is_some_and(|d| d.is_ascii_digit() || matches!(d, '.' | ',' | '_' | 'e' | '-')) {
                chars.next();
            }
            out.push('#');
        } else if c.is_whitespace() {
            while chars.peek().is_some_and(|d| d.is_whitespace()) {
                chars.next();
            }
            out.push(' ');
        } else {
            out.push(c);
        }
    }
    out
}

/// Whether every shown line appears in `actual` in order (by shape).
fn shows(expected: &[String], actual: &str) -> Result<(), String> {
    let actual: Vec<String> = actual.lines().map(shape).collect();
    let mut at = 0;
    for e in expected.iter().filter(|e| !e.trim().is_empty() && !e.trim_start().starts_with('…')) {
        let want = shape(e);
        match actual[at..].iter().position(|a| *a == want) {
            Some(k) => at += k + 1,
            None => return Err(format!("the output lacks (in order) the line\n  {e}\n  shape: {want}")),
        }
    }
    Ok(())
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_file() {
            std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
        }
    }
}

/// PATH with the binary first (and, for Kafka blocks, tansu's folder after it).
fn path_with_binary(kafka: bool) -> String {
    let dir = Path::new(bin()).parent().unwrap().display().to_string();
    let tansu = if kafka { format!(":{}", common::kafka::tansu().parent().unwrap().display()) } else { String::new() };
    format!("{dir}{tansu}:{}", std::env::var("PATH").unwrap_or_default())
}

fn run_example(dir: &Path, ex: &Example) -> Vec<String> {
    let mut failures = Vec::new();
    let _background = ex.while_running.as_ref().map(|cmd| {
        let args: Vec<&str> = cmd.split_whitespace().skip(1).collect();
        let mut r = Running::start(dir, &args);
        r.http_addr();
        r
    });
    if ex.mlflow && common::mlflow::skipped(&format!("the MLflow example at README.md:{}", ex.line)) {
        return failures;
    }
    let broker = ex.kafka.then(|| common::kafka::Broker::start(dir));
    let mlflow = ex.mlflow.then(|| common::mlflow::Mlflow::start(&dir.join("mlflow-server")));
    let mut jobs = Vec::new();
    for (cmd, expected) in &ex.commands {
        let mut command = Command::new("bash");
        command.current_dir(dir).env("PATH", path_with_binary(ex.kafka)).env("NO_COLOR", "1");
        if let Some(b) = &broker {
            command.env("KAFKA_BROKERS", &b.addr);
        }
        if let Some(m) = &mlflow {
            command.env("MLFLOW_TRACKING_URI", &m.url);
        }
        if let Some(bg) = cmd.strip_suffix('&') {
            jobs.push((cmd.clone(), command.args(["-c", bg.trim()]).spawn().unwrap()));
            continue;
        }
        let out = command.args(["-c", cmd]).output().unwrap();
        let text = format!("{}{}", String::from_utf8_lossy(&out.stderr), String::from_utf8_lossy(&out.stdout));
        let wants_error = expected.iter().any(|l| l.starts_with("error"));
        if out.status.success() == wants_error {
            failures.push(format!(
                "README.md:{}: `{cmd}` exited with {} (the README shows {}):\n{text}",
                ex.line,
                out.status,
                if wants_error { "an error" } else { "success" }
            ));
            continue;
        }
        if let Err(e) = shows(expected, &text) {
            failures.push(format!("README.md:{}: `{cmd}`: {e}\nwhole output:\n{text}", ex.line));
        }
    }
    for (cmd, mut child) in jobs {
        let status = child.wait().unwrap();
        if !status.success() {
            failures.push(format!("README.md:{}: `{cmd}` (in the background) exited with {status}", ex.line));
        }
    }
    failures
}

#[test]
fn the_readme_examples_run_as_written() {
    let dir = temp_dir("readme");
    copy_dir(&root().join("pipelines"), &dir.join("pipelines"));
    copy_dir(&root().join("scenarios"), &dir.join("scenarios"));
    let text = std::fs::read_to_string(root().join("README.md")).unwrap();
    let items = items(&text);
    let examples = items.iter().filter(|i| matches!(i, Item::Example(_))).count();
    assert!(examples >= 6, "expected the README's shell examples, found {examples}");
    let mut failures = Vec::new();
    for item in &items {
        match item {
            Item::File(name, body) => std::fs::write(dir.join(name), body).unwrap(),
            Item::Example(ex) => failures.extend(run_example(&dir, ex)),
        }
    }
    assert!(
        failures.is_empty(),
        "{} README example(s) do not run as written:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
    the_cluster_example_matches_one_process(&dir);
    let _ = std::fs::remove_dir_all(dir);
}

/// The README's two-process cluster, run in one folder, wrote one file per process; together
/// they hold exactly the predictions of one process with two workers and the same model.
fn the_cluster_example_matches_one_process(dir: &Path) {
    let p0 = predictions_in(&dir.join("out/predictions.p0.jsonl"));
    let p1 = predictions_in(&dir.join("out/predictions.p1.jsonl"));
    assert!(!p0.is_empty() && !p1.is_empty(), "each process wrote its own file");
    let mut cluster: Vec<(u64, u64)> = p0.into_iter().chain(p1).collect();
    cluster.sort_unstable();
    let single = dir.join("single");
    copy_dir(&dir.join("pipelines"), &single.join("pipelines"));
    copy_dir(&dir.join("models/price/1"), &single.join("models/price/1"));
    for f in ["production", "candidate", "history.jsonl"] {
        let _ = std::fs::copy(dir.join("models/price").join(f), single.join("models/price").join(f));
    }
    let (code, _, err) = common::run_to_end(
        &single,
        &["run", "pipelines/main.hf", "--events", "100000", "--workers", "2", "--port", "0"],
        Duration::from_secs(120),
    );
    assert_eq!(code, 0, "{err}");
    let mut reference = predictions_in(&single.join("out/predictions.jsonl"));
    reference.sort_unstable();
    assert_eq!(reference.len(), 100_000);
    assert_eq!(cluster, reference, "the cluster's predictions differ from one process with two workers");
}

/// (id, estimated_price bits) of each line of a JSON-lines file.
fn predictions_in(path: &Path) -> Vec<(u64, u64)> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.lines()
        .map(|l| {
            let j: serde_json::Value = serde_json::from_str(l).unwrap();
            (j["id"].as_u64().unwrap(), j["estimated_price"].as_f64().unwrap().to_bits())
        })
        .collect()
}

#[test]
fn shapes_ignore_numbers_and_spacing_only() {
    assert_eq!(shape("  p50 0.026 ms   p99 1.5e-3 ms"), "p# #.# ms p# # ms".replace("#.#", "#"));
    assert!(shows(&["a 1".into(), "…".into(), "c 22".into()], "a 5\nb\nc 7\n").is_ok());
    assert!(shows(&["c 1".into(), "a 1".into()], "a 5\nc 7\n").is_err(), "order matters");
    assert!(shows(&["a: 1 ✓".into()], "a: 1 ✗\n").is_err(), "symbols are compared");
}
