//! The real binary serving HTTP while it streams: the seed request of the original design
//! over a real socket, its answer equal bit for bit to the stream's prediction of the same
//! row, drift, metrics and SLOs read from the running process.

mod common;

use common::{eventually, quick_main, request, root, temp_dir, Running};
use housing_flow::check::check_file;
use housing_flow::data::generator::Generator;
use housing_flow::data::Value;
use std::collections::BTreeSet;
use std::time::Duration;

const SEED_BODY: &str = r#"{
  "Avg_Area_Income": 65000, "Avg_Area_House_Age": 7.5, "Avg_Area_Number_of_Rooms": 6.0,
  "Avg_Area_Number_of_Bedrooms": 3.0, "Area_Population": 42000, "Address": "123 Main St, Austin, TX 78701"}"#;

/// The JSON object in a body.
fn json_of(body: &str) -> serde_json::Value {
    serde_json::from_str(body.trim()).unwrap_or_else(|e| panic!("not JSON ({e}): {body}"))
}

/// Generated event `id` of `main.hf`'s source (seed 42) as a `/predict` body: the
/// generator is deterministic, so this is exactly the row the stream predicted.
fn body_of_stream_event(id: u64) -> String {
    let checked = check_file(&root().join("pipelines/main.hf")).unwrap();
    let program = checked.program.expect("main.hf checks");
    let schema = &program.schemas[0];
    let event = Generator::new(schema, 42).unwrap().event(id);
    let mut body = serde_json::Map::new();
    for (field, value) in schema.fields.iter().zip(&event.values) {
        let v = match value {
            Value::Num(x) => serde_json::json!(x),
            Value::Text(t) => serde_json::json!(t),
            _ => continue,
        };
        if field.name != "Price" {
            body.insert(field.name.clone(), v);
        }
    }
    serde_json::Value::Object(body).to_string()
}

#[test]
fn the_seed_request_is_answered_while_the_pipeline_streams() {
    let dir = temp_dir("http");
    std::fs::write(dir.join("main.hf"), quick_main()).unwrap();
    let mut run = Running::start(&dir, &["run", "main.hf", "--port", "0"]);
    let addr = run.http_addr();

    // The seed request: the answer has exactly the keys PRODUCT.md lists.
    let (status, body) = request(&addr, "POST", "/predict", Some("application/json"), SEED_BODY);
    assert_eq!(status, 200, "{body}");
    let answer = json_of(&body);
    let keys: BTreeSet<&str> = answer.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys, BTreeSet::from(["estimated_price", "interval", "model_version", "id"]), "{answer}");
    let interval = answer["interval"].as_array().unwrap();
    assert!(interval[0].as_f64().unwrap() <= interval[1].as_f64().unwrap());
    assert_eq!(answer["model_version"], 1);

    // A row the stream predicted, sent to /predict, gets the same estimate and interval, bit
    // for bit, from the same model version.
    let stream: serde_json::Value = eventually("stream predictions", Duration::from_secs(30), || {
        let (status, body) = request(&addr, "GET", "/predictions?limit=5", None, "");
        let v = json_of(&body);
        (status == 200 && v.as_array().is_some_and(|a| a.len() == 5)).then_some(v)
    });
    for p in stream.as_array().unwrap() {
        let id = p["id"].as_u64().unwrap();
        let (status, body) = request(&addr, "POST", "/predict", Some("application/json"), &body_of_stream_event(id));
        assert_eq!(status, 200, "{body}");
        let http = json_of(&body);
        assert_eq!(http["model_version"], p["model_version"], "event {id}: {http} vs {p}");
        let bits = |v: &serde_json::Value| v.as_f64().unwrap().to_bits();
        assert_eq!(bits(&http["estimated_price"]), bits(&p["estimated_price"]), "event {id}: {http} vs {p}");
        assert_eq!(bits(&http["interval"][0]), bits(&p["interval"][0]), "event {id}");
        assert_eq!(bits(&http["interval"][1]), bits(&p["interval"][1]), "event {id}");
    }

    let (status, body) = request(&addr, "POST", "/predict", Some("application/json"), r#"{"Avg_Area_Income": "lots"}"#);
    assert_eq!(status, 422, "{body}");
    assert_eq!(json_of(&body)["field"], "Avg_Area_Income");

    let (status, _) = request(&addr, "GET", "/healthz", None, "");
    assert_eq!(status, 200);

    // The drift monitors report their windows while the stream runs (one per 1,000 events).
    let drift = eventually("two drift windows", Duration::from_secs(30), || {
        let (status, body) = request(&addr, "GET", "/drift", None, "");
        let d = json_of(&body);
        (status == 200 && d["drifts"][0]["windows"].as_u64().unwrap_or(0) >= 2).then_some(d)
    });
    let income = &drift["drifts"][0];
    assert_eq!(income["name"], "income_drift", "{drift}");
    assert!(income["last"]["n"].as_u64().unwrap() > 0, "{drift}");
    assert!(income["last"]["psi"].as_f64().is_some(), "{drift}");
    assert_eq!(income["rule_state"].as_array().map(Vec::len), Some(2), "{drift}");

    // Metrics cover the stream, the HTTP requests made above, and the SLO once evaluated.
    let metrics = eventually("an evaluated SLO in /metrics", Duration::from_secs(30), || {
        let (_, m) = request(&addr, "GET", "/metrics", None, "");
        m.contains("housing_flow_slo_violated{").then_some(m)
    });
    let value = |name: &str| -> f64 {
        metrics
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().last())
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no `{name}` in\n{metrics}"))
    };
    assert!(value("housing_flow_events_in_total") > 0.0, "{metrics}");
    assert!(metrics.contains("housing_flow_http_requests_total{"), "{metrics}");
    assert!(metrics.contains("housing_flow_drift_psi{drift=\"income_drift\"}"), "{metrics}");
    assert_eq!(value("housing_flow_workers"), 1.0);
    // `slo p99(latency) < 50ms`: the objective, the measured p99 (well under 50 ms at 20k/s), met.
    assert_eq!(value("housing_flow_slo_objective{slo=\"p99(latency) < 50ms\""), 50.0, "{metrics}");
    let p99 = value("housing_flow_slo_value{slo=\"p99(latency) < 50ms\"");
    assert!(p99 > 0.0 && p99 < 50.0, "{metrics}");
    assert_eq!(value("housing_flow_slo_violated{slo=\"p99(latency) < 50ms\""), 0.0, "{metrics}");

    // Ctrl-C ends the run cleanly with a summary that accounts for every event.
    run.signal("INT");
    let status = run.wait(Duration::from_secs(30));
    assert!(status.success(), "{}", run.stderr());
    let summary = run.stdout();
    assert!(summary.contains("events in = predictions + dead letters"), "{summary}");
    assert!(summary.contains("slo `p99(latency) < 50ms`: met"), "{summary}");
    let _ = std::fs::remove_dir_all(dir);
}
