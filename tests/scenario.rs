//! `housing-flow scenario` on the real binary: stream and HTTP traffic on one clock, a drift
//! the monitors must catch, the expectations judged with their measured values, the reports
//! (report.html opened in headless Chromium), exit 99 when an expectation fails, and files the
//! command or `run` refuse before any work.

mod common;

use common::{chromium, project, root, run_to_end};
use serde_json::Value;
use std::path::Path;
use std::time::Duration;

/// A project folder with the test scenarios under `tests/scenarios/`.
fn with_test_scenarios(name: &str) -> common::TempDir {
    let dir = project(name, true);
    std::fs::create_dir_all(dir.join("tests/scenarios")).unwrap();
    for f in
        ["quick_drift.hf", "must_fail.hf", "faults.hf", "concept.hf", "guardrails.hf", "unavailable.hf", "rollback.hf"]
    {
        std::fs::copy(root().join("tests/scenarios").join(f), dir.join("tests/scenarios").join(f)).unwrap();
    }
    dir
}

fn report(dir: &Path, name: &str) -> Value {
    serde_json::from_slice(&std::fs::read(dir.join("reports").join(name).join("report.json")).unwrap()).unwrap()
}

#[test]
fn a_scenario_drives_the_pipeline_and_judges_its_expectations() {
    let dir = with_test_scenarios("scenario-pass");
    let (code, out, err) = run_to_end(&dir, &["scenario", "tests/scenarios/quick_drift.hf"], Duration::from_secs(300));
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("all expectations hold"), "{out}");
    // The live view: a progress line each second, even when stderr is not a terminal.
    let lines = err.lines().filter(|l| l.contains("events/s")).count();
    assert!((6..=10).contains(&lines), "{lines} progress lines in 8 s:\n{err}");
    let r = report(&dir, "quick_drift");
    assert_eq!(r["passed"], true);
    let expectations = r["expectations"].as_array().unwrap();
    assert_eq!(expectations.len(), 4);
    // The generator's events carry their prices, so online error and interval coverage are
    // measured; incomes 50% high with the same prices make the error rise after 3 s.
    let seconds = r["series"]["stream"].as_array().unwrap();
    let mae = |s: &Value| s["online_mae"].as_f64().unwrap();
    let before: f64 = seconds[..2].iter().map(mae).sum::<f64>() / 2.0;
    let after: f64 = seconds[5..7].iter().map(mae).sum::<f64>() / 2.0;
    assert!(before > 10_000.0 && before < 150_000.0, "online MAE before the drift {before}");
    assert!(after > 1.5 * before, "online MAE did not rise: {before} then {after}");
    let coverage = seconds[0]["coverage"].as_f64().unwrap();
    assert!(coverage > 0.5 && coverage <= 1.0, "coverage before the drift {coverage}");
    assert!(r["summary"]["online_mae"].as_f64().is_some());
    assert!(expectations.iter().all(|e| e["passed"] == true && !e["measured"].as_str().unwrap().is_empty()));
    // The stream followed the schedule: 2k → 10k/s over 4 s, then 10k/s: 64,000 events in 8 s.
    let events = r["summary"]["events_in"].as_f64().unwrap();
    assert!((events - 64_000.0).abs() < 64_000.0 * 0.05, "{events} events");
    assert_eq!(r["summary"]["lost_events"], 0);
    // 300 requests a second for 8 s, all answered.
    let sent = r["summary"]["http_sent"].as_f64().unwrap();
    assert!((sent - 2_400.0).abs() < 2_400.0 * 0.05, "{sent} requests");
    assert_eq!(r["summary"]["http_errors"], 0);
    // Every second held the objective (500 ms here), so the highest rate held is about 300/s.
    let held = &r["summary"]["http_rate_held"];
    assert_eq!(held["p99_objective_ms"], 500.0);
    let rate = held["requests_per_second"].as_f64().unwrap();
    assert!((270.0..=330.0).contains(&rate), "rate held {rate}");
    // Per-second series, with the ramp visible in the stream's first seconds.
    let stream = r["series"]["stream"].as_array().unwrap();
    assert!(stream.len() >= 7, "{} seconds observed", stream.len());
    let first = stream[0]["events"].as_f64().unwrap();
    let fifth = stream[5]["events"].as_f64().unwrap();
    assert!(first < 4_000.0 && fifth > 8_000.0, "ramp not followed: {first} then {fifth}");
    // The drift was injected at 3 s and the income monitor alerted after it, not before.
    assert_eq!(r["injected"][0]["field"], "Avg_Area_Income");
    let income: Vec<f64> = r["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["drift"] == "income_drift")
        .map(|a| a["t"].as_f64().unwrap())
        .collect();
    assert!(!income.is_empty() && income.iter().all(|&t| t >= 3.0), "income alerts at {income:?}");
}

#[test]
fn a_failed_expectation_exits_99_and_says_which() {
    let dir = with_test_scenarios("scenario-fail");
    let (code, out, err) = run_to_end(&dir, &["scenario", "tests/scenarios/must_fail.hf"], Duration::from_secs(300));
    assert_eq!(code, 99, "{out}\n{err}");
    assert!(out.contains("FAIL  drift(income_drift) not detected"), "{out}");
    assert!(out.contains("pass  lost_events == 0"), "{out}");
    let r = report(&dir, "must_fail");
    assert_eq!(r["passed"], false);
    let md = std::fs::read_to_string(dir.join("reports/must_fail/report.md")).unwrap();
    assert!(md.contains("FAILED") && md.contains("| FAIL |"), "{md}");
}

#[test]
fn the_report_renders_in_chromium() {
    let dir = with_test_scenarios("scenario-report");
    let (code, out, err) = run_to_end(&dir, &["scenario", "tests/scenarios/quick_drift.hf"], Duration::from_secs(300));
    assert_eq!(code, 0, "{out}\n{err}");
    let page = dir.join("reports/quick_drift/report.html");
    let shot = dir.join("shot.png");
    let (dom, log) = chromium(&page, &shot);
    for id in ["throughput", "latency", "drift-income_drift", "online-error", "coverage", "dropped"] {
        let start = dom.find(&format!("id=\"{id}\"")).unwrap_or_else(|| panic!("chart {id} is missing"));
        let chart = &dom[start..start + dom[start..].find("</svg>").unwrap()];
        let drawn = chart.matches("class=\"series\" d=\"M").count();
        // A drift chart draws both PSI and KS D.
        let want = if id.starts_with("drift-") { 2 } else { 1 };
        assert!(drawn >= want, "chart {id} drew {drawn} series");
    }
    assert!(dom.contains("class=\"mark\""), "the drift mark is missing");
    assert!(shot.exists(), "no screenshot");
    assert!(!log.contains("Uncaught") && !log.contains(":ERROR:CONSOLE"), "{log}");
    assert!(std::fs::metadata(&shot).unwrap().len() > 20_000, "the screenshot is nearly empty");
}

#[test]
fn faults_and_pipelines_are_refused_before_any_work() {
    // Faults of parts the pipeline does not have: `scenario` refuses them, naming each.
    let dir = with_test_scenarios("scenario-refuse");
    let (code, _, err) = run_to_end(&dir, &["scenario", "tests/scenarios/unavailable.hf"], Duration::from_secs(60));
    assert_ne!(code, 0);
    assert!(err.contains("cache down") && err.contains("kafka down") && err.contains("not available yet"), "{err}");
    // `run` on a scenario file names the scenario command.
    let (code, _, err) =
        run_to_end(&dir, &["run", "scenarios/steady_soak.hf", "--events", "10"], Duration::from_secs(60));
    assert_ne!(code, 0);
    assert!(err.contains("housing-flow scenario"), "{err}");
    assert!(!dir.join("models").exists(), "work started before the refusal");
}

#[test]
fn the_same_scenario_drifts_the_same_events_and_decides_the_same() {
    let dir = with_test_scenarios("scenario-determinism");
    let mut decisions = Vec::new();
    let mut ends = Vec::new();
    for _ in 0..2 {
        let (code, out, err) =
            run_to_end(&dir, &["scenario", "tests/scenarios/quick_drift.hf"], Duration::from_secs(300));
        assert_eq!(code, 0, "{out}\n{err}");
        let r = report(&dir, "quick_drift");
        ends.push(r["summary"]["events_in"].as_u64().unwrap());
        decisions.push(r["alerts"].as_array().unwrap().clone());
    }
    // Windows that closed before the shorter run ended are the same windows in both runs.
    let end = *ends.iter().min().unwrap();
    let settled = |alerts: &[Value]| -> Vec<String> {
        alerts
            .iter()
            .filter(|a| a["window_end"].as_u64().unwrap() <= end)
            .map(|a| {
                format!("{} {} window {} value {} {}", a["drift"], a["rule"], a["window"], a["value"], a["action"])
            })
            .collect()
    };
    // Monitors run on different workers, so only each monitor's own order is fixed.
    let (mut a, mut b) = (settled(&decisions[0]), settled(&decisions[1]));
    a.sort();
    b.sort();
    assert!(!a.is_empty(), "no decisions to compare");
    assert_eq!(a, b, "two runs of one scenario decided differently");
}

#[test]
fn faults_drop_delay_and_stall_and_the_accounting_still_holds() {
    let dir = with_test_scenarios("scenario-faults");
    let (code, out, err) = run_to_end(&dir, &["scenario", "tests/scenarios/faults.hf"], Duration::from_secs(300));
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("events in = predictions + dead letters + dropped by fault"), "{out}");
    let r = report(&dir, "faults");
    let s = &r["summary"];
    let (events, predictions, dead, dropped) = (
        s["events_in"].as_u64().unwrap(),
        s["predictions"].as_u64().unwrap(),
        s["dead_letters"].as_u64().unwrap(),
        s["dropped_by_fault"].as_u64().unwrap(),
    );
    assert_eq!(events, predictions + dead + dropped);
    // 10% of the 20,000 events of seconds 2-4.
    assert!((1_400..=2_600).contains(&dropped), "{dropped} dropped");
    assert_eq!(r["faults"].as_array().unwrap().len(), 4);
    // A fifth of /predict failed with 503 in seconds 2-4 and none outside them.
    let http = r["series"]["http"].as_array().unwrap();
    let errors = |i: usize| http[i]["errors"].as_u64().unwrap();
    let answered = |i: usize| http[i]["ok"].as_u64().unwrap() + errors(i);
    for i in [2, 3] {
        let share = errors(i) as f64 / answered(i) as f64;
        assert!((0.12..0.28).contains(&share), "second {i}: {} of {} failed", errors(i), answered(i));
    }
    for i in [0, 1, 4, 5, 6] {
        assert_eq!(errors(i), 0, "second {i} failed requests outside the fault");
    }
    let seconds = r["series"]["stream"].as_array().unwrap();
    let p99 = |i: usize| seconds[i]["p99_ms"].as_f64().unwrap_or(0.0);
    assert!(p99(1) < 20.0 && p99(5) > 25.0, "model latency fault not seen: {} then {}", p99(1), p99(5));
    // A stalled worker holds the dataflow's progress: the second it stalls, little gets through.
    let events_in = |i: usize| seconds[i]["events"].as_f64().unwrap();
    assert!(events_in(6) < 0.5 * events_in(4), "the stall did not show: {} vs {}", events_in(6), events_in(4));
}

#[test]
fn concept_drift_raises_online_error_while_input_drift_stays_quiet() {
    let dir = with_test_scenarios("scenario-concept");
    let (code, out, err) = run_to_end(&dir, &["scenario", "tests/scenarios/concept.hf"], Duration::from_secs(300));
    assert_eq!(code, 0, "{out}\n{err}");
    let r = report(&dir, "concept");
    let injected = &r["injected"][0];
    assert_eq!(injected["concept"], true, "{injected}");
    assert!(injected["written"].as_str().unwrap().contains("where Avg_Area_Income > 65000"), "{injected}");
    let seconds = r["series"]["stream"].as_array().unwrap();
    let mae = |range: std::ops::Range<usize>| -> f64 {
        let v: Vec<f64> = range.filter_map(|i| seconds[i]["online_mae"].as_f64()).collect();
        v.iter().sum::<f64>() / v.len() as f64
    };
    let (before, after) = (mae(0..4), mae(6..seconds.len()));
    assert!(after > 1.5 * before, "online MAE {before:.0} before, {after:.0} after");
    // The label moved, the inputs did not: the income monitor's PSI stays small throughout.
    for s in seconds {
        if let Some(psi) = s["drift"]["income_drift"]["psi"].as_f64() {
            assert!(psi < 0.05, "income PSI {psi} at {}", s["t"]);
        }
    }
    let judged = r["expectations"].as_array().unwrap();
    assert!(judged[0]["measured"].as_str().unwrap().starts_with("rise(online_mae, at: 5s) = "), "{judged:?}");
}

#[test]
fn scenario_guardrails_shed_with_429_then_abort_and_log_why() {
    let dir = with_test_scenarios("scenario-guardrails");
    let (code, out, err) = run_to_end(&dir, &["scenario", "tests/scenarios/guardrails.hf"], Duration::from_secs(300));
    assert_eq!(code, 99, "an aborted run fails\n{out}\n{err}");
    assert!(out.contains("ABORTED at 4 s"), "{out}");
    let r = report(&dir, "guardrails");
    assert!(r["summary"]["seconds"].as_f64().unwrap() < 10.0, "the 30 s run was not cut short");
    let decisions = r["decisions"].as_array().unwrap();
    let actions: Vec<&str> = decisions.iter().map(|d| d["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["shed(50%)", "abort"]);
    assert!(decisions[0]["values"]["throughput"].as_f64().unwrap() > 1000.0, "{decisions:?}");
    assert_eq!(r["aborted"]["action"], "abort");
    // No request shed before the rule fired, about half after.
    let http = r["series"]["http"].as_array().unwrap();
    let shed = |i: usize| http[i]["shed"].as_u64().unwrap();
    assert_eq!(shed(0) + shed(1), 0);
    let (after, total): (u64, u64) = (2..http.len())
        .map(|i| (shed(i), shed(i) + http[i]["ok"].as_u64().unwrap()))
        .fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1));
    let share = after as f64 / total as f64;
    assert!((0.4..0.6).contains(&share), "{after} of {total} shed");
    assert_eq!(r["summary"]["http_errors"], 0, "shed requests are not errors");
    let md = std::fs::read_to_string(dir.join("reports/guardrails/report.md")).unwrap();
    assert!(md.contains("**Aborted** at 4 s"), "{md}");
    // The page shows the guardrail timeline, its marks on the charts and the shed requests.
    let (dom, log) = chromium(&dir.join("reports/guardrails/report.html"), &dir.join("guardrails.png"));
    let start = dom.find("id=\"decisions\"").expect("the guardrail timeline is missing");
    let timeline = &dom[start..start + dom[start..].find("</table>").unwrap()];
    assert_eq!(timeline.matches("<tr><td>").count(), 2, "{timeline}");
    assert!(timeline.contains("shedding 50% of prediction requests"), "{timeline}");
    assert!(dom.contains("guardrail abort"), "no guardrail mark on the charts");
    assert!(dom.contains("shed (429)"), "the shed series is missing");
    assert!(!log.contains("Uncaught") && !log.contains(":ERROR:CONSOLE"), "{log}");
}

#[test]
fn a_rollback_is_expected_on_time_and_fails_when_there_is_nothing_to_roll_back_to() {
    let dir = with_test_scenarios("scenario-rollback");
    // Only v1, trained by the scenario itself: the guardrail fires but cannot roll back.
    let (code, out, err) = run_to_end(&dir, &["scenario", "tests/scenarios/rollback.hf"], Duration::from_secs(300));
    assert_eq!(code, 99, "{out}\n{err}");
    assert!(out.contains("FAIL  rollback within 4s of 3s") && out.contains("cannot roll price back"), "{out}");
    // v2 promoted over v1: the same scenario rolls back to v1 in time.
    let (code, out, err) = run_to_end(&dir, &["train", "pipelines/main.hf"], Duration::from_secs(300));
    assert_eq!(code, 0, "{out}\n{err}");
    let (code, out, err) =
        run_to_end(&dir, &["models", "promote", "price", "2", "--registry", "models"], Duration::from_secs(60));
    assert_eq!(code, 0, "{out}\n{err}");
    let (code, out, err) = run_to_end(&dir, &["scenario", "tests/scenarios/rollback.hf"], Duration::from_secs(300));
    assert_eq!(code, 0, "{out}\n{err}");
    let r = report(&dir, "rollback");
    let measured = r["expectations"][0]["measured"].as_str().unwrap();
    assert!(measured.starts_with("rolled price back from v2 to v1 at "), "{measured}");
    let at: f64 = measured.rsplit(" at ").next().unwrap().trim_end_matches(" s").parse().unwrap();
    assert!((3.0..=7.0).contains(&at), "rolled back at {at} s");
}
