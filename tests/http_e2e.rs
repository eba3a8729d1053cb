//! The real binary serving HTTP while it streams: the seed request of the original design,
//! byte for byte, over a real socket.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

const SEED_BODY: &str = r#"{
  "Avg_Area_Income": 65000, "Avg_Area_House_Age": 7.5, "Avg_Area_Number_of_Rooms": 6.0,
  "Avg_Area_Number_of_Bedrooms": 3.0, "Area_Population": 42000, "Address": "123 Main St, Austin, TX 78701"}"#;

fn temp_dir() -> PathBuf {
    let d = std::env::temp_dir().join(format!("hf-http-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// One HTTP/1.1 request; returns the status code and the body.
fn request(addr: &str, method: &str, path: &str, content_type: Option<&str>, body: &str) -> (u16, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let ct = content_type.map_or(String::new(), |c| format!("Content-Type: {c}\r\n"));
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\n{ct}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut response = String::new();
    s.read_to_string(&mut response).unwrap();
    let status = response.split_whitespace().nth(1).unwrap().parse().unwrap();
    let body = response.split_once("\r\n\r\n").map_or("", |(_, b)| b).to_string();
    (status, body)
}

/// The JSON object in a (possibly chunked) body.
fn json_of(body: &str) -> serde_json::Value {
    let start = body.find(['{', '[']).expect("a JSON body");
    let end = body.rfind(['}', ']']).unwrap() + 1;
    serde_json::from_str(&body[start..end]).unwrap()
}

#[test]
fn the_seed_request_is_answered_while_the_pipeline_streams() {
    let dir = temp_dir();
    let main = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/pipelines/main.hf")).unwrap();
    std::fs::write(dir.join("main.hf"), main.replace("num_iterations: 300", "num_iterations: 50")).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_housing-flow"))
        .current_dir(&dir)
        .args(["run", "main.hf", "--duration", "20s", "--port", "0"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let addr = loop {
        let line = lines.next().expect("the server announces its address").unwrap();
        if let Some(a) = line.strip_prefix("serving http://") {
            break a.trim().to_string();
        }
    };
    // Keep draining stderr so the child never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});

    let (status, body) = request(&addr, "POST", "/predict", Some("application/json"), SEED_BODY);
    assert_eq!(status, 200, "{body}");
    let answer = json_of(&body);
    let price = answer["estimated_price"].as_f64().unwrap();
    assert!(price > 100_000.0 && price < 3_000_000.0, "{answer}");
    let interval = answer["interval"].as_array().unwrap();
    assert!(interval[0].as_f64().unwrap() <= interval[1].as_f64().unwrap());
    assert_eq!(answer["model_version"], 1);
    assert!(answer["id"].as_u64().is_some());

    let (status, body) = request(&addr, "POST", "/predict", Some("application/json"), r#"{"Avg_Area_Income": "lots"}"#);
    assert_eq!(status, 422, "{body}");
    assert_eq!(json_of(&body)["field"], "Avg_Area_Income");

    // The stream's predictions are queryable while it runs.
    std::thread::sleep(Duration::from_millis(500));
    let (status, body) = request(&addr, "GET", "/predictions?limit=5", None, "");
    assert_eq!(status, 200, "{body}");
    assert_eq!(json_of(&body).as_array().map(Vec::len), Some(5));

    let (status, _) = request(&addr, "GET", "/healthz", None, "");
    assert_eq!(status, 200);

    // The drift monitors report their windows while the stream runs (one per 1,000 events).
    let mut drift = serde_json::Value::Null;
    for _ in 0..50 {
        let (status, body) = request(&addr, "GET", "/drift", None, "");
        assert_eq!(status, 200, "{body}");
        drift = json_of(&body);
        if drift["drifts"][0]["windows"].as_u64().unwrap_or(0) >= 2 {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let income = &drift["drifts"][0];
    assert_eq!(income["name"], "income_drift", "{drift}");
    assert!(income["windows"].as_u64().unwrap() >= 2, "{drift}");
    assert!(income["last"]["n"].as_u64().unwrap() > 0, "{drift}");
    assert!(income["last"]["psi"].as_f64().is_some(), "{drift}");
    assert_eq!(income["rule_state"].as_array().map(Vec::len), Some(2), "{drift}");

    // Metrics cover the stream and the HTTP requests made above.
    let (status, metrics) = request(&addr, "GET", "/metrics", None, "");
    assert_eq!(status, 200);
    let events: f64 = metrics
        .lines()
        .find(|l| l.starts_with("housing_flow_events_in_total"))
        .and_then(|l| l.split_whitespace().last())
        .and_then(|v| v.parse().ok())
        .expect("an events counter");
    assert!(events > 0.0, "{metrics}");
    assert!(metrics.contains("housing_flow_http_requests_total{"), "{metrics}");
    assert!(metrics.contains("housing_flow_drift_psi{drift=\"income_drift\"}"), "{metrics}");
    assert!(metrics.contains("housing_flow_workers 1"), "{metrics}");
    let _ = child.kill();
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(dir);
}
