//! Inference speed, LightGBM's own predictor (one thread) against the compiled evaluator:
//! batch throughput on 10,000 rows and single-row latency, for a model like the default one
//! (linear trees, 2 leaves, 300 rounds, 7 features of which one categorical) and for a plain
//! 500-tree, 31-leaf model.
//!
//! `cargo bench --bench inference`
//!
//! Then, when a Python with lleaves and tl2cgen is found (`$HF_PEERS_PYTHON`, else
//! `~/.cache/housing-flow/peers-venv/bin/python`; `make bench-peers` makes it), the same model
//! files and rows go to `benches/peers/tree_compilers.py`, and its rows per second and largest
//! difference from LightGBM are printed next to the compiled evaluator's for the same rows.

use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use housing_flow::model::{CompiledModel, LightgbmModel};
use lightgbm3_sys as sys;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::ffi::{c_void, CStr, CString};

const FEATURES: usize = 7;
const BATCH: usize = 10_000;

fn lgbm(code: i32, what: &str) {
    if code != 0 {
        // SAFETY: LGBM_GetLastError returns a thread-local, NUL-terminated message.
        let msg = unsafe { CStr::from_ptr(sys::LGBM_GetLastError()) }.to_string_lossy().into_owned();
        panic!("LightGBM {what} failed: {msg}");
    }
}

/// Trains on row-major `rows` with a dataset built with `params` and returns the model text.
fn train(rows: &[f64], labels: &[f64], params: &str, iterations: usize) -> String {
    let n = labels.len();
    let params = CString::new(format!("{params} verbosity=-1 num_threads=1 seed=7")).unwrap();
    let labels: Vec<f32> = labels.iter().map(|&y| y as f32).collect();
    let (mut dataset, mut booster): (sys::DatasetHandle, sys::BoosterHandle) =
        (std::ptr::null_mut(), std::ptr::null_mut());
    // SAFETY: the buffers hold what the sizes say and outlive the calls; handles are freed once.
    unsafe {
        let data = rows.as_ptr() as *const c_void;
        let f64_type = sys::C_API_DTYPE_FLOAT64 as i32;
        let created = sys::LGBM_DatasetCreateFromMat(
            data,
            f64_type,
            n as i32,
            FEATURES as i32,
            1,
            params.as_ptr(),
            std::ptr::null_mut(),
            &mut dataset,
        );
        lgbm(created, "LGBM_DatasetCreateFromMat");
        let label = labels.as_ptr() as *const c_void;
        let f32_type = sys::C_API_DTYPE_FLOAT32 as i32;
        lgbm(sys::LGBM_DatasetSetField(dataset, c"label".as_ptr(), label, n as i32, f32_type), "LGBM_DatasetSetField");
        lgbm(sys::LGBM_BoosterCreate(dataset, params.as_ptr(), &mut booster), "LGBM_BoosterCreate");
        for _ in 0..iterations {
            let mut finished = 0;
            lgbm(sys::LGBM_BoosterUpdateOneIter(booster, &mut finished), "LGBM_BoosterUpdateOneIter");
        }
        let mut len: i64 = 0;
        let null = std::ptr::null_mut();
        lgbm(sys::LGBM_BoosterSaveModelToString(booster, 0, -1, 0, 0, &mut len, null), "LGBM_BoosterSaveModelToString");
        let mut buf = vec![0u8; len as usize];
        let out = buf.as_mut_ptr() as *mut _;
        lgbm(
            sys::LGBM_BoosterSaveModelToString(booster, 0, -1, 0, len, &mut len, out),
            "LGBM_BoosterSaveModelToString",
        );
        sys::LGBM_BoosterFree(booster);
        sys::LGBM_DatasetFree(dataset);
        buf.truncate(buf.iter().position(|&b| b == 0).unwrap_or(buf.len()));
        String::from_utf8(buf).unwrap()
    }
}

/// Housing-like rows: district code (categorical), area, rooms, age, distance, floor,
/// income; about 1% of values missing.
fn housing(n: usize, seed: u64) -> (Vec<f64>, Vec<f64>) {
    let mut rng = StdRng::seed_from_u64(seed);
    let district_effect = [30e3, -20e3, 5e3, 80e3, -45e3, 0.0, 12e3, 60e3, -5e3, 25e3, -70e3, 40e3];
    let (mut rows, mut labels) = (Vec::with_capacity(n * FEATURES), Vec::with_capacity(n));
    for _ in 0..n {
        let district = rng.random_range(0..district_effect.len());
        let area: f64 = rng.random_range(20.0..250.0);
        let rooms = rng.random_range(1..=7) as f64;
        let age: f64 = rng.random_range(0.0..100.0);
        let dist: f64 = rng.random_range(0.5..40.0);
        let floor = rng.random_range(-1..=15) as f64;
        let income: f64 = rng.random_range(20e3..200e3);
        let mut price = 2_000.0 * area + 8_000.0 * rooms - 400.0 * age - 3_000.0 * dist
            + 1_500.0 * floor
            + 0.5 * income
            + district_effect[district];
        if dist < 5.0 {
            price += 50_000.0;
        }
        price += rng.random_range(-20e3..20e3);
        let mut row = [district as f64, area, rooms, age, dist, floor, income];
        for v in &mut row[1..] {
            if rng.random::<f64>() < 0.01 {
                *v = f64::NAN;
            }
        }
        rows.extend(row);
        labels.push(price);
    }
    (rows, labels)
}

fn inference(c: &mut Criterion) {
    let (train_rows, labels) = housing(20_000, 1);
    let (rows, _) = housing(BATCH, 2);
    let models = [
        (
            "linear_2_leaves_300_trees",
            train(
                &train_rows,
                &labels,
                "objective=regression linear_tree=true num_leaves=2 categorical_feature=0",
                300,
            ),
        ),
        ("plain_31_leaves_100_trees", train(&train_rows, &labels, "objective=regression num_leaves=31", 100)),
        ("plain_31_leaves_500_trees", train(&train_rows, &labels, "objective=regression num_leaves=31", 500)),
    ];
    let peers = std::env::temp_dir().join(format!("hf-inference-peers-{}", std::process::id()));
    std::fs::create_dir_all(&peers).unwrap();
    let csv: String =
        rows.chunks(FEATURES).map(|r| r.iter().map(f64::to_string).collect::<Vec<_>>().join(",") + "\n").collect();
    std::fs::write(peers.join("rows.csv"), csv).unwrap();
    let mut ours = Vec::new();
    for (name, text) in &models {
        let native = LightgbmModel::from_text(text).unwrap();
        let compiled = CompiledModel::from_text(text).unwrap();
        let (mut want, mut got) = (vec![0.0; BATCH], vec![0.0; BATCH]);
        native.predict(&rows, FEATURES, &mut want).unwrap();
        compiled.predict(&rows, FEATURES, &mut got);
        assert!(want.iter().zip(&got).all(|(a, b)| a.to_bits() == b.to_bits()), "{name}: predictions differ");
        std::fs::write(peers.join(format!("{name}.txt")), text).unwrap();
        let expected: String = want.iter().map(|y| format!("{y:e}\n")).collect();
        std::fs::write(peers.join(format!("{name}.expected")), expected).unwrap();
        let start = std::time::Instant::now();
        let mut runs = 0;
        while start.elapsed().as_secs_f64() < 1.0 {
            compiled.predict(black_box(&rows), FEATURES, &mut got);
            runs += 1;
        }
        ours.push((name.to_string(), (runs * BATCH) as f64 / start.elapsed().as_secs_f64()));

        let mut group = c.benchmark_group(format!("batch_10k/{name}"));
        group.throughput(Throughput::Elements(BATCH as u64));
        let mut out = vec![0.0; BATCH];
        group.bench_function("lightgbm", |b| b.iter(|| native.predict(black_box(&rows), FEATURES, &mut out).unwrap()));
        group.bench_function("compiled", |b| b.iter(|| compiled.predict(black_box(&rows), FEATURES, &mut out)));
        group.finish();

        let mut group = c.benchmark_group(format!("single_row/{name}"));
        group.throughput(Throughput::Elements(1));
        let mut i = 0;
        let mut next_row = || {
            i = (i + 1) % BATCH;
            &rows[i * FEATURES..(i + 1) * FEATURES]
        };
        group.bench_function(BenchmarkId::from_parameter("lightgbm"), |b| {
            b.iter(|| native.predict_one(black_box(next_row())).unwrap())
        });
        group.bench_function(BenchmarkId::from_parameter("compiled"), |b| {
            b.iter(|| compiled.predict_one(black_box(next_row())))
        });
        group.finish();
    }
    tree_compilers(&peers, &ours);
    let _ = std::fs::remove_dir_all(&peers);
}

/// lleaves and tl2cgen on the same model files and rows, when their Python is there.
fn tree_compilers(folder: &std::path::Path, ours: &[(String, f64)]) {
    let python = std::env::var_os("HF_PEERS_PYTHON").map(std::path::PathBuf::from).or_else(|| {
        let home = std::env::var_os("HOME")?;
        Some(std::path::Path::new(&home).join(".cache/housing-flow/peers-venv/bin/python"))
    });
    let Some(python) = python.filter(|p| p.exists()) else {
        eprintln!("tree compilers: no Python with lleaves and tl2cgen (run `make bench-peers`); skipped");
        return;
    };
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/peers/tree_compilers.py");
    let out = std::process::Command::new(&python).arg(&script).arg(folder).output().expect("the peers' Python runs");
    if !out.status.success() {
        eprintln!("tree compilers failed: {}", String::from_utf8_lossy(&out.stderr));
        return;
    }
    println!("\ntree compilers on the same 10,000 rows, one thread (best of 5; ours: 1 s of batches):");
    println!("{:<28} {:>12} {:>14} {:>12}  largest |diff| from LightGBM", "model", "peer", "rows/s", "vs ours");
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let Ok(r) = serde_json::from_str::<serde_json::Value>(line) else { continue };
        let model = r["model"].as_str().unwrap_or("?");
        let mine = ours.iter().find(|(n, _)| n == model).map_or(f64::NAN, |(_, v)| *v);
        match r["rows_per_s"].as_f64() {
            Some(rate) => println!(
                "{model:<28} {:>12} {rate:>14.0} {:>11.2}×  {:e}",
                r["peer"].as_str().unwrap_or("?"),
                rate / mine,
                r["max_abs_diff"].as_f64().unwrap_or(f64::NAN)
            ),
            None => println!(
                "{model:<28} {:>12} refused: {}",
                r["peer"].as_str().unwrap_or("?"),
                r["error"].as_str().unwrap_or("")
            ),
        }
    }
    for (name, rate) in ours {
        println!("{name:<28} {:>12} {rate:>14.0}", "compiled");
    }
}

criterion_group!(benches, inference);
criterion_main!(benches);
