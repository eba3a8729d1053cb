//! The MLflow registry backend against a real tracking server (`mlflow server` from the test
//! virtualenv, sqlite backend, proxied artifacts) and MLflow's own Python client:
//!
//! - `train` logs a run (parameters, holdout metrics, the data hash, the model as artifacts) and
//!   registers versions with aliases; `run` serves `production` and follows the alias when
//!   Python moves it; `models rollback` moves it back and tags why; a server that goes away
//!   leaves the last version serving and `/readyz` degraded.
//! - `mlflow.pyfunc.load_model("models:/NAME@production")` predicts what housing-flow predicts.
//! - A LightGBM model logged by Python with `mlflow.lightgbm.log_model` is served by `run`.
//!
//! `HF_NO_MLFLOW=1` skips these tests, saying so.

mod common;

use common::mlflow::{skipped, Mlflow};
use common::{eventually, quick_main, request, root, run_to_end, temp_dir, Running};
use housing_flow::check::check_file;
use housing_flow::data::generator::Generator;
use housing_flow::model::serving::ServingModel;
use housing_flow::plan::lower;
use housing_flow::registry::MlflowRegistry;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

fn script() -> PathBuf {
    root().join("tests/python/mlflow_registry.py")
}

/// `main.hf`, quick to train, keeping its models in MLflow as `name`.
fn mlflow_main(url: &str, name: &str) -> String {
    let text = quick_main().replace(
        "registry:  \"models\"",
        &format!("registry:  mlflow(\"{url}\", name: \"{name}\", experiment: \"hf-test\")"),
    );
    assert!(text.contains("mlflow("), "main.hf's registry line moved");
    text
}

fn describe(server: &Mlflow, name: &str) -> Value {
    serde_json::from_str(&server.python(&script(), &["describe", name])).expect("describe prints JSON")
}

fn get_json(addr: &str, path: &str) -> Value {
    let (status, body) = request(addr, "GET", path, None, "");
    assert_eq!(status, 200, "GET {path}: {body}");
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("GET {path} is not JSON ({e}): {body}"))
}

#[test]
fn train_logs_runs_and_run_follows_the_production_alias() {
    if skipped("train_logs_runs_and_run_follows_the_production_alias") {
        return;
    }
    let dir = temp_dir("mlflow-e2e");
    let mut server = Mlflow::start(&dir.join("mlflow"));
    std::fs::write(dir.join("main.hf"), mlflow_main(&server.url, "housing_price")).unwrap();

    // The first version: a run in the experiment, a model version, both aliases.
    let (code, out, err) = run_to_end(&dir, &["train", "main.hf"], Duration::from_secs(300));
    assert_eq!(code, 0, "train failed:\n{out}\n{err}\n{}", server.log());
    assert!(out.contains(&format!("registered housing_price v1 in {} (production)", server.url)), "{out}");
    let (code, meta, err) = run_to_end(
        &dir,
        &["models", "--registry", &server.url, "show", "housing_price", "1", "--json"],
        Duration::from_secs(60),
    );
    assert_eq!(code, 0, "{err}");
    let meta: Value = serde_json::from_str(&meta).unwrap();

    let d = describe(&server, "housing_price");
    assert_eq!(d["aliases"], json!({"production": 1, "candidate": 1}), "{d}");
    let v1 = &d["versions"][0];
    let run = &v1["run"];
    assert_eq!(run["experiment"], "hf-test");
    assert_eq!(run["status"], "FINISHED");
    assert_eq!(run["params"]["num_leaves"], "2", "LightGBM's parameters are the run's: {run}");
    assert_eq!(run["params"]["housing_flow.label"], "Price");
    assert_eq!(
        run["params"]["housing_flow.features"],
        "income,house_age,rooms,bedrooms,population,rooms_per_bed,state"
    );
    let r2 = run["metrics"]["holdout_r2"].as_f64().expect("holdout_r2 is logged");
    assert_eq!(r2, meta["metrics"]["r2"].as_f64().unwrap(), "the logged metric is meta.json's");
    assert_eq!(run["tags"]["housing_flow.data_hash"], meta["training"]["data_hash"]);
    let sha = v1["tags"]["housing_flow.meta_sha256"].as_str().expect("the version carries its meta checksum");
    assert_eq!(sha.len(), 64);
    let artifacts: Vec<&str> = run["artifacts"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
    for file in [
        "model/MLmodel",
        "model/model.txt",
        "model/meta.json",
        "model/q0.1.txt",
        "model/q0.9.txt",
        "model/requirements.txt",
    ] {
        assert!(artifacts.contains(&file), "{file} missing from the run's artifacts {artifacts:?}");
    }

    // A second version is only the candidate.
    let (code, out, err) = run_to_end(&dir, &["train", "main.hf"], Duration::from_secs(300));
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("registered housing_price v2") && out.contains("candidate; production is v1"), "{out}");
    let (code, listed, err) = run_to_end(&dir, &["models", "--registry", &server.url, "list"], Duration::from_secs(60));
    assert_eq!(code, 0, "{err}");
    let row = listed.lines().find(|l| l.starts_with("housing_price")).unwrap_or_else(|| panic!("{listed}"));
    assert_eq!(row.split_whitespace().collect::<Vec<_>>(), ["housing_price", "2", "2", "1", "2"], "{listed}");

    // `run` serves production and follows the alias when someone moves it.
    let mut running = Running::start(&dir, &["run", "main.hf", "--port", "0"]);
    let addr = running.http_addr();
    assert_eq!(get_json(&addr, "/readyz")["model_version"], 1);
    server.python(&script(), &["set-alias", "housing_price", "production", "2"]);
    eventually("the stream predicts with v2", Duration::from_secs(15), || {
        let recent = get_json(&addr, "/predictions?limit=1");
        (recent[0]["model_version"] == 2).then_some(())
    });
    assert_eq!(get_json(&addr, "/readyz")["status"], "ready");

    // Rollback moves the alias back, tags why, and the running pipeline follows.
    let (code, out, err) = run_to_end(
        &dir,
        &["models", "--registry", &server.url, "rollback", "housing_price", "--reason", "v2 overprices lofts"],
        Duration::from_secs(60),
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("production 2 → 1"), "{out}");
    let d = describe(&server, "housing_price");
    assert_eq!(d["aliases"]["production"], 1);
    assert_eq!(d["versions"][1]["tags"]["housing_flow.rolled_back"], "v2 overprices lofts");
    let history: Vec<Value> = serde_json::from_str(d["tags"]["housing_flow.history"].as_str().unwrap()).unwrap();
    let actions: Vec<&str> = history.iter().filter_map(|h| h["action"].as_str()).collect();
    assert_eq!(actions, ["initial", "rollback"], "{history:?}");
    eventually("run follows the rollback", Duration::from_secs(15), || {
        (get_json(&addr, "/readyz")["model_version"] == 1).then_some(())
    });

    // How long from an alias move (one REST call, as the MLflow client makes it) to the first
    // stream prediction by the new version; printed for the README, bounded only loosely here.
    let server_addr = server.url.trim_start_matches("http://").to_string();
    for (i, to) in [2, 1, 2, 1, 2].into_iter().enumerate() {
        let body = json!({"name": "housing_price", "alias": "production", "version": to.to_string()}).to_string();
        let moved = Instant::now();
        let (status, answer) =
            request(&server_addr, "POST", "/api/2.0/mlflow/registered-models/alias", Some("application/json"), &body);
        assert_eq!(status, 200, "{answer}");
        eventually("the stream follows the alias", Duration::from_secs(15), || {
            (get_json(&addr, "/predictions?limit=1")[0]["model_version"] == to).then_some(())
        });
        eprintln!("alias move {i}: → v{to}, first stream prediction after {:.3} s", moved.elapsed().as_secs_f64());
    }

    // The server goes away: the last version keeps serving, /readyz says degraded.
    server.stop();
    let ready = eventually("/readyz degrades", Duration::from_secs(15), || {
        let r = get_json(&addr, "/readyz");
        (r["status"] == "degraded").then_some(r)
    });
    assert!(ready["reason"].as_str().unwrap().contains(&server.url), "{ready}");
    let body = r#"{"Avg_Area_Income": 65000, "Avg_Area_House_Age": 7.5, "Avg_Area_Number_of_Rooms": 6.0,
                   "Avg_Area_Number_of_Bedrooms": 3.0, "Area_Population": 35000}"#;
    let (status, answer) = request(&addr, "POST", "/predict", Some("application/json"), body);
    assert_eq!(status, 200, "{answer}");
    assert!(answer.contains("\"model_version\":2"), "{answer}");
    let metrics = request(&addr, "GET", "/metrics", None, "").1;
    assert!(metrics.contains("housing_flow_registry_up 0"), "registry_up is not 0");
    std::thread::sleep(Duration::from_secs(2));
    let stderr = running.stderr();
    assert_eq!(stderr.matches("the model registry does not answer").count(), 1, "one warning per outage:\n{stderr}");
}

#[test]
fn pyfunc_predicts_what_housing_flow_predicts() {
    if skipped("pyfunc_predicts_what_housing_flow_predicts") {
        return;
    }
    let dir = temp_dir("mlflow-pyfunc");
    let server = Mlflow::start(&dir.join("mlflow"));
    std::fs::write(dir.join("main.hf"), mlflow_main(&server.url, "parity")).unwrap();
    let (code, out, err) = run_to_end(&dir, &["train", "main.hf"], Duration::from_secs(300));
    assert_eq!(code, 0, "train failed:\n{out}\n{err}");

    // housing-flow's side: the version loaded back from MLflow, scoring generated houses.
    let checked = check_file(&dir.join("main.hf")).unwrap();
    let plan = lower(&checked.program.unwrap(), 1).models.remove(0);
    let registry = MlflowRegistry::new(&server.url, "hf-test").unwrap();
    let serving = ServingModel::production(&registry, "parity", &plan.features, plan.model.predictor).unwrap();
    let events = Generator::new(&plan.schema, 99).unwrap().rows(500);
    let rows = serving.rows(events.iter().map(|e| e.values.as_slice()));
    let ours: Vec<f64> = serving.predict_rows(&rows).unwrap().iter().map(|p| p.estimate).collect();

    // Python's side: MLflow loads the same alias as a pyfunc model and scores the same feature rows.
    let width = serving.features.len();
    let data: Vec<&[f64]> = rows.chunks(width).collect();
    let rows_file = dir.join("rows.json");
    std::fs::write(&rows_file, json!({"columns": serving.features.names, "data": data}).to_string()).unwrap();
    let theirs: Vec<f64> = serde_json::from_str(
        &server.python(&script(), &["predict", "models:/parity@production", rows_file.to_str().unwrap()]),
    )
    .unwrap();
    assert_eq!(theirs.len(), ours.len());
    let worst = ours.iter().zip(&theirs).map(|(a, b)| ((a - b) / a.abs().max(1.0)).abs()).fold(0.0, f64::max);
    assert!(worst <= 1e-9, "pyfunc and housing-flow differ by up to {worst:e} (relative)");
    let spread =
        ours.iter().cloned().fold(f64::NEG_INFINITY, f64::max) - ours.iter().cloned().fold(f64::INFINITY, f64::min);
    assert!(spread > 1e5, "the houses should get different prices (spread {spread})");
}

/// A features block computing the schema's numeric fields under other names, in an order
/// different from the one the Python user trained on.
const PYTHON_MODEL_PIPELINE: &str = r#"
schema housing {
  Avg_Area_Income:             f64  in 0 .. 10_000_000
  Avg_Area_House_Age:          f64  in 0 .. 200
  Avg_Area_Number_of_Rooms:    f64  in 0 .. 100
  Avg_Area_Number_of_Bedrooms: f64  in 0 .. 100
  Area_Population:             f64  in 0 .. 100_000_000
  Address:                     str?
  Price:                       f64?
}
source raw = generate(housing, rate: 200/s, seed: 3)
features numeric from housing {
  rooms      = Avg_Area_Number_of_Rooms
  income     = Avg_Area_Income
  house_age  = Avg_Area_House_Age
  bedrooms   = Avg_Area_Number_of_Bedrooms
  population = Area_Population
}
model price = lightgbm(numeric, label: Price) {
  registry: mlflow("URL", name: "python_price")
}
sink predictions = memory(keep: 1_000)
serve http(port: 0)
"#;

#[test]
fn a_lightgbm_model_logged_by_python_is_served() {
    if skipped("a_lightgbm_model_logged_by_python_is_served") {
        return;
    }
    let dir = temp_dir("mlflow-python-model");
    let server = Mlflow::start(&dir.join("mlflow"));
    // The Python user's training data: generated houses, their own column order.
    let checked = check_file(&root().join("pipelines/main.hf")).unwrap();
    let schema = lower(&checked.program.unwrap(), 1).models.remove(0).schema;
    let field = |name: &str| schema.fields.iter().position(|f| f.name == name).unwrap();
    let columns = ["income", "house_age", "rooms", "bedrooms", "population"];
    let fields = [
        "Avg_Area_Income",
        "Avg_Area_House_Age",
        "Avg_Area_Number_of_Rooms",
        "Avg_Area_Number_of_Bedrooms",
        "Area_Population",
    ];
    let number = |v: &housing_flow::data::Value| v.as_f64().unwrap_or_else(|| panic!("not a number: {v:?}"));
    let train: Vec<Vec<f64>> = Generator::new(&schema, 5)
        .unwrap()
        .rows(3_000)
        .iter()
        .map(|e| {
            let mut row: Vec<f64> = fields.iter().map(|f| number(&e.values[field(f)])).collect();
            row.push(number(&e.values[field("Price")]));
            row
        })
        .collect();
    let mut train_columns: Vec<&str> = columns.to_vec();
    train_columns.push("label");
    let train_file = dir.join("train.json");
    std::fs::write(&train_file, json!({"columns": train_columns, "data": train}).to_string()).unwrap();
    let version = server.python(&script(), &["log-lightgbm", "python_price", train_file.to_str().unwrap()]);
    // MLflow prints links to the run first; the script's answer is the last line.
    assert_eq!(version.lines().last(), Some("1"), "{version}");

    // housing-flow serves it; its predictions are Python's on the same houses.
    std::fs::write(dir.join("py.hf"), PYTHON_MODEL_PIPELINE.replace("URL", &server.url)).unwrap();
    let mut running = Running::start(&dir, &["run", "py.hf", "--port", "0"]);
    let addr = running.http_addr();
    let houses: Vec<Value> = Generator::new(&schema, 77)
        .unwrap()
        .rows(50)
        .iter()
        .map(|e| {
            let mut house = serde_json::Map::new();
            for f in fields {
                house.insert(f.to_string(), json!(number(&e.values[field(f)])));
            }
            Value::Object(house)
        })
        .collect();
    let (status, body) =
        request(&addr, "POST", "/predict/batch", Some("application/json"), &Value::Array(houses.clone()).to_string());
    assert_eq!(status, 200, "{body}");
    let ours: Vec<f64> = serde_json::from_str::<Vec<Value>>(&body)
        .unwrap()
        .iter()
        .map(|a| a["estimated_price"].as_f64().unwrap())
        .collect();
    let data: Vec<Vec<f64>> = houses.iter().map(|h| fields.iter().map(|f| h[*f].as_f64().unwrap()).collect()).collect();
    let rows_file = dir.join("rows.json");
    std::fs::write(&rows_file, json!({"columns": columns, "data": data}).to_string()).unwrap();
    let theirs: Vec<f64> = serde_json::from_str(
        &server.python(&script(), &["predict", "models:/python_price@production", rows_file.to_str().unwrap()]),
    )
    .unwrap();
    assert_eq!(ours.len(), theirs.len());
    for (i, (a, b)) in ours.iter().zip(&theirs).enumerate() {
        assert!(((a - b) / b.abs().max(1.0)).abs() <= 1e-9, "house {i}: housing-flow {a}, pyfunc {b}");
    }
    drop(running);

    // A features block that lacks the model's features is refused, naming them.
    let missing = PYTHON_MODEL_PIPELINE.replace("URL", &server.url).replace("  population = Area_Population\n", "");
    std::fs::write(dir.join("missing.hf"), missing).unwrap();
    let (code, _, err) = run_to_end(&dir, &["run", "missing.hf", "--events", "10"], Duration::from_secs(60));
    assert_ne!(code, 0);
    assert!(err.contains("[population]") && err.contains("does not compute"), "{err}");
}

#[test]
fn an_unreachable_server_fails_train_before_training() {
    if skipped("an_unreachable_server_fails_train_before_training") {
        return;
    }
    let dir = temp_dir("mlflow-unreachable");
    let port = common::kafka::free_port();
    let url = format!("http://127.0.0.1:{port}");
    std::fs::write(dir.join("main.hf"), mlflow_main(&url, "housing_price")).unwrap();
    let (code, out, err) = run_to_end(&dir, &["train", "main.hf"], Duration::from_secs(60));
    assert_ne!(code, 0, "{out}");
    assert!(err.contains(&url) && err.contains("mlflow server"), "{err}");
    assert!(!err.contains("training on"), "it trained first:\n{err}");
    let (code, _, err) = run_to_end(&dir, &["run", "main.hf", "--events", "100"], Duration::from_secs(60));
    assert_ne!(code, 0);
    assert!(err.contains(&url) && !err.contains("training one first"), "{err}");
    assert!(!Path::new(&dir.join("models")).exists());
}

/// The `model/` artifact folder of version `version` under the server's artifact root.
fn artifact_folder(artifacts: &Path, version: u64) -> PathBuf {
    let mut stack = vec![artifacts.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.file_name().is_some_and(|n| n == "meta.json") {
                let meta: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
                if meta["version"] == version {
                    return path.parent().unwrap().to_path_buf();
                }
            }
        }
    }
    panic!("no meta.json of version {version} under {}", artifacts.display())
}

#[test]
fn a_version_whose_artifacts_fail_their_checksums_is_never_served() {
    if skipped("a_version_whose_artifacts_fail_their_checksums_is_never_served") {
        return;
    }
    let dir = temp_dir("mlflow-corrupt");
    let server = Mlflow::start(&dir.join("mlflow"));
    std::fs::write(dir.join("main.hf"), mlflow_main(&server.url, "housing_price")).unwrap();
    for _ in 0..3 {
        let (code, _, err) = run_to_end(&dir, &["train", "main.hf"], Duration::from_secs(300));
        assert_eq!(code, 0, "{err}");
    }
    let artifacts = dir.join("mlflow/artifacts");
    // v2: one byte of a quantile model changed; v3: meta.json rewritten (its tag no longer matches).
    let q = artifact_folder(&artifacts, 2).join("q0.9.txt");
    let mut bytes = std::fs::read(&q).unwrap();
    let last = bytes.len() - 2;
    bytes[last] ^= 1;
    std::fs::write(&q, bytes).unwrap();
    let meta_path = artifact_folder(&artifacts, 3).join("meta.json");
    let text = std::fs::read_to_string(&meta_path).unwrap().replace("\"label\": \"Price\"", "\"label\": \"price\"");
    std::fs::write(&meta_path, text).unwrap();

    for (version, file) in [("2", "q0.9.txt"), ("3", "meta.json")] {
        let (code, out, err) = run_to_end(
            &dir,
            &["models", "--registry", &server.url, "promote", "housing_price", version],
            Duration::from_secs(60),
        );
        assert_ne!(code, 0, "a corrupt version was promoted: {out}");
        assert!(err.contains("refusing to promote") && err.contains(file), "{err}");
        let (code, out, _) = run_to_end(
            &dir,
            &["models", "--registry", &server.url, "show", "housing_price", version],
            Duration::from_secs(60),
        );
        assert_eq!(code, 1);
        assert!(out.contains(&format!("CORRUPT: {file}")), "{out}");
    }
    assert_eq!(describe(&server, "housing_price")["aliases"]["production"], 1);

    // Someone points the alias at a corrupt version anyway: the running pipeline keeps v1.
    let mut running = Running::start(&dir, &["run", "main.hf", "--port", "0"]);
    let addr = running.http_addr();
    server.python(&script(), &["set-alias", "housing_price", "production", "2"]);
    running.wait_for_line("cannot load the new production version", Duration::from_secs(15));
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(get_json(&addr, "/readyz")["model_version"], 1);
    assert_eq!(get_json(&addr, "/predictions?limit=1")[0]["model_version"], 1);
    let stderr = running.stderr();
    assert_eq!(stderr.matches("cannot load the new production version").count(), 1, "logged once:\n{stderr}");
    assert!(stderr.contains("q0.9.txt"), "{stderr}");
}
