//! `housing-flow load` on the real binary against a real server (`housing-flow run`): open-model
//! requests on schedule, every answer counted by its status, the seconds written as JSON, and a
//! bad URL refused before anything is sent.

mod common;

use common::{quick_main, run_to_end, temp_dir, Running};
use serde_json::Value;
use std::time::Duration;

fn rows(path: &std::path::Path) -> Vec<Value> {
    serde_json::from_slice::<Vec<Value>>(&std::fs::read(path).unwrap()).unwrap()
}

fn sum(rows: &[Value], key: &str) -> u64 {
    rows.iter().map(|r| r[key].as_u64().unwrap()).sum()
}

#[test]
fn load_sends_on_schedule_and_counts_every_answer() {
    let dir = temp_dir("load");
    std::fs::write(dir.join("main.hf"), quick_main()).unwrap();
    let mut server = Running::start(&dir, &["run", "main.hf", "--port", "0"]);
    let addr = server.http_addr();

    let url = format!("http://{addr}/predict");
    let (code, out, err) = run_to_end(
        &dir,
        &["load", &url, "--rate", "2k", "--seconds", "2", "--json", "ok.json"],
        Duration::from_secs(60),
    );
    assert_eq!(code, 0, "{out}\n{err}");
    let ok = rows(&dir.join("ok.json"));
    assert_eq!(ok.len(), 2, "one row a second: {ok:?}");
    let sent = sum(&ok, "sent");
    assert!((3_900..=4_000).contains(&sent), "2 s at 2k/s sent {sent}");
    assert_eq!(sum(&ok, "ok"), sent, "every request answered 2xx: {ok:?}");
    assert_eq!(sum(&ok, "dropped") + sum(&ok, "errors"), 0);
    assert!(out.contains("requests/s answered"), "{out}");

    // A route the server does not have: every answer is a failure, none a success.
    let url = format!("http://{addr}/nope");
    let (code, out, err) = run_to_end(
        &dir,
        &["load", &url, "--rate", "500", "--seconds", "1", "--json", "missing.json"],
        Duration::from_secs(60),
    );
    assert_eq!(code, 0, "{out}\n{err}");
    let missing = rows(&dir.join("missing.json"));
    assert_eq!(sum(&missing, "ok"), 0);
    assert_eq!(sum(&missing, "errors"), sum(&missing, "sent"));
    assert!(sum(&missing, "sent") > 450);

    // Bad URLs and rates are refused with a reason.
    let (code, _, err) = run_to_end(&dir, &["load", "ftp://x/predict", "--rate", "10"], Duration::from_secs(20));
    assert_ne!(code, 0);
    assert!(err.contains("only http://"), "{err}");
    let (code, _, err) = run_to_end(&dir, &["load", &url, "--rate", "fast"], Duration::from_secs(20));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("not a rate"), "{err}");
}
