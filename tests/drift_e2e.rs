//! Drift monitoring end to end: a generated stream whose income distribution is scaled by 1.2
//! half way through. The PSI rule must trip within one window length after the shift and never
//! before it, the guardrail must roll the model back through the registry, and the engine must
//! serve the previous version from then on — with 1 and 2 workers, which must also agree on
//! every window's statistics.

use housing_flow::check::check_file;
use housing_flow::data::generator::Generator;
use housing_flow::data::shift::Shift;
use housing_flow::drift::WindowStats;
use housing_flow::engine::run::RunOptions;
use housing_flow::engine::session::{execute, prepare, Display, Prepared};
use housing_flow::plan::lower;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

const EVENTS: u64 = 100_000;
const SHIFT_AT: u64 = 50_000;

fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("hf-drift-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// `pipelines/main.hf`, unpaced, with its registry and sinks in `dir` and an alerts sink.
fn pipeline_in(dir: &Path) -> PathBuf {
    let main = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/pipelines/main.hf")).unwrap();
    let mut text = main
        .replace("registry:  \"../models\"", &format!("registry:  \"{}\"", dir.join("models").display()))
        .replace("\"../out/", &format!("\"{}/", dir.join("out").display()))
        .replace("rate: 20k/s, ", "")
        .replace("num_iterations: 300", "num_iterations: 50");
    text.push_str(&format!("sink alerts = file(\"{}\") from alerts\n", dir.join("out/alerts.jsonl").display()));
    let path = dir.join("main.hf");
    std::fs::write(&path, text).unwrap();
    path
}

fn prepared(file: &Path, workers: usize) -> Prepared {
    let checked = check_file(file).unwrap();
    assert!(checked.diagnostics.is_empty(), "{:?}", checked.diagnostics);
    prepare(&lower(&checked.program.unwrap(), workers), true).unwrap()
}

/// Registers and promotes a second version, so that a rollback has somewhere to go.
fn promote_second_version(p: &Prepared) -> u32 {
    let events = Generator::new(&p.model.schema, 9).unwrap().rows(5_000);
    let opts = housing_flow::model::train::TrainOptions { source: "test".into(), seed: 9 };
    let t = housing_flow::model::train::train(&p.model, &events, &opts).unwrap();
    let v = p.registry.register("price", &t.files, t.meta).unwrap();
    p.registry.promote("price", v, "test").unwrap();
    v
}

#[test]
fn a_income_shift_is_detected_after_it_happens_and_rolls_the_model_back() {
    let mut income_windows: Option<Vec<WindowStats>> = None;
    for workers in [1, 2] {
        let dir = temp_dir(&format!("shift{workers}"));
        let file = pipeline_in(&dir);
        let first = prepared(&file, workers);
        let v2 = promote_second_version(&first);
        let p = prepared(&file, workers);
        assert_eq!(p.handle.current().version(), v2);
        let shift = Shift::parse(&p.schema, &format!("Avg_Area_Income*1.2@{SHIFT_AT}")).unwrap();
        let opts = RunOptions {
            traffic: None,
            faults: None,
            drain: false,
            workers,
            events: Some(EVENTS),
            batch: 512,
            inject_bad: 0.0,
            unpaced: true,
            cluster: None,
            shift: Some(shift),
        };
        let out = execute(&p, &opts, Arc::new(AtomicBool::new(false)), None, Display::Line).unwrap();
        assert!(out.accounted());
        let board = out.drift.expect("main.hf monitors drift");

        // Every window of the sliding monitor was evaluated: one per 1,000 events.
        let income = board.drifts.iter().find(|d| d.name == "income_drift").unwrap();
        assert_eq!(income.windows, EVENTS / 1_000, "{workers} workers");
        assert_eq!(income.late_events, 0);
        let price = board.drifts.iter().find(|d| d.name == "price_drift").unwrap();
        assert_eq!(price.windows, EVENTS / 10_000);

        // PSI alerts: none on a window that ends before the shift, the first within one window
        // length (10 slides of 1,000 events) after it.
        let psi_alerts: Vec<_> =
            board.alerts.iter().filter(|a| a.drift == "income_drift" && a.statistic == "psi").collect();
        assert!(!psi_alerts.is_empty(), "the shift is detected");
        assert!(psi_alerts.iter().all(|a| a.window.end > SHIFT_AT), "no PSI alert before the shift: {psi_alerts:?}");
        let first_psi = psi_alerts.iter().map(|a| a.window.end).min().unwrap();
        assert!(first_psi <= SHIFT_AT + 10_000, "detected at window end {first_psi}");
        assert!(psi_alerts[0].value > psi_alerts[0].threshold && psi_alerts[0].threshold == 0.2);

        // The KS rule trips after the shift too.
        assert!(board
            .alerts
            .iter()
            .any(|a| a.drift == "income_drift" && a.statistic == "ks_p" && a.window.end > SHIFT_AT && a.value < 0.01));

        // The guardrail (psi > 0.25 for 3 windows) rolled production back from v2 to v1, once.
        let rollbacks: Vec<_> = board.alerts.iter().filter(|a| a.action == "rollback").collect();
        assert_eq!(rollbacks.len(), 1, "{rollbacks:?}");
        let rb = rollbacks[0];
        assert!(rb.window.end > SHIFT_AT && rb.window.end <= SHIFT_AT + 10_000 + 3 * 1_000, "{rb:?}");
        assert!(rb.outcome.contains(&format!("from v{v2} to v1")), "{}", rb.outcome);
        assert_eq!(p.registry.production("price").unwrap(), Some(1));
        let history = p.registry.history("price").unwrap();
        assert!(history.iter().any(|h| format!("{h:?}").contains("guardrail")), "the registry says why: {history:?}");

        // The engine hot-swapped: the last predictions come from v1, earlier ones from v2.
        assert_eq!(out.model_version, 1);
        let store = p.sink_store("predictions").unwrap();
        let recent = store.recent(usize::MAX, None);
        let last = recent.iter().max_by_key(|r| r.id).unwrap();
        assert_eq!(last.model_version, 1);
        assert!(recent.iter().any(|r| r.model_version == v2));
        // `/metrics` counts predictions by the version that made them: both served.
        let by_version = p.stats.predictions_by_version();
        assert!(by_version.get(&1).is_some_and(|&n| n > 0) && by_version.get(&v2).is_some_and(|&n| n > 0));
        assert_eq!(by_version.values().sum::<u64>(), out.predictions);

        // The alerts sink has every alert as a JSON line with its window and numbers.
        let lines = std::fs::read_to_string(dir.join("out/alerts.jsonl")).unwrap();
        assert_eq!(lines.lines().count() as u64, board.alerts_total);
        let first: serde_json::Value = serde_json::from_str(lines.lines().next().unwrap()).unwrap();
        for key in ["drift", "window", "statistic", "threshold", "value", "action"] {
            assert!(first.get(key).is_some(), "alert has `{key}`: {first}");
        }

        // The windows of the income monitor do not depend on the number of workers.
        let windows: Vec<WindowStats> = income.recent.iter().cloned().collect();
        match &income_windows {
            None => income_windows = Some(windows),
            Some(reference) => assert_eq!(&windows, reference, "1 and 2 workers disagree"),
        }
        let _ = std::fs::remove_dir_all(dir);
    }
}

/// A categorical monitor (the `state` extracted from the address) over tumbling windows: each
/// window's PSI equals `psi_categorical` of that window's states, counted directly from the
/// same generated events, against the baseline's proportions — with 1 and 2 workers.
#[test]
fn categorical_drift_equals_the_direct_computation_per_window() {
    use housing_flow::drift::psi_categorical;
    use housing_flow::features::Cell;
    use housing_flow::registry::meta::Baseline;
    use std::collections::BTreeMap;
    const N: u64 = 20_000;
    const W: u64 = 5_000;
    for workers in [1, 2] {
        let dir = temp_dir(&format!("state{workers}"));
        let file = pipeline_in(&dir);
        let mut text = std::fs::read_to_string(&file).unwrap();
        text.push_str("drift state_drift on price_features.state window tumbling(5_000 events) {\n  psi(bins: 10) > 0.2 => alert\n}\n");
        std::fs::write(&file, text).unwrap();
        let p = prepared(&file, workers);
        let opts = RunOptions {
            traffic: None,
            faults: None,
            drain: false,
            workers,
            events: Some(N),
            batch: 700,
            inject_bad: 0.0,
            unpaced: true,
            cluster: None,
            shift: None,
        };
        let out = execute(&p, &opts, Arc::new(AtomicBool::new(false)), None, Display::Line).unwrap();
        let board = out.drift.unwrap();
        let state = board.drifts.iter().find(|d| d.name == "state_drift").unwrap();
        assert!(state.categorical);
        assert_eq!(state.windows, N / W);

        let model = p.handle.current();
        let Some(Baseline::Categorical { proportions, .. }) = model.meta.baselines.get("price_features.state") else {
            panic!("no categorical baseline for the state")
        };
        let index = model.features.names.iter().position(|n| n == "state").unwrap();
        let generator = Generator::new(&p.schema, 42).unwrap();
        for w in &state.recent {
            let mut counts: BTreeMap<String, u64> = BTreeMap::new();
            for id in w.start..w.end {
                let e = generator.event(id);
                if let Cell::Text(t) = model.features.cell(index, &e.values) {
                    *counts.entry(t.into_owned()).or_default() += 1;
                }
            }
            assert_eq!(w.statistics.n, counts.values().sum::<u64>(), "window {}", w.index);
            let direct = psi_categorical(proportions, &counts).unwrap();
            let got = w.statistics.psi().unwrap();
            assert!((got - direct).abs() < 1e-12, "window {}: {got} vs {direct}", w.index);
            assert!(w.statistics.ks_d().is_none(), "no KS on categories");
        }
        let _ = std::fs::remove_dir_all(dir);
    }
}

/// The shipped `main.hf` rules on clean data and on real drift, through the binary: 2,000,000
/// undrifted generated events raise no alert (its KS rule fires at p < 1e-7, which bounds the
/// false alarms by 1e-7 per window), and a ×1.2 income shift still alerts within two windows
/// (two slides of 1,000 events) of its start, and never before it.
#[test]
fn the_shipped_rules_stay_quiet_on_clean_data_and_catch_a_shift_within_two_windows() {
    let dir = temp_dir("false-alarms");
    let file = pipeline_in(&dir);
    let bin = env!("CARGO_BIN_EXE_housing-flow");
    let clean = std::process::Command::new(bin)
        .current_dir(&dir)
        .args(["bench", file.to_str().unwrap(), "--workers", "2", "--events", "2000000"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&clean.stderr);
    assert!(clean.status.success(), "{stderr}");
    let alerts: Vec<&str> = stderr.lines().filter(|l| l.contains("ALERT")).collect();
    assert!(alerts.is_empty(), "{} alert(s) on clean data, e.g. {:?}", alerts.len(), alerts.first());

    let shift_at = 200_000u64;
    let shifted = std::process::Command::new(bin)
        .current_dir(&dir)
        .args(["run", file.to_str().unwrap(), "--workers", "2", "--events", "300000", "--port", "0"])
        .args(["--shift", &format!("Avg_Area_Income*1.2@{shift_at}")])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&shifted.stderr);
    assert!(shifted.status.success(), "{stderr}");
    // `ALERT income_drift: ... on window N (START..END, n ...)`
    let first_end = stderr
        .lines()
        .filter(|l| l.contains("ALERT income_drift"))
        .filter_map(|l| l.split(" (").nth(1)?.split("..").nth(1)?.split(',').next()?.trim().parse::<u64>().ok())
        .min()
        .unwrap_or_else(|| panic!("no income alert after the shift:\n{stderr}"));
    assert!(first_end > shift_at, "an alert on a window ending at {first_end}, before the shift at {shift_at}");
    assert!(
        first_end <= shift_at + 2 * 1_000,
        "first alert on the window ending at {first_end}: later than two slides"
    );
    let _ = std::fs::remove_dir_all(dir);
}
