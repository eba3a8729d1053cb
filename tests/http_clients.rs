//! Third-party clients against the real binary: `openapi-spec-validator` on the served OpenAPI
//! document, `schemathesis` generating requests from it (every check), and MLflow's own
//! scoring client (`ScoringServerClient`) on `/ping`, `/version` and `/invocations`.
//!
//! The clients live in the virtualenv `make deps` builds from `tests/python/requirements.txt`
//! (`$HF_PYTHON_ENV`, by default `~/.cache/housing-flow/venv`).

mod common;

use common::mlflow::python_bin;
use common::{quick_main, request, root, temp_dir, Running, TempDir};
use std::process::Command;

/// `main.hf` (quick to train) running and serving on a free port.
fn serving(name: &str) -> (Running, String, TempDir) {
    let dir = temp_dir(name);
    std::fs::write(dir.join("main.hf"), quick_main()).unwrap();
    let mut run = Running::start(&dir, &["run", "main.hf", "--port", "0"]);
    let addr = run.http_addr();
    (run, addr, dir)
}

/// Runs a client; its output when it succeeds, a panic with everything it printed otherwise.
fn client(command: &mut Command) -> String {
    let out = command.output().unwrap_or_else(|e| panic!("cannot start {command:?}: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{command:?} failed ({}):\n{stdout}\n{stderr}", out.status);
    stdout
}

#[test]
fn the_openapi_document_is_valid_and_schemathesis_finds_no_failure() {
    let bin = python_bin();
    let (_run, addr, dir) = serving("schemathesis");
    let (status, doc) = request(&addr, "GET", "/openapi.json", None, "");
    assert_eq!(status, 200);
    let path = dir.join("openapi.json");
    std::fs::write(&path, &doc).unwrap();
    let out = client(Command::new(bin.join("openapi-spec-validator")).arg(&path));
    assert!(out.contains("OK"), "{out}");

    // Every check on every route but `/invocations`. There, requests the document cannot
    // fully describe are refused by design (JSON Schema 3.0 cannot say "one value per column"
    // of a `dataframe_split` row, "the required columns among any others", or anything about
    // a CSV body), so `positive_data_acceptance` is the one check left out; every other check,
    // negative data included, runs on it too.
    let url = format!("http://{addr}/openapi.json");
    let runs: [&[&str]; 2] = [
        &["--exclude-path", "/invocations"],
        &["--include-path", "/invocations", "--exclude-checks", "positive_data_acceptance"],
    ];
    for scope in runs {
        let out = client(
            Command::new(bin.join("schemathesis"))
                .current_dir(&dir)
                .args(["run", &url, "--checks", "all", "--max-examples", "100", "--seed", "7", "--no-color"])
                .args(scope),
        );
        assert!(out.contains("No issues found") || out.contains("passed"), "{scope:?}:\n{out}");
        assert!(!out.contains("failures"), "{scope:?}:\n{out}");
    }
}

#[test]
fn mlflow_s_scoring_client_gets_the_predictions_of_predict_batch() {
    let bin = python_bin();
    let (_run, addr, dir) = serving("mlflow-client");
    let rows = serde_json::json!([
        {"Avg_Area_Income": 79545.46, "Avg_Area_House_Age": 5.68, "Avg_Area_Number_of_Rooms": 7.01,
         "Avg_Area_Number_of_Bedrooms": 4.09, "Area_Population": 23086.8},
        {"Avg_Area_Income": 61287.07, "Avg_Area_House_Age": 5.87, "Avg_Area_Number_of_Rooms": 8.51,
         "Avg_Area_Number_of_Bedrooms": 5.13, "Area_Population": 36882.16},
        {"Avg_Area_Income": 63345.24, "Avg_Area_House_Age": 7.19, "Avg_Area_Number_of_Rooms": 5.59,
         "Avg_Area_Number_of_Bedrooms": 3.26, "Area_Population": 34310.24},
    ]);
    let (status, batch) = request(&addr, "POST", "/predict/batch", Some("application/json"), &rows.to_string());
    assert_eq!(status, 200, "{batch}");
    let batch: Vec<serde_json::Value> = serde_json::from_str(&batch).unwrap();
    let expected: Vec<f64> = batch.iter().map(|a| a["estimated_price"].as_f64().unwrap()).collect();
    assert!(expected[0] != expected[1]);

    let rows_path = dir.join("rows.json");
    std::fs::write(&rows_path, rows.to_string()).unwrap();
    let (host, port) = addr.rsplit_once(':').unwrap();
    let out = client(
        Command::new(bin.join("python"))
            .arg(root().join("tests/python/mlflow_client.py"))
            .args([host, port])
            .arg(&rows_path),
    );
    let got: serde_json::Value = serde_json::from_str(out.trim()).unwrap_or_else(|e| panic!("{e}: {out}"));
    assert_eq!(got["version"], env!("CARGO_PKG_VERSION"));
    for key in ["plain", "with_params", "with_extra_column"] {
        let predictions: Vec<f64> = serde_json::from_value(got[key].clone()).unwrap();
        assert_eq!(predictions, expected, "{key}");
    }
}
