//! The streaming engine against sequential references: accounting and predictions are the
//! same for 1, 2 and 4 workers; CSV sources; promotions picked up while running; the CLI.

mod common;

use housing_flow::check::check_file;
use housing_flow::data::generator::Generator;
use housing_flow::data::validate::validate;
use housing_flow::engine::run::{Corruptor, RunOptions};
use housing_flow::engine::session::{execute, prepare, Display, Prepared};
use housing_flow::plan::lower;
use std::collections::BTreeSet;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A fresh folder for one test.
fn temp_dir(name: &str) -> common::TempDir {
    common::temp_dir(&format!("engine-{name}"))
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
            traffic: None,
            faults: None,
            drain: false,
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
            traffic: None,
            faults: None,
            drain: false,
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
    let store = p.sink_store("predictions").unwrap();
    let versions = || -> BTreeSet<u32> { store.recent(usize::MAX, None).iter().map(|r| r.model_version).collect() };
    let opts = RunOptions {
        traffic: None,
        faults: None,
        drain: false,
        workers: 2,
        events: None,
        batch: 256,
        inject_bad: 0.0,
        unpaced: false,
        cluster: None,
        shift: None,
    };
    let stop = Arc::new(AtomicBool::new(false));
    let deadline = Instant::now() + Duration::from_secs(120);
    let (out, v2) = std::thread::scope(|s| {
        let run = s.spawn(|| execute(&p, &opts, stop.clone(), None, Display::Line).unwrap());
        // Promote only once v1 is serving, then run until v2's predictions arrive: no race
        // between the run's length and how long training takes.
        while !versions().contains(&1) {
            assert!(Instant::now() < deadline, "no v1 predictions");
            std::thread::sleep(Duration::from_millis(20));
        }
        let events = Generator::new(&p.model.schema, 9).unwrap().rows(2_000);
        let t = housing_flow::model::train::train(
            &p.model,
            &events,
            &housing_flow::model::train::TrainOptions { source: "t".into(), seed: 9 },
        )
        .unwrap();
        let v2 = p.registry.register("price", &t.files, t.meta).unwrap();
        p.registry.promote("price", v2, "test").unwrap();
        while !versions().contains(&v2) {
            assert!(Instant::now() < deadline, "v{v2} was never served: {:?}", versions());
            std::thread::sleep(Duration::from_millis(20));
        }
        stop.store(true, Ordering::Relaxed);
        (run.join().unwrap(), v2)
    });
    assert!(out.accounted());
    assert_eq!(versions(), BTreeSet::from([1, v2]), "every prediction is from v1 or v{v2}");
    assert_eq!(out.model_version, v2);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn the_run_command_stops_after_n_events_and_prints_a_summary() {
    let dir = temp_dir("cli");
    let file = pipeline_in(&dir, 100_000);
    let args =
        ["run", file.to_str().unwrap(), "--events", "50000", "--workers", "2", "--inject-bad", "0.01", "--port", "0"];
    let (code, stdout, stderr) = common::run_to_end(&dir, &args, Duration::from_secs(120));
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(stdout.contains("summary: 50000 events"), "{stdout}");
    assert!(stdout.contains("✓"), "{stdout}");
    let preds = std::fs::read_to_string(dir.join("out/predictions.jsonl")).unwrap().lines().count();
    let dead = std::fs::read_to_string(dir.join("out/dead_letters.jsonl")).unwrap().lines().count();
    assert_eq!(preds + dead, 50_000);
    assert!(stdout.contains(&format!("predictions {preds}")), "{stdout}");
    let _ = std::fs::remove_dir_all(dir);
}

/// `bench --paced` keeps the declared rate (so its CPU column is what a paced stream costs),
/// and every row reports CPU seconds per million events.
#[test]
fn bench_paced_holds_the_declared_rate_and_reports_cpu_per_million_events() {
    let dir = common::temp_dir("bench-paced");
    let text = common::quick_main().replace("rate: 20k/s", "rate: 10k/s");
    std::fs::write(dir.join("main.hf"), text).unwrap();
    let args = ["bench", "main.hf", "--workers", "1", "--events", "20000", "--paced"];
    let (code, out, err) = common::run_to_end(&dir, &args, std::time::Duration::from_secs(120));
    assert_eq!(code, 0, "{out}{err}");
    let header: Vec<&str> = out.lines().next().unwrap().split_whitespace().collect();
    assert_eq!(header.last(), Some(&"s/M"), "{out}");
    let row: Vec<f64> = out
        .lines()
        .nth(1)
        .unwrap()
        .split_whitespace()
        .filter_map(|c| c.trim_end_matches(['M', '×']).parse().ok())
        .collect();
    let (seconds, cpu) = (row[2], *row.last().unwrap());
    assert!(seconds >= 1.9, "20,000 events at 10k/s took {seconds} s: the rate was not kept\n{out}");
    assert!(cpu > 0.0 && cpu.is_finite(), "{out}");
}

/// `explain --analyze` runs the pipeline and accounts for every event and the workers' time,
/// operator by operator.
#[test]
fn explain_analyze_shows_events_and_time_per_operator() {
    let dir = common::temp_dir("analyze");
    std::fs::write(dir.join("main.hf"), common::quick_main()).unwrap();
    let args = ["explain", "main.hf", "--analyze", "--events", "20000", "--workers", "2"];
    let (code, out, err) = common::run_to_end(&dir, &args, std::time::Duration::from_secs(120));
    assert_eq!(code, 0, "{out}{err}");
    let table = out.split("analyze: ").nth(1).unwrap_or_else(|| panic!("no analysis:\n{out}"));
    assert!(table.starts_with("20000 events with 2 worker(s)"), "{table}");
    let rows: HashMap<&str, Vec<&str>> = table
        .lines()
        .filter(|l| l.starts_with('#') && l.contains('%'))
        .map(|l| {
            let cols: Vec<&str> = l.split_whitespace().collect();
            (cols[1], cols)
        })
        .collect();
    for op in ["source", "validate", "features", "predict", "sink", "latency"] {
        assert!(rows.contains_key(op), "no row for {op}:\n{table}");
    }
    assert_eq!(rows["source"][4], "20000", "the source put out every event:\n{table}");
    assert_eq!(rows["validate"][3], "20000", "validation saw every event:\n{table}");
    let share = |l: &str| l.split_whitespace().last().unwrap().trim_end_matches('%').parse::<f64>().unwrap();
    let total: f64 = table.lines().filter(|l| l.ends_with('%')).map(share).sum();
    assert!((total - 100.0).abs() < 1.0, "shares add up to {total}%:\n{table}");
}
