//! Kafka end to end against a real broker (tansu): `produce` feeds a topic, `run` consumes it
//! and writes predictions and dead letters back; every id produced comes out (after removing
//! the duplicates at-least-once allows) with 1 and 2 workers, across a SIGKILL of the
//! pipeline, across a broker outage, and across two cluster processes; malformed messages
//! reach the dead-letter topic with their reason and bytes.

mod common;

use common::kafka::{free_port, read_topic, Broker};
use common::{quick_main, request, root, run_to_end, temp_dir, Running, TempDir};
use std::collections::BTreeSet;
use std::path::Path;
use std::time::{Duration, Instant};

const RAW: &str = "raw_housing";
const PREDICTIONS: &str = "predictions";
const DLQ: &str = "raw_housing.dlq";

/// A folder with `main.hf` (quick to train) and the shipped `kafka.hf` pointed at `broker`,
/// and the broker's topics created.
fn pipeline(name: &str, broker: impl FnOnce(&Path) -> Broker, partitions: u32) -> (TempDir, Broker) {
    let dir = temp_dir(name);
    let broker = broker(&dir);
    std::fs::write(dir.join("main.hf"), quick_main()).unwrap();
    let kafka = std::fs::read_to_string(root().join("pipelines/kafka.hf"))
        .unwrap()
        .replace(r#"env("KAFKA_BROKERS", "127.0.0.1:9092")"#, &format!("\"{}\"", broker.addr));
    assert!(kafka.contains(&broker.addr), "pipelines/kafka.hf no longer reads KAFKA_BROKERS");
    std::fs::write(dir.join("kafka.hf"), kafka).unwrap();
    broker.create_topic(RAW, partitions);
    broker.create_topic(PREDICTIONS, partitions);
    broker.create_topic(DLQ, 1);
    (dir, broker)
}

/// `housing-flow produce` of `events` generated events; its printed per-partition table.
fn produce(dir: &Path, events: u64) -> String {
    let n = events.to_string();
    let (code, out, err) =
        run_to_end(dir, &["produce", "kafka.hf", "--topic", RAW, "--events", &n], Duration::from_secs(120));
    assert_eq!(code, 0, "produce failed:\n{out}\n{err}");
    assert!(out.contains(&format!("sent {events} events")), "{out}");
    out
}

/// The distinct ids of the predictions topic once it holds at least `want` of them (or the
/// timeout passes), and how many records were read.
fn predicted_ids(addr: &str, want: usize, timeout: Duration) -> (BTreeSet<u64>, usize) {
    let mut ids = BTreeSet::new();
    let started = Instant::now();
    let records = read_topic(addr, PREDICTIONS, timeout, |r| {
        let v: serde_json::Value = serde_json::from_slice(r.value.as_deref().unwrap()).unwrap();
        let id = v["id"].as_u64().unwrap();
        assert_eq!(r.key.as_deref(), Some(id.to_string().as_bytes()), "keyed by event id");
        ids.insert(id);
        ids.len() >= want
    });
    if ids.len() < want {
        eprintln!("read {} records, {} distinct ids of {want}, in {:?}", records.len(), ids.len(), started.elapsed());
    }
    (ids, records.len())
}

fn all_ids(n: u64) -> BTreeSet<u64> {
    (0..n).collect()
}

/// Fails (briefly) unless `ids` are exactly 0..n.
fn assert_ids(ids: &BTreeSet<u64>, n: u64, what: &str) {
    let missing: Vec<u64> = all_ids(n).difference(ids).take(10).copied().collect();
    let extra: Vec<u64> = ids.iter().filter(|i| **i >= n).take(10).copied().collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "{what}: {} distinct ids of {n}; missing e.g. {missing:?}; unexpected e.g. {extra:?}",
        ids.len()
    );
}

#[test]
fn every_produced_id_comes_out_once_with_one_and_two_workers() {
    for workers in ["1", "2"] {
        let (dir, broker) = pipeline(&format!("kafka-exact-{workers}"), Broker::start, 4);
        let table = produce(&dir, 200_000);
        let partitions =
            table.lines().filter(|l| l.trim_start().chars().next().is_some_and(|c| c.is_ascii_digit())).count();
        assert_eq!(partitions, 4, "the producer spreads events over every partition:\n{table}");
        let (code, out, err) = run_to_end(
            &dir,
            &["run", "kafka.hf", "--workers", workers, "--drain", "--port", "0"],
            Duration::from_secs(300),
        );
        assert_eq!(code, 0, "{out}\n{err}");
        assert!(out.contains("summary: 200000 events"), "{workers} worker(s) read every event:\n{out}\n{err}");
        // Windows counted in events follow arrival order, whatever the ids: nothing is late.
        let drift: Vec<&str> = out.lines().filter(|l| l.trim_start().starts_with("drift ")).collect();
        assert!(!drift.is_empty() && drift.iter().all(|l| l.contains("late 0;")), "{out}");
        let (ids, records) = predicted_ids(&broker.addr, 200_000, Duration::from_secs(60));
        assert_ids(&ids, 200_000, &format!("{workers} worker(s)"));
        assert_eq!(records, 200_000, "{workers} worker(s): no duplicates without a crash");
        assert!(read_topic(&broker.addr, DLQ, Duration::from_secs(2), |_| false).is_empty());
    }
}

#[test]
fn a_pipeline_killed_mid_stream_restarts_without_losing_an_id() {
    let (dir, broker) = pipeline("kafka-kill", Broker::start, 4);
    produce(&dir, 200_000);
    let mut run = Running::start(&dir, &["run", "kafka.hf", "--workers", "2", "--port", "0"]);
    // Kill it once part of the stream is out.
    predicted_ids(&broker.addr, 30_000, Duration::from_secs(120));
    run.signal("KILL");
    run.wait(Duration::from_secs(10));
    let (code, out, err) =
        run_to_end(&dir, &["run", "kafka.hf", "--workers", "2", "--drain", "--port", "0"], Duration::from_secs(300));
    assert_eq!(code, 0, "{out}\n{err}");
    let (ids, records) = predicted_ids(&broker.addr, 200_000, Duration::from_secs(60));
    assert_ids(&ids, 200_000, "after SIGKILL and restart");
    eprintln!("after SIGKILL and restart: {records} predictions for 200000 ids ({} replayed)", records - 200_000);
}

#[test]
fn a_broker_outage_pauses_the_pipeline_and_loses_nothing() {
    let (dir, mut broker) = pipeline("kafka-outage", Broker::start_sqlite, 2);
    produce(&dir, 20_000);
    let mut run = Running::start(&dir, &["run", "kafka.hf", "--workers", "2", "--port", "0"]);
    let http = run.http_addr();
    predicted_ids(&broker.addr, 2_000, Duration::from_secs(120));

    broker.stop();
    let down = Instant::now();
    let reason = common::eventually("/readyz answers 503 while the broker is down", Duration::from_secs(15), || {
        let (status, body) = request(&http, "GET", "/readyz", None, "");
        (status == 503).then_some(body)
    });
    assert!(reason.contains("source `events`") && reason.contains(&broker.addr), "{reason}");
    let (_, metrics) = request(&http, "GET", "/metrics", None, "");
    assert!(metrics.lines().any(|l| l == "housing_flow_source_up 0"), "{metrics}");
    std::thread::sleep(Duration::from_secs(5).saturating_sub(down.elapsed()));

    broker.restart();
    common::eventually("/readyz answers 200 once the broker is back", Duration::from_secs(30), || {
        (request(&http, "GET", "/readyz", None, "").0 == 200).then_some(())
    });
    let (ids, _) = predicted_ids(&broker.addr, 20_000, Duration::from_secs(180));
    assert_ids(&ids, 20_000, "after the outage");
    let stderr = run.stderr();
    assert!(stderr.contains("waiting for it") && stderr.contains("answers again"), "{stderr}");
}

#[test]
fn malformed_messages_go_to_the_dead_letter_topic_with_their_reason_and_bytes() {
    let (dir, broker) = pipeline("kafka-malformed", Broker::start, 1);
    let good = br#"{"Avg_Area_Income": 65000, "Avg_Area_House_Age": 7.5, "Avg_Area_Number_of_Rooms": 6.0,
        "Avg_Area_Number_of_Bedrooms": 3.0, "Area_Population": 42000, "id": 1}"#;
    let keyless = br#"{"Avg_Area_Income": 61000, "Avg_Area_House_Age": 6.5, "Avg_Area_Number_of_Rooms": 7.0,
        "Avg_Area_Number_of_Bedrooms": 4.0, "Area_Population": 32000, "id": 2}"#;
    let wrong = br#"{"Avg_Area_Income": "rich", "id": 3}"#;
    let junk: Vec<u8> = (0..1_000_000u32).map(|i| (i * 7919 % 251) as u8).collect();
    let bad: Vec<(&str, &[u8])> =
        vec![("not JSON", b"{this is not json"), ("wrong type", wrong), ("1 MB of junk", &junk), ("empty", b"")];
    let mut records: Vec<common::kafka::RawRecord<'_>> = vec![(Some(b"1"), Some(good)), (None, Some(keyless))];
    records.extend(bad.iter().map(|(_, v)| (Some(&b"k"[..]), Some(*v))));
    broker.send_raw(RAW, &records);

    let (code, out, err) = run_to_end(&dir, &["run", "kafka.hf", "--drain", "--port", "0"], Duration::from_secs(120));
    assert_eq!(code, 0, "{out}\n{err}");
    let (ids, _) = predicted_ids(&broker.addr, 2, Duration::from_secs(30));
    assert_eq!(ids, BTreeSet::from([1, 2]));
    let mut seen = 0;
    let letters = read_topic(&broker.addr, DLQ, Duration::from_secs(30), |_| {
        seen += 1;
        seen >= bad.len()
    });
    assert_eq!(letters.len(), bad.len(), "{letters:?}");
    for (name, bytes) in &bad {
        // Values over 900 kB are cut (brokers refuse records over about 1 MB), saying so.
        let kept = &bytes[..bytes.len().min(900_000)];
        let letter = letters
            .iter()
            .find(|l| l.value.as_deref().unwrap_or_default() == kept)
            .unwrap_or_else(|| panic!("{name}: no dead letter carries its bytes"));
        if kept.len() < bytes.len() {
            assert_eq!(letter.headers.get("truncated_from"), Some(&bytes.len().to_string()), "{name}");
        }
        let want = if *name == "wrong type" { "wrong_type" } else { "malformed" };
        assert_eq!(letter.headers.get("reason").map(String::as_str), Some(want), "{name}: {:?}", letter.headers);
        assert!(!letter.headers["message"].is_empty(), "{name}");
    }
    let wrong_letter = letters.iter().find(|l| l.value.as_deref() == Some(&wrong[..])).unwrap();
    assert_eq!(wrong_letter.headers["field"], "Avg_Area_Income");
    assert_eq!(wrong_letter.key.as_deref(), Some(&b"3"[..]), "keyed by the event's id");
}

#[test]
fn two_cluster_processes_split_the_partitions_and_together_predict_every_id() {
    let (dir, broker) = pipeline("kafka-cluster", Broker::start, 4);
    produce(&dir, 50_000);
    // Train once, so neither process waits on the other for a model.
    let (code, out, err) = run_to_end(&dir, &["train", "main.hf"], Duration::from_secs(120));
    assert_eq!(code, 0, "{out}\n{err}");
    let ports: Vec<u16> = (0..2).map(|_| free_port()).collect();
    std::fs::write(dir.join("hosts"), format!("127.0.0.1:{}\n127.0.0.1:{}\n", ports[0], ports[1])).unwrap();
    let mut runs: Vec<Running> = (0..2)
        .map(|i| {
            let i = i.to_string();
            Running::start(
                &dir,
                &[
                    "run",
                    "kafka.hf",
                    "--processes",
                    "2",
                    "--process",
                    &i,
                    "--hostfile",
                    "hosts",
                    "--drain",
                    "--port",
                    "0",
                ],
            )
        })
        .collect();
    for run in &mut runs {
        let status = run.wait(Duration::from_secs(180));
        assert_eq!(status.code(), Some(0), "{}", run.stderr());
    }
    let (ids, records) = predicted_ids(&broker.addr, 50_000, Duration::from_secs(60));
    assert_ids(&ids, 50_000, "two processes");
    assert_eq!(records, 50_000);
}

#[test]
fn an_unreachable_broker_is_reported_before_any_training_naming_the_address() {
    let dir = temp_dir("kafka-unreachable");
    std::fs::write(dir.join("main.hf"), quick_main()).unwrap();
    let addr = format!("127.0.0.1:{}", free_port());
    let kafka = std::fs::read_to_string(root().join("pipelines/kafka.hf"))
        .unwrap()
        .replace(r#"env("KAFKA_BROKERS", "127.0.0.1:9092")"#, &format!("\"{addr}\""));
    std::fs::write(dir.join("kafka.hf"), kafka).unwrap();
    let started = Instant::now();
    let (code, out, err) = run_to_end(&dir, &["run", "kafka.hf", "--port", "0"], Duration::from_secs(60));
    assert_eq!(code, 1, "{out}\n{err}");
    assert!(started.elapsed() < Duration::from_secs(15), "took {:?}", started.elapsed());
    assert!(err.contains(&addr) && err.contains("source `events`"), "{err}");
    assert!(!dir.join("models").exists(), "nothing was trained: {err}");
}

#[test]
fn a_scenario_takes_the_broker_down_and_the_pipeline_loses_nothing() {
    let (dir, broker) = pipeline("kafka-scenario", Broker::start, 2);
    std::fs::write(
        dir.join("outage.hf"),
        "scenario outage {\n  use \"kafka.hf\"\n  duration 14s\n  seed 4\n  traffic stream constant(5k/s)\n\
         \x20 at 4s fault kafka down for 4s\n  expect lost_events == 0\n  report \"reports/outage\"\n}\n",
    )
    .unwrap();
    let (code, out, err) = run_to_end(&dir, &["scenario", "outage.hf", "--workers", "2"], Duration::from_secs(180));
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(err.contains("is down") && err.contains("is back"), "{err}");
    let r: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("reports/outage/report.json")).unwrap()).unwrap();
    let s = &r["summary"];
    let produced = s["kafka_produced"].as_u64().unwrap();
    assert!((65_000..=70_000).contains(&produced), "14 s at 5k/s produced {produced}");
    assert_eq!(s["kafka_refused"], 0);
    // Every event read was predicted; all but the last moments' were read.
    assert_eq!(s["lost_events"], 0);
    let events = s["events_in"].as_u64().unwrap();
    assert!(events + 5_000 >= produced, "{events} of {produced} produced events were read");
    // While the broker is frozen little gets through and the source reads as down; after, it catches up.
    let seconds = r["series"]["stream"].as_array().unwrap();
    let per = |i: usize| seconds[i]["events"].as_u64().unwrap();
    assert!(per(2) > 4_000, "before: {}", per(2));
    assert!(per(6) < 500, "during the outage: {}", per(6));
    assert!(seconds[4..9].iter().any(|s| s["source_up"] == false), "the outage was never seen: {seconds:?}");
    assert!(seconds[8..].iter().any(|s| s["events"].as_u64().unwrap() > 6_000), "no catch-up after the outage");
    assert_eq!(seconds.last().unwrap()["source_up"], true);
    // The report charts the outage: the source line drops to 0 and comes back.
    let html = std::fs::read_to_string(dir.join("reports/outage/report.html")).unwrap();
    let start = html.find("id=\"source\"").expect("no source chart");
    assert!(html[start..].contains("fault kafka down"), "no outage mark on the source chart");
    // The broker runs again: it still answers.
    broker.create_topic("after_the_outage", 1);
}
