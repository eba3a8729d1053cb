//! The real binary's `models` subcommands against a registry filled through the library.

mod common;

use housing_flow::model::ModelMeta;
use housing_flow::program::FeatureType;
use housing_flow::registry::meta::{FeatureMeta, HoldoutMetrics, QuantileFile, TrainingInfo};
use housing_flow::registry::{DirectoryRegistry, Registry};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// A registry directory under the temp dir, removed when dropped.
struct TempRegistry(PathBuf);

impl TempRegistry {
    fn new(tag: &str) -> TempRegistry {
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
        TempRegistry(std::env::temp_dir().join(format!("hf-models-cli-{tag}-{}-{nanos}", std::process::id())))
    }

    /// `housing` with versions 1 (production) and 2 (candidate).
    fn filled(tag: &str) -> TempRegistry {
        let t = TempRegistry::new(tag);
        let reg = DirectoryRegistry::open(&t.0);
        for v in 1..=2 {
            assert_eq!(reg.register("housing", &files(v), meta()).unwrap(), v);
        }
        t
    }

    fn dir(&self) -> &str {
        self.0.to_str().unwrap()
    }
}

impl Drop for TempRegistry {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn meta() -> ModelMeta {
    ModelMeta {
        name: "housing".into(),
        version: 0,
        created: "2025-03-04T05:06:07Z".into(),
        features: vec![
            FeatureMeta { name: "income".into(), kind: FeatureType::Numeric },
            FeatureMeta { name: "ocean".into(), kind: FeatureType::Category },
        ],
        categories: BTreeMap::from([("ocean".into(), vec!["near".into(), "far".into()])]),
        label: "price".into(),
        params: BTreeMap::new(),
        quantiles: vec![
            QuantileFile { alpha: 0.1, file: "q0.1.txt".into() },
            QuantileFile { alpha: 0.9, file: "q0.9.txt".into() },
        ],
        training: TrainingInfo {
            source: "generate(seed 7, 2000 rows)".into(),
            data_hash: "cd".repeat(32),
            rows: 2000,
            train_rows: 1600,
            holdout_rows: 400,
            seed: 7,
            seconds: 1.25,
        },
        metrics: HoldoutMetrics {
            r2: 0.9123,
            rmse: 101234.5,
            mae: 80000.0,
            coverage: Some(0.79),
            nominal_coverage: Some(0.8),
            baseline_r2: 0.65,
            baseline_rmse: 200000.0,
            baseline_mae: 150000.0,
        },
        baselines: BTreeMap::new(),
        checksums: BTreeMap::new(),
        external: false,
    }
}

fn files(v: u32) -> Vec<(String, Vec<u8>)> {
    ["model.txt", "q0.1.txt", "q0.9.txt"]
        .iter()
        .map(|f| (f.to_string(), format!("{f} of version {v}\n").into_bytes()))
        .collect()
}

fn hf(args: &[&str]) -> (i32, String, String) {
    common::run_to_end(&std::env::current_dir().unwrap(), args, std::time::Duration::from_secs(120))
}

fn flip_byte(path: &Path) {
    let mut b = std::fs::read(path).unwrap();
    b[0] ^= 0x20;
    std::fs::write(path, b).unwrap();
}

#[test]
fn list_prints_a_table_of_models_and_pointers() {
    let empty = TempRegistry::new("empty");
    let (code, out, err) = hf(&["models", "list", "--registry", empty.dir()]);
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("no models in "), "{out}");

    let t = TempRegistry::filled("list");
    DirectoryRegistry::open(&t.0).register("zestimate", &files(1), meta()).unwrap();
    // --registry is accepted before the subcommand too.
    let (code, out, err) = hf(&["models", "--registry", t.dir(), "list"]);
    assert_eq!(code, 0, "{err}");
    let lines: Vec<Vec<&str>> = out.lines().map(|l| l.split_whitespace().collect()).collect();
    assert_eq!(
        lines,
        vec![
            vec!["NAME", "VERSIONS", "LATEST", "PRODUCTION", "CANDIDATE"],
            vec!["housing", "2", "2", "1", "2"],
            vec!["zestimate", "1", "1", "1", "1"],
        ],
        "{out}"
    );
}

#[test]
fn show_prints_the_production_summary_or_the_meta_as_json() {
    let t = TempRegistry::filled("show");
    let (code, out, err) = hf(&["models", "show", "housing", "--registry", t.dir()]);
    assert_eq!(code, 0, "{err}");
    for want in [
        "housing version 1 (production)",
        "features:   2: income (numeric), ocean (category)",
        "categories: ocean (2 categories)",
        "training:   generate(seed 7, 2000 rows): 2000 rows (1600 train, 400 holdout), seed 7, 1.2 s",
        "holdout:    r2 0.9123  rmse 101234.5  mae 80000.0",
        "baseline:   r2 0.6500",
        "quantiles:  0.1, 0.9, coverage 0.790 (nominal 0.800)",
        "files:      model.txt, q0.1.txt, q0.9.txt",
        "checksums:  ok (3 files)",
    ] {
        assert!(out.contains(want), "missing {want:?} in\n{out}");
    }

    let (code, out, err) = hf(&["models", "show", "housing", "2", "--json", "--registry", t.dir()]);
    assert_eq!(code, 0, "{err}");
    let meta: ModelMeta = serde_json::from_str(&out).expect("show --json prints meta.json");
    assert_eq!((meta.name.as_str(), meta.version, meta.checksums.len()), ("housing", 2, 3));
}

#[test]
fn promote_and_rollback_move_production() {
    let t = TempRegistry::filled("promote");
    let reg = DirectoryRegistry::open(&t.0);
    let (code, out, err) = hf(&["models", "promote", "housing", "2", "--reason", "better r2", "--registry", t.dir()]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.trim(), "housing: production 1 → 2");
    assert_eq!(reg.production("housing").unwrap(), Some(2));
    assert_eq!(reg.history("housing").unwrap().last().unwrap().reason, "better r2");

    let (code, out, err) = hf(&["models", "rollback", "housing", "--registry", t.dir()]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.trim(), "housing: production 2 → 1 (rolled back)");
    assert_eq!(reg.production("housing").unwrap(), Some(1));

    let (code, _, err) = hf(&["models", "rollback", "housing", "--registry", t.dir()]);
    assert_eq!(code, 1);
    assert!(err.contains("error: model `housing`: no earlier production version to roll back to"), "{err}");
}

#[test]
fn a_corrupt_version_is_shown_as_corrupt_and_never_promoted() {
    let t = TempRegistry::filled("corrupt");
    let reg = DirectoryRegistry::open(&t.0);
    flip_byte(&t.0.join("housing").join("2").join("model.txt"));

    let (code, _, err) = hf(&["models", "promote", "housing", "2", "--registry", t.dir()]);
    assert_eq!(code, 1);
    assert!(
        err.contains("refusing to promote: model `housing` version 2 is corrupt: model.txt: checksum mismatch"),
        "{err}"
    );
    assert_eq!(reg.production("housing").unwrap(), Some(1));

    let (code, out, err) = hf(&["models", "show", "housing", "2", "--registry", t.dir()]);
    assert_eq!(code, 1);
    assert!(out.contains("checksums:  CORRUPT: model.txt: checksum mismatch"), "{out}");
    assert!(err.contains("version 2 is corrupt"), "{err}");
}

#[test]
fn errors_exit_1_with_a_clear_message() {
    let t = TempRegistry::filled("errors");
    let cases: [(&[&str], &str); 5] = [
        (&["models", "show", "nope"], "error: model `nope` not found"),
        (&["models", "show", "housing", "7"], "error: model `housing` has no version 7"),
        (&["models", "promote", "../x", "1"], "error: invalid model name `../x`"),
        (&["models", "promote", "housing", "9"], "error: model `housing` has no version 9"),
        (&["models", "rollback", "a/b"], "error: invalid model name `a/b`"),
    ];
    for (args, want) in cases {
        let mut args = args.to_vec();
        args.extend(["--registry", t.dir()]);
        let (code, _, err) = hf(&args);
        assert_eq!(code, 1, "{args:?}");
        assert!(err.contains(want), "{args:?}: {err}");
    }
}
