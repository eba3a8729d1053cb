//! Serving a registered model: offline/online feature parity, both predictors, hot swap,
//! and unreadable model files.

use housing_flow::check::check_file;
use housing_flow::data::generator::Generator;
use housing_flow::data::{Event, Value};
use housing_flow::model::serving::{LoadError, ModelHandle, ServingModel};
use housing_flow::model::train::{train, TrainOptions};
use housing_flow::plan::{lower, ModelPlan};
use housing_flow::program::PredictorKind;
use housing_flow::registry::{DirectoryRegistry, Registry};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

fn main_model() -> ModelPlan {
    let checked = check_file(&Path::new(env!("CARGO_MANIFEST_DIR")).join("pipelines/main.hf")).unwrap();
    lower(&checked.program.unwrap(), 1).models.remove(0)
}

fn temp_registry(name: &str) -> (PathBuf, DirectoryRegistry) {
    let d = std::env::temp_dir().join(format!("hf-serving-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    (d.clone(), DirectoryRegistry::open(&d))
}

fn register(reg: &DirectoryRegistry, plan: &ModelPlan, events: &[Event], seed: u64) -> u32 {
    let t = train(plan, events, &TrainOptions { source: "test".into(), seed }).unwrap();
    reg.register(&plan.model.name, &t.files, t.meta).unwrap()
}

fn slices(events: &[Event]) -> Vec<&[Value]> {
    events.iter().map(|e| e.values.as_slice()).collect()
}

#[test]
fn serving_features_equal_the_matrix_lightgbm_was_trained_on() {
    let plan = main_model();
    let (dir, reg) = temp_registry("parity");
    let events = Generator::new(&plan.schema, 7).unwrap().rows(3_000);
    let t = train(&plan, &events, &TrainOptions { source: "test".into(), seed: 7 }).unwrap();
    let matrix = t.matrix;
    let v = reg.register("price", &t.files, t.meta).unwrap();
    let served =
        ServingModel::from_version(&plan.features, reg.load("price", v).unwrap(), PredictorKind::Compiled).unwrap();
    // The serving path, from the registry (its stored category codes), on the very events
    // whose rows `train()` handed to LightGBM.
    let trained: Vec<&[Value]> = matrix.events.iter().map(|&i| events[i].values.as_slice()).collect();
    let online = served.rows(trained);
    assert_eq!(matrix.width, plan.features.features.len());
    assert_eq!(online.len(), matrix.rows.len());
    let differing = online.iter().zip(&matrix.rows).filter(|(a, b)| a.to_bits() != b.to_bits()).count();
    assert_eq!(differing, 0, "{differing} of {} feature values differ from the training matrix", online.len());
    // The category feature really is coded (not all zero or missing).
    let state = plan.features.features.iter().position(|f| f.name == "state").unwrap();
    let codes: std::collections::BTreeSet<u64> = matrix.rows.chunks(matrix.width).map(|r| r[state].to_bits()).collect();
    assert!(codes.len() > 10, "states are coded: {} distinct", codes.len());
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn compiled_and_lightgbm_predictors_agree_and_unseen_categories_are_handled() {
    let plan = main_model();
    let (dir, reg) = temp_registry("agree");
    let events = Generator::new(&plan.schema, 7).unwrap().rows(5_000);
    let v = register(&reg, &plan, &events, 7);
    let compiled =
        ServingModel::from_version(&plan.features, reg.load("price", v).unwrap(), PredictorKind::Compiled).unwrap();
    let native =
        ServingModel::from_version(&plan.features, reg.load("price", v).unwrap(), PredictorKind::Lightgbm).unwrap();
    let mut fresh = Generator::new(&plan.schema, 3).unwrap().rows(5_000);
    // An address in no state seen in training.
    let addr = plan.schema.index_of("Address").unwrap();
    fresh[0].values[addr] = Value::Text("1 Nowhere Rd, Atlantis, ZZ 00000".into());
    fresh[1].values[addr] = Value::Missing;
    let a = compiled.predict_events(slices(&fresh)).unwrap();
    let b = native.predict_events(slices(&fresh)).unwrap();
    for (x, y) in a.iter().zip(&b) {
        assert!((x.estimate - y.estimate).abs() <= 1e-9 * y.estimate.abs().max(1.0), "{x:?} vs {y:?}");
        let (xi, yi) = (x.interval.unwrap(), y.interval.unwrap());
        assert!(
            (xi[0] - yi[0]).abs() <= 1e-9 * yi[0].abs().max(1.0)
                && (xi[1] - yi[1]).abs() <= 1e-9 * yi[1].abs().max(1.0)
        );
        assert!(x.estimate.is_finite() && xi[0] <= xi[1]);
        assert_eq!(x.version, v);
    }
    // One event at a time (an HTTP request's path, without a batch's buffers) gives the
    // batch's bits, with either predictor.
    for (model, batch) in [(&compiled, &a), (&native, &b)] {
        for (event, want) in fresh.iter().zip(batch.iter()).take(500) {
            let got = model.predict_event(&event.values).unwrap();
            let bits = |p: &housing_flow::model::serving::Prediction| {
                (p.estimate.to_bits(), p.interval.map(|i| i.map(f64::to_bits)), p.version)
            };
            assert_eq!(bits(&got), bits(want), "{got:?} against {want:?}");
        }
    }
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_running_process_swaps_versions_atomically() {
    let plan = main_model();
    let (dir, reg) = temp_registry("swap");
    let generator = Generator::new(&plan.schema, 7).unwrap();
    let v1 = register(&reg, &plan, &generator.rows(2_000), 1);
    let v2 = register(&reg, &plan, &generator.rows(4_000), 2);
    let batch = Generator::new(&plan.schema, 5).unwrap().rows(256);
    // Each version's answers for the batch, computed up front.
    let expected: Vec<(u32, Vec<f64>)> = [v1, v2]
        .iter()
        .map(|&v| {
            let m = ServingModel::from_version(&plan.features, reg.load("price", v).unwrap(), PredictorKind::Compiled)
                .unwrap();
            (v, m.predict_events(slices(&batch)).unwrap().iter().map(|p| p.estimate).collect())
        })
        .collect();
    assert_ne!(expected[0].1, expected[1].1, "the two versions must predict differently");
    let handle = Arc::new(ModelHandle::new(
        ServingModel::production(&reg, "price", &plan.features, PredictorKind::Compiled).unwrap(),
    ));
    let stop = Arc::new(AtomicBool::new(false));
    let seen = Arc::new([AtomicUsize::new(0), AtomicUsize::new(0)]);
    let readers: Vec<_> = (0..3)
        .map(|_| {
            let (handle, stop, seen, batch, expected) =
                (handle.clone(), stop.clone(), seen.clone(), batch.clone(), expected.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let model = handle.current();
                    let got = model.predict_events(batch.iter().map(|e| e.values.as_slice())).unwrap();
                    let k = expected.iter().position(|(v, _)| *v == model.version()).unwrap();
                    // Every answer of the batch comes from the one version the snapshot holds.
                    assert!(got.iter().all(|p| p.version == model.version()));
                    assert!(got.iter().zip(&expected[k].1).all(|(p, e)| p.estimate == *e), "a batch mixed versions");
                    seen[k].fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    for i in 0..40 {
        let target = if i % 2 == 0 { v2 } else { v1 };
        reg.promote("price", target, "test").unwrap();
        assert_eq!(handle.refresh(&reg, &plan.features, PredictorKind::Compiled).unwrap(), Some(target));
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    stop.store(true, Ordering::Relaxed);
    for r in readers {
        r.join().unwrap();
    }
    assert!(seen[0].load(Ordering::Relaxed) > 0 && seen[1].load(Ordering::Relaxed) > 0, "both versions served");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn unreadable_model_files_are_errors_not_panics() {
    let plan = main_model();
    let (dir, reg) = temp_registry("garbled");
    let events = Generator::new(&plan.schema, 7).unwrap().rows(1_000);
    let t = train(&plan, &events, &TrainOptions { source: "test".into(), seed: 7 }).unwrap();
    let mut files = t.files.clone();
    files[0].1 = b"tree\nversion=v4\nnum_class=1\nthis is not a model\n".to_vec();
    let v = reg.register("price", &files, t.meta.clone()).unwrap();
    for kind in [PredictorKind::Compiled, PredictorKind::Lightgbm] {
        let err = ServingModel::from_version(&plan.features, reg.load("price", v).unwrap(), kind).unwrap_err();
        assert!(matches!(err, LoadError::Model { .. }), "{err}");
        assert!(err.to_string().contains("model.txt"), "{err}");
    }
    // A version damaged on disk is refused by its checksum before any parsing.
    let good = reg.register("price", &t.files, t.meta).unwrap();
    let path = reg.version_dir("price", good).join("model.txt");
    let mut bytes = std::fs::read(&path).unwrap();
    bytes.truncate(bytes.len() / 2);
    std::fs::write(&path, bytes).unwrap();
    // Production is still the garbled first version: loading it is an error too.
    let err = ServingModel::production(&reg, "price", &plan.features, PredictorKind::Compiled).unwrap_err();
    assert!(matches!(err, LoadError::Model { .. }), "{err}");
    let err = reg.load("price", good).unwrap_err();
    assert!(err.to_string().contains("model.txt"), "{err}");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_model_trained_on_other_features_is_refused() {
    let plan = main_model();
    let (dir, reg) = temp_registry("incompatible");
    let events = Generator::new(&plan.schema, 7).unwrap().rows(1_000);
    let v = register(&reg, &plan, &events, 7);
    let mut other = plan.features.clone();
    other.features.swap(0, 1);
    let err = ServingModel::from_version(&other, reg.load("price", v).unwrap(), PredictorKind::Compiled).unwrap_err();
    assert!(matches!(err, LoadError::Incompatible { .. }), "{err}");
    let _ = std::fs::remove_dir_all(dir);
}
