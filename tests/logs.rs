//! What a user should see reaches stderr, from the real binary: a failing sink, a `=> log`
//! rule, the log level flags, JSON logs, and refusals of what `run` cannot do yet.

mod common;

use common::{quick_main, run_to_end, temp_dir};
use std::time::Duration;

const LONG: Duration = Duration::from_secs(180);

/// `main.hf` made quick, registry and outputs in the folder, with `edit` applied.
fn pipeline(dir: &std::path::Path, edit: impl Fn(String) -> String) {
    std::fs::write(dir.join("main.hf"), edit(quick_main())).unwrap();
}

#[test]
fn a_sink_that_cannot_write_is_reported_and_the_run_fails() {
    let dir = temp_dir("logs-full");
    // /dev/full accepts the open and fails every write with ENOSPC: a disk that fills up.
    pipeline(&dir, |t| t.replace("file(\"out/predictions.jsonl\"", "file(\"/dev/full\""));
    let (code, _, stderr) = run_to_end(&dir, &["run", "main.hf", "--events", "20000", "--port", "0"], LONG);
    assert_ne!(code, 0, "{stderr}");
    assert!(stderr.contains("error"), "{stderr}");
    assert!(stderr.contains("No space left on device"), "{stderr}");
    assert!(stderr.contains("predictions"), "the sink is named: {stderr}");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_sink_path_that_cannot_be_created_is_refused_with_its_path() {
    let dir = temp_dir("logs-path");
    std::fs::write(dir.join("a_file"), "not a folder").unwrap();
    pipeline(&dir, |t| t.replace("file(\"out/predictions.jsonl\"", "file(\"a_file/predictions.jsonl\""));
    let (code, stdout, stderr) = run_to_end(&dir, &["run", "main.hf", "--events", "1000", "--port", "0"], LONG);
    assert_ne!(code, 0, "{stderr}");
    assert!(stderr.contains("error:") && stderr.contains("a_file"), "{stderr}");
    assert!(!stdout.contains("summary"), "nothing ran: {stdout}");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_log_rule_that_fires_writes_a_warning() {
    let dir = temp_dir("logs-rule");
    pipeline(&dir, |t| {
        t.replace("psi(bins: 10) > 0.2 => alert", "psi(bins: 10) > 0.2 => log")
            .replace("ks(p: 1e-7)         => alert\n", "")
    });
    let args = ["run", "main.hf", "--events", "30000", "--port", "0", "--shift", "Avg_Area_Income*1.3@10000"];
    let (code, _, stderr) = run_to_end(&dir, &args, LONG);
    assert_eq!(code, 0, "{stderr}");
    let line = stderr
        .lines()
        .find(|l| l.contains("income_drift") && l.contains("=> log"))
        .unwrap_or_else(|| panic!("no log line for the rule:\n{stderr}"));
    assert!(line.starts_with("warning:") && line.ends_with("→ logged"), "{line}");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn quiet_keeps_warnings_off_and_errors_on_and_json_frames_every_line() {
    let dir = temp_dir("logs-levels");
    pipeline(&dir, |t| t);
    let args = ["run", "main.hf", "--events", "2000", "--port", "0"];
    let (code, _, normal) = run_to_end(&dir, &args, LONG);
    assert_eq!(code, 0, "{normal}");
    assert!(normal.contains("info: serving http://"), "{normal}");

    let (code, _, quiet) = run_to_end(&dir, &[&args[..], &["-q"]].concat(), LONG);
    assert_eq!(code, 0, "{quiet}");
    assert!(!quiet.contains("info:"), "-q hides info lines: {quiet}");

    let (code, _, json) = run_to_end(&dir, &[&args[..], &["--log-format", "json"]].concat(), LONG);
    assert_eq!(code, 0, "{json}");
    let lines: Vec<serde_json::Value> = json
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not a JSON log line ({e}): {l}")))
        .collect();
    assert!(
        lines
            .iter()
            .any(|l| l["level"] == "INFO"
                && l["fields"]["message"].as_str().is_some_and(|m| m.contains("serving http://"))),
        "{json}"
    );

    // RUST_LOG wins over the flags.
    let out = std::process::Command::new(common::bin())
        .current_dir(&dir)
        .env("RUST_LOG", "debug")
        .args(["-q", "run", "main.hf", "--events", "2000", "--port", "0"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("debug:"), "RUST_LOG=debug logs debug lines despite -q: {stderr}");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn run_refuses_what_it_cannot_do_before_training() {
    let dir = temp_dir("logs-refuse");
    let root = common::root();
    std::fs::create_dir_all(dir.join("pipelines")).unwrap();
    std::fs::write(dir.join("pipelines/main.hf"), std::fs::read_to_string(root.join("pipelines/main.hf")).unwrap())
        .unwrap();

    // A scenario file, and a guardrail that names no drift monitor.
    std::fs::write(
        dir.join("scenario.hf"),
        "scenario s {\n  use \"pipelines/main.hf\"\n  duration 10s\n  traffic http constant(10/s)\n}\n",
    )
    .unwrap();
    let (code, _, stderr) = run_to_end(&dir, &["run", "scenario.hf"], LONG);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("declares scenario `s`: run it with `housing-flow scenario scenario.hf`"), "{stderr}");
    std::fs::write(dir.join("guard.hf"), "use \"pipelines/main.hf\"\nguardrail alert when p99(latency) > 10ms\n")
        .unwrap();
    let (code, _, stderr) = run_to_end(&dir, &["run", "guard.hf"], LONG);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("a guardrail that names no drift monitor is not available yet"), "{stderr}");
    assert!(!dir.join("models").exists(), "nothing was trained");

    // A second model on the source's schema: `run` predicts with one model per source.
    std::fs::write(
        dir.join("two.hf"),
        "schema s {\n  x: f64\n  y: f64?\n}\nsource g = generate(s)\nfeatures f from s {\n  a = x\n}\n\
         model one = lightgbm(f, label: y) {\n  train: generate(s, rows: 1_000)\n}\n\
         model two = lightgbm(f, label: y) {\n  train: generate(s, rows: 1_000)\n}\n",
    )
    .unwrap();
    let (code, _, stderr) = run_to_end(&dir, &["run", "two.hf"], LONG);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("a second model on schema `s` (`one` is the first) is not available yet"), "{stderr}");
    assert!(stderr.contains("two.hf:12:7"), "{stderr}");
    assert!(!dir.join("models").exists(), "nothing was trained");

    // `check` accepts the same files and says what `run` will refuse.
    let (code, stdout, stderr) = run_to_end(&dir, &["check", "guard.hf"], LONG);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.starts_with("ok:") && stderr.contains("warning[E0501]"), "{stdout}{stderr}");

    // --inject-bad only corrupts generated events.
    std::fs::write(dir.join("rows.csv"), "Avg_Area_Income\n1\n").unwrap();
    std::fs::write(dir.join("csv.hf"), "use \"pipelines/main.hf\"\nsource rows = csv(\"rows.csv\", schema: housing)\n")
        .unwrap();
    let (code, _, stderr) = run_to_end(&dir, &["run", "csv.hf", "--inject-bad", "0.1"], LONG);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("--inject-bad corrupts generated events"), "{stderr}");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_broken_pipe_ends_a_printing_command_quietly() {
    let dir = temp_dir("logs-pipe");
    // `true` exits at once, so the writes after it find the pipe closed.
    let script = format!(
        "'{}' explain '{}' --json | true; echo \"status ${{PIPESTATUS[0]}}\"",
        common::bin(),
        common::root().join("pipelines/main.hf").display()
    );
    let out = std::process::Command::new("bash").current_dir(&dir).args(["-c", &script]).output().unwrap();
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(!stderr.contains("panicked") && !stderr.contains("Broken pipe"), "{stderr}");
    // Ended by SIGPIPE (128 + 13) or, had it finished writing first, 0; never a panic (101).
    assert!(stdout.contains("status 141") || stdout.contains("status 0"), "{stdout}");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn an_slo_violation_is_logged_and_written_to_the_alerts_stream() {
    let dir = temp_dir("logs-slo");
    // At 20k events/s a 1M/s throughput objective cannot be met.
    pipeline(&dir, |t| {
        t.replace("slo p99(latency) < 50ms", "slo p99(latency) < 50ms\nslo throughput > 1M/s")
            + "sink alert_log = file(\"out/alerts.jsonl\") from alerts\n"
    });
    let (code, stdout, stderr) = run_to_end(&dir, &["run", "main.hf", "--events", "60000", "--port", "0"], LONG);
    assert_eq!(code, 0, "{stderr}");
    let line = stderr.lines().find(|l| l.contains("SLO violated")).unwrap_or_else(|| panic!("{stderr}"));
    assert!(line.starts_with("warning:") && line.contains("throughput > 1000000/s"), "{line}");
    let alerts = std::fs::read_to_string(dir.join("out/alerts.jsonl")).unwrap();
    let slo: Vec<serde_json::Value> = alerts
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|a| a["kind"] == "slo")
        .collect();
    assert_eq!(slo.len(), 1, "one violation, reported when it starts: {alerts}");
    let value = slo[0]["value"].as_f64().unwrap();
    assert!((5_000.0..40_000.0).contains(&value), "the measured throughput: {value}");
    assert_eq!(slo[0]["objective"], 1_000_000.0);
    assert!(stdout.contains("slo `throughput > 1000000/s`: VIOLATED"), "{stdout}");
    assert!(stdout.contains("slo `p99(latency) < 50ms`: met"), "{stdout}");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_wasserstein_rule_fires_on_a_shift_and_the_summary_shows_every_statistic() {
    let dir = temp_dir("logs-w1");
    // Incomes average about 68k: a ×1.3 shift moves the distribution by about 20k dollars.
    pipeline(&dir, |t| {
        t.replace("ks(p: 1e-7)         => alert", "wasserstein() > 5_000 => alert").replace(
            "guardrail rollback when psi(income_drift) > 0.25 for 3 windows",
            "guardrail alert when wasserstein(income_drift) > 10_000",
        )
    });
    let args = ["run", "main.hf", "--events", "30000", "--port", "0", "--shift", "Avg_Area_Income*1.3@10000"];
    let (code, stdout, stderr) = run_to_end(&dir, &args, LONG);
    assert_eq!(code, 0, "{stderr}");
    let alert = stderr
        .lines()
        .find(|l| l.contains("ALERT income_drift: `wasserstein() > 5000 => alert`"))
        .unwrap_or_else(|| panic!("{stderr}"));
    let value: f64 = alert.split(" at ").nth(1).unwrap().split_whitespace().next().unwrap().parse().unwrap();
    assert!(value > 5_000.0, "{alert}");
    assert!(stderr.contains("GUARDRAIL income_drift: `alert when wasserstein(income_drift) > 10000"), "{stderr}");
    let summary = stdout.lines().find(|l| l.contains("drift income_drift")).unwrap();
    for key in ["psi", "ks_d", "ks_p", "wasserstein"] {
        assert!(summary.contains(&format!(" {key} ")), "{summary}");
    }
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn file_sinks_rotate_and_keep_a_bounded_number_of_files() {
    let dir = temp_dir("logs-rotate");
    pipeline(&dir, |t| t.replace("rotate: 100MB, keep: 5)", "rotate: 200kB, keep: 3)"));
    let (code, stdout, stderr) = run_to_end(&dir, &["run", "main.hf", "--events", "20000", "--port", "0"], LONG);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("predictions 20000"), "{stdout}");
    let out = dir.join("out");
    let mut files: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("predictions.jsonl"))
        .collect();
    files.sort();
    assert_eq!(files, ["predictions.jsonl", "predictions.jsonl.1", "predictions.jsonl.2", "predictions.jsonl.3"]);
    for f in &files {
        let size = std::fs::metadata(out.join(f)).unwrap().len();
        // A file is closed once it passes 200 kB: at most one batch beyond it.
        assert!(size < 200_000 + 1024 * 200, "{f}: {size} bytes");
    }
    // The newest lines survive: the last file holds the last events.
    let last = std::fs::read_to_string(out.join("predictions.jsonl")).unwrap();
    assert!(last.lines().count() > 0);
    let _ = std::fs::remove_dir_all(dir);
}
