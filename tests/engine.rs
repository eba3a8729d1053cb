//! The streaming engine against sequential references: accounting and predictions are the
//! same for 1, 2 and 4 workers; CSV sources; promotions picked up while running; the CLI.

use housing_flow::check::check_file;
use housing_flow::data::generator::Generator;
use housing_flow::engine::run::{Corruptor, RunOptions};
use housing_flow::engine::session::{execute, prepare, Display, Prepared};
use housing_flow::engine::validate::validate;
use housing_flow::plan::lower;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("hf-engine-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// `pipelines/main.hf` with its registry and sinks moved into `dir`, and a larger store.
fn pipeline_in(dir: &Path, keep: u64) -> PathBuf {
    let main = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/pipelines/main.hf")).unwrap();
    let text = main
        .replace("registry:  \"../models\"", &format!("registry:  \"{}\"", dir.join("models").display()))
        .replace("memory(keep: 100_000)", &format!("memory(keep: {keep})"))
        .replace("\"../out/", &format!("\"{}/", dir.join("out").display()))
        .replace("num_iterations: 300", "num_iterations: 50");
    let path = dir.join("main.hf");
    std::fs::write(&path, text).unwrap();
    path
}

fn prepared(file: &Path, workers: usize) -> Prepared {
    let checked = check_file(file).unwrap();
    assert!(checked.diagnostics.is_empty());
    prepare(&lower(&checked.program.unwrap(), workers), true).unwrap()
}

#[test]
fn accounting_and_predictions_match_a_sequential_reference_for_1_2_4_workers() {
    const N: u64 = 1_000_000;
    let dir = temp_dir("identity");
    let file = pipeline_in(&dir, N);
    let mut reference: Option<(u64, u64, HashMap<u64, u64>)> = None;
    for workers in [1, 2, 4] {
        let p = prepared(&file, workers);
        let opts = RunOptions {
            workers,
            events: Some(N),
            batch: 1024,
            inject_bad: 0.02,
            unpaced: true,
            cluster: None,
            shift: None,
        };
        let out = execute(&p, &opts, Arc::new(AtomicBool::new(false)), None, Display::Line).unwrap();
        assert_eq!(out.events_in, N);
        assert!(out.accounted(), "{} != {} + {}", out.events_in, out.predictions, out.dead_letters);
        assert!(out.dead_letters as f64 >= 0.01 * N as f64, "at least 1% bad events");
        assert!(out.reasons.len() >= 4, "several kinds of bad events: {:?}", out.reasons);
        let store = p.sink_store("predictions").unwrap();
        let predictions: HashMap<u64, u64> =
            store.recent(usize::MAX, None).into_iter().map(|r| (r.id, r.estimated_price.to_bits())).collect();
        assert_eq!(predictions.len() as u64, out.predictions);
        match &reference {
            None => {
                // The sequential reference: validate and predict every event in one loop.
                let model = p.handle.current();
                let generator = Generator::new(&p.schema, 42).unwrap();
                let corruptor = Corruptor::new(&p.schema, 0.02).unwrap();
                let mut bad = 0;
                let mut expected = HashMap::new();
                let mut events = Vec::new();
                for i in 0..N {
                    let mut e = generator.event(i);
                    corruptor.apply(&mut e);
                    if validate(&p.schema, &e).is_ok() {
                        events.push(e);
                    } else {
                        bad += 1;
                    }
                }
                let preds = model.predict_events(events.iter().map(|e| e.values.as_slice())).unwrap();
                for (e, pr) in events.iter().zip(preds) {
                    expected.insert(e.id, pr.estimate.to_bits());
                }
                assert_eq!(out.dead_letters, bad);
                assert_eq!(predictions, expected, "predictions differ from the sequential reference");
                reference = Some((out.predictions, out.dead_letters, predictions));
            }
            Some((preds, dead, map)) => {
                assert_eq!((out.predictions, out.dead_letters), (*preds, *dead), "{workers} workers");
                assert_eq!(&predictions, map, "{workers} workers predict a different multiset");
            }
        }
    }
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn csv_sources_split_across_workers_and_dead_letter_bad_rows() {
    let dir = temp_dir("csv");
    let header = "Avg_Area_Income,Avg_Area_House_Age,Avg_Area_Number_of_Rooms,Avg_Area_Number_of_Bedrooms,Area_Population,Address,Price\n";
    let mut csv = String::from(header);
    for i in 0..1000 {
        // Every 100th row is bad: a number that is not one.
        let income = if i % 100 == 7 { "lots".to_string() } else { format!("{}", 60000 + i) };
        csv.push_str(&format!("{income},6,7,4,36000,\"{i} Main St\nAustin, TX 78701\",\n"));
    }
    std::fs::write(dir.join("houses.csv"), csv).unwrap();
    let file = pipeline_in(&dir, 10_000);
    let text = std::fs::read_to_string(&file).unwrap().replace(
        "source raw = generate(housing, rate: 20k/s, seed: 42)",
        &format!("source raw = csv(\"{}\", schema: housing)", dir.join("houses.csv").display()),
    );
    std::fs::write(&file, text).unwrap();
    for workers in [1, 2] {
        let p = prepared(&file, workers);
        let opts = RunOptions {
            workers,
            events: None,
            batch: 64,
            inject_bad: 0.0,
            unpaced: false,
            cluster: None,
            shift: None,
        };
        let out = execute(&p, &opts, Arc::new(AtomicBool::new(false)), None, Display::Line).unwrap();
        assert_eq!((out.events_in, out.predictions, out.dead_letters), (1000, 990, 10), "{workers} workers");
        let dead = std::fs::read_to_string(dir.join("out/dead_letters.jsonl")).unwrap();
        assert_eq!(dead.lines().count(), 10);
        assert!(dead.contains("lots"), "the raw row is kept: {dead}");
        let preds = std::fs::read_to_string(dir.join("out/predictions.jsonl")).unwrap();
        assert_eq!(preds.lines().count(), 990, "the file sink holds every prediction after shutdown");
    }
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_running_pipeline_picks_up_a_promoted_version() {
    let dir = temp_dir("promote");
    let file = pipeline_in(&dir, 1_000_000);
    let text = std::fs::read_to_string(&file).unwrap().replace("rate: 20k/s", "rate: 100k/s");
    std::fs::write(&file, text).unwrap();
    let p = prepared(&file, 2);
    let registry = p.registry.clone();
    let model = p.model.clone();
    let promoter = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(800));
        let events = Generator::new(&model.schema, 9).unwrap().rows(2_000);
        let t = housing_flow::model::train::train(
            &model,
            &events,
            &housing_flow::model::train::TrainOptions { source: "t".into(), seed: 9 },
        )
        .unwrap();
        let v = registry.register("price", &t.files, t.meta).unwrap();
        registry.promote("price", v, "test").unwrap();
        v
    });
    let opts = RunOptions {
        workers: 2,
        events: None,
        batch: 256,
        inject_bad: 0.0,
        unpaced: false,
        cluster: None,
        shift: None,
    };
    let out =
        execute(&p, &opts, Arc::new(AtomicBool::new(false)), Some(std::time::Duration::from_secs(4)), Display::Line)
            .unwrap();
    let v2 = promoter.join().unwrap();
    assert!(out.accounted());
    let versions: std::collections::BTreeSet<u32> =
        p.sink_store("predictions").unwrap().recent(usize::MAX, None).iter().map(|r| r.model_version).collect();
    assert!(versions.contains(&1) && versions.contains(&v2), "versions served: {versions:?}");
    assert_eq!(out.model_version, v2);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn the_run_command_stops_after_n_events_and_prints_a_summary() {
    let dir = temp_dir("cli");
    let file = pipeline_in(&dir, 100_000);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_housing-flow"))
        .args([
            "run",
            file.to_str().unwrap(),
            "--events",
            "50000",
            "--workers",
            "2",
            "--inject-bad",
            "0.01",
            "--port",
            "0",
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("summary: 50000 events"), "{stdout}");
    assert!(stdout.contains("✓"), "{stdout}");
    let preds = std::fs::read_to_string(dir.join("out/predictions.jsonl")).unwrap().lines().count();
    let dead = std::fs::read_to_string(dir.join("out/dead_letters.jsonl")).unwrap().lines().count();
    assert_eq!(preds + dead, 50_000);
    assert!(stdout.contains(&format!("predictions {preds}")), "{stdout}");
    let _ = std::fs::remove_dir_all(dir);
}

/// Lines of a JSON-lines file as (id, estimated_price bits).
fn predictions_in(path: &Path) -> Vec<(u64, u64)> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let mut v: Vec<(u64, u64)> = text
        .lines()
        .map(|l| {
            let j: serde_json::Value = serde_json::from_str(l).unwrap();
            (j["id"].as_u64().unwrap(), j["estimated_price"].as_f64().unwrap().to_bits())
        })
        .collect();
    v.sort_unstable();
    v
}

#[test]
fn a_two_process_cluster_gives_the_same_results_as_one_process_with_two_workers() {
    let root = temp_dir("cluster");
    let main = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/pipelines/main.hf")).unwrap();
    let text = main.replace("rate: 20k/s, ", "").replace("num_iterations: 300", "num_iterations: 50");
    let file = root.join("pipeline.hf");
    std::fs::write(&file, text).unwrap();
    let ports: Vec<u16> =
        (0..2).map(|_| std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()).collect();
    let hostfile = root.join("hosts");
    std::fs::write(&hostfile, format!("127.0.0.1:{}\n127.0.0.1:{}\n", ports[0], ports[1])).unwrap();
    let bin = env!("CARGO_BIN_EXE_housing-flow");
    let common = ["--events", "40000", "--inject-bad", "0.01", "--port", "0"];
    // Each process works in its own directory: its own registry (trained identically) and sinks.
    let children: Vec<_> = (0..2)
        .map(|i| {
            let dir = root.join(format!("p{i}"));
            std::fs::create_dir_all(&dir).unwrap();
            std::process::Command::new(bin)
                .current_dir(&dir)
                .args(["run", file.to_str().unwrap(), "--workers", "1", "--processes", "2"])
                .args(["--process", &i.to_string(), "--hostfile", hostfile.to_str().unwrap()])
                .args(common)
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let outputs: Vec<_> = children.into_iter().map(|c| c.wait_with_output().unwrap()).collect();
    for o in &outputs {
        assert!(o.status.success(), "{}\n{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    }
    let single = root.join("single");
    std::fs::create_dir_all(&single).unwrap();
    let o = std::process::Command::new(bin)
        .current_dir(&single)
        .args(["run", file.to_str().unwrap(), "--workers", "2"])
        .args(common)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let mut cluster = predictions_in(&root.join("p0/out/predictions.jsonl"));
    cluster.extend(predictions_in(&root.join("p1/out/predictions.jsonl")));
    cluster.sort_unstable();
    let reference = predictions_in(&single.join("out/predictions.jsonl"));
    assert!(!reference.is_empty());
    assert_eq!(cluster, reference, "the cluster's predictions differ from one process with two workers");
    let dead = |d: &str| std::fs::read_to_string(root.join(d).join("out/dead_letters.jsonl")).unwrap().lines().count();
    assert_eq!(dead("p0") + dead("p1"), dead("single"));
    assert_eq!(reference.len() + dead("single"), 40_000);
    let _ = std::fs::remove_dir_all(root);
}
