//! `ks(exact)` through the binary: training keeps the reference sample with the version, a run
//! compares every window with all of it and alerts only once a shift has entered the window,
//! and a version without the sample is refused before anything runs.

mod common;

use common::{quick_main, run_to_end, temp_dir, TempDir};
use std::time::Duration;

const SHIFT_AT: u64 = 30_000;

/// `main.hf` with an exact KS rule on the income drift, unpaced, and an alerts file.
fn project() -> TempDir {
    let dir = temp_dir("drift-exact");
    let text = quick_main()
        .replace("rate: 20k/s, ", "")
        .replace("ks(p: 1e-7)         => alert", "ks(exact, p: 1e-7) => alert");
    assert!(text.contains("ks(exact, p: 1e-7)"), "main.hf's KS rule moved");
    std::fs::write(dir.join("main.hf"), format!("{text}sink alerts = file(\"out/alerts.jsonl\") from alerts\n"))
        .unwrap();
    dir
}

#[test]
fn exact_ks_alerts_after_a_shift_and_needs_the_reference_sample() {
    let dir = project();
    let shift = format!("Avg_Area_Income*1.2@{SHIFT_AT}");
    let args = ["run", "main.hf", "--events", "60000", "--workers", "2", "--port", "0", "--shift", &shift];
    let (code, _, stderr) = run_to_end(&dir, &args, Duration::from_secs(300));
    assert_eq!(code, 0, "{stderr}");

    // The version keeps its training values, checksummed like its other files.
    let version = dir.join("models/price/1");
    assert!(
        version.join("reference.bin").metadata().unwrap().len() > 16_000 * 8,
        "every training value of each target"
    );
    let meta: serde_json::Value = serde_json::from_slice(&std::fs::read(version.join("meta.json")).unwrap()).unwrap();
    assert!(meta["checksums"]["reference.bin"].is_string(), "{}", meta["checksums"]);

    let alerts: Vec<serde_json::Value> = std::fs::read_to_string(dir.join("out/alerts.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .filter(|a: &serde_json::Value| a["statistic"] == "ks_p")
        .collect();
    assert!(!alerts.is_empty(), "the shift is caught: {stderr}");
    for a in &alerts {
        assert_eq!(a["rule"], "ks_p(exact) < 0.0000001 => alert", "{a}");
        assert!(a["window"]["end"].as_u64().unwrap() > SHIFT_AT, "no alert before the shift entered: {a}");
    }
    // Within two slides of 1,000 events of the shift.
    let first_end = alerts.iter().map(|a| a["window"]["end"].as_u64().unwrap()).min().unwrap();
    assert!(first_end <= SHIFT_AT + 2_000, "first alert on the window ending at {first_end}");

    // A version without its training values (as one trained before they were kept): refused
    // before the run starts, naming the drift, the target and what to do.
    let predictions = dir.join("out/predictions.jsonl");
    let before = predictions.metadata().unwrap().len();
    std::fs::remove_file(version.join("reference.bin")).unwrap();
    let mut meta = meta;
    meta["checksums"].as_object_mut().unwrap().remove("reference.bin");
    std::fs::write(version.join("meta.json"), serde_json::to_vec_pretty(&meta).unwrap()).unwrap();
    let (code, stdout, stderr) =
        run_to_end(&dir, &["run", "main.hf", "--events", "1000", "--port", "0"], Duration::from_secs(120));
    assert_ne!(code, 0, "{stdout}");
    assert!(
        stderr.contains(
            "drift `income_drift`: `ks(exact)` compares with the training values of `housing.Avg_Area_Income`"
        ) && stderr.contains("retrain it"),
        "{stderr}"
    );
    assert_eq!(predictions.metadata().unwrap().len(), before, "nothing ran");
}
